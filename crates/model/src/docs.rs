//! Documents derived from the catalog and role tables: the JSON catalog served to clients and
//! the committed `docs/permissions.md`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::catalog::{Permission, Source};
use crate::roles::{AssetAction, AssetRole, OrgRole, ProjectAction, ProjectRole};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub name: String,
    pub module: String,
    pub action: String,
    pub label: String,
    pub description: String,
    pub min_org_role: OrgRole,
    pub source: Source,
}

/// The catalog and the role matrices, as one serializable value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogDocument {
    pub permissions: Vec<CatalogEntry>,
    /// Org role → every permission it holds.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Project role → project actions it allows.
    pub project_roles: BTreeMap<String, Vec<String>>,
    /// Asset role → asset actions it allows.
    pub asset_roles: BTreeMap<String, Vec<String>>,
}

pub fn catalog_document() -> CatalogDocument {
    let permissions = Permission::catalog()
        .map(|info| CatalogEntry {
            name: info.name.to_owned(),
            module: info.module.name().to_owned(),
            action: info.verb.name().to_owned(),
            label: info.label.to_owned(),
            description: info.description.to_owned(),
            min_org_role: info.min_org_role,
            source: info.module.info().source,
        })
        .collect();
    let roles = OrgRole::ALL
        .iter()
        .map(|r| {
            (
                r.name().to_owned(),
                r.permissions().iter().map(|p| p.name().to_owned()).collect(),
            )
        })
        .collect();
    let project_roles = ProjectRole::ALL
        .iter()
        .map(|r| {
            let actions = ProjectAction::ALL
                .iter()
                .filter(|a| a.allowed_by(*r))
                .map(|a| a.name().to_owned())
                .collect();
            (r.name().to_owned(), actions)
        })
        .collect();
    let asset_roles = AssetRole::ALL
        .iter()
        .map(|r| {
            let actions = AssetAction::ALL
                .iter()
                .filter(|a| a.allowed_by(*r))
                .map(|a| a.name().to_owned())
                .collect();
            (r.name().to_owned(), actions)
        })
        .collect();
    CatalogDocument {
        permissions,
        roles,
        project_roles,
        asset_roles,
    }
}

fn mark(yes: bool) -> &'static str {
    if yes { "✓" } else { "" }
}

/// `docs/permissions.md`, generated; a test keeps the committed copy current.
pub fn permissions_markdown() -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# Steward permissions\n");
    let _ = writeln!(
        out,
        "Generated from the catalog in `crates/model` by \
         `cargo run -q -p steward-model --example catalog -- --markdown`. Do not edit by hand.\n"
    );
    let _ = writeln!(
        out,
        "A permission is `module.action`. `manage` implies `view`; nothing else implies anything \
         (`list` never implies `listen`). Anything not granted is denied.\n"
    );
    let _ = writeln!(out, "## Org roles\n");
    let _ = writeln!(
        out,
        "Org roles are incremental: each holds everything the roles to its left hold.\n"
    );
    let _ = write!(out, "| permission | description |");
    for role in OrgRole::ALL {
        let _ = write!(out, " {} |", role.name());
    }
    let _ = write!(out, "\n|---|---|");
    for _ in OrgRole::ALL {
        let _ = write!(out, ":-:|");
    }
    out.push('\n');
    for info in Permission::catalog() {
        let _ = write!(out, "| `{}` | {} |", info.name, info.description);
        for role in OrgRole::ALL {
            let _ = write!(out, " {} |", mark(role.permissions().contains(info.permission)));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\n## Project roles\n");
    let _ = writeln!(
        out,
        "Org owners and admins are project admin of every project. Project admins and editors are \
         asset admin of every asset in their project.\n"
    );
    let _ = write!(out, "| action | description |");
    for role in ProjectRole::ALL {
        let _ = write!(out, " {} |", role.name());
    }
    let _ = write!(out, "\n|---|---|");
    for _ in ProjectRole::ALL {
        let _ = write!(out, ":-:|");
    }
    out.push('\n');
    for action in ProjectAction::ALL {
        let _ = write!(out, "| `{}` | {} |", action.name(), action.label());
        for role in ProjectRole::ALL {
            let _ = write!(out, " {} |", mark(action.allowed_by(role)));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nAn explicit asset grant gives at most: member for a project chat user, viewer for a \
         project viewer. Members, chat users and viewers get nothing on an asset without a grant.\n"
    );
    let _ = writeln!(out, "## Asset roles\n");
    let _ = writeln!(
        out,
        "An asset is an agent, tool, knowledge base or workforce. Its creator becomes its admin. \
         Running a workforce also needs run access to every agent in it. Creating or changing an \
         asset (edit, delete, assign roles, tool auth, sharing) also needs the org role's module \
         permission: `agents.manage` for agents and workforces, `tools.manage` for tools, \
         `data.manage` for knowledge. Viewing and running do not.\n"
    );
    let _ = write!(out, "| action | description |");
    for role in AssetRole::ALL.iter().rev() {
        let _ = write!(out, " {} |", role.name());
    }
    let _ = write!(out, "\n|---|---|");
    for _ in AssetRole::ALL {
        let _ = write!(out, ":-:|");
    }
    out.push('\n');
    for action in AssetAction::ALL {
        let _ = write!(out, "| `{}` | {} |", action.name(), action.label());
        for role in AssetRole::ALL.iter().rev() {
            let _ = write!(out, " {} |", mark(action.allowed_by(*role)));
        }
        out.push('\n');
    }
    out
}
