//! CSV exports for auditors: every user's role assignments, and the users × catalog effective
//! matrix. RFC 4180 quoting, and cells that a spreadsheet would run as a formula are defused.

use steward_model::{Permission, Plant, Principal};

use crate::console::Console;
use crate::error::CoreResult;
use crate::views::principal_name;

/// One cell: a leading `=`, `+`, `-`, `@` (or tab / carriage return, which some spreadsheets
/// strip before looking) gets a `'` in front so the cell is text, never a formula; then quoted
/// when it holds a comma, quote or line break.
pub fn cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn line<S: AsRef<str>>(out: &mut String, cells: impl IntoIterator<Item = S>) {
    let mut first = true;
    for c in cells {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&cell(c.as_ref()));
    }
    // CRLF, as RFC 4180 and spreadsheet imports expect.
    out.push_str("\r\n");
}

/// Every user: org role, status, groups, and project and asset roles (held directly or through
/// a group, which is named).
pub fn role_assignments(plant: &Plant) -> String {
    let mut out = String::new();
    line(
        &mut out,
        [
            "user",
            "org role",
            "active",
            "groups",
            "project roles",
            "asset roles",
        ],
    );
    let mut users: Vec<_> = plant.users().collect();
    users.sort_by_key(|(_, u)| u.name.to_lowercase());
    for (id, user) in users {
        let groups: Vec<String> = user
            .groups()
            .iter()
            .filter_map(|g| plant.group(*g).map(|g| g.name.clone()))
            .collect();
        let project_name =
            |p: steward_model::ProjectId| plant.project(p).map_or_else(|| p.to_string(), |p| p.name.clone());
        let asset_name = |a: steward_model::AssetId| {
            plant
                .asset(a)
                .map_or_else(|| a.to_string(), |a| format!("{} {}", a.kind.name(), a.name))
        };
        let mut projects: Vec<String> = user
            .project_roles()
            .iter()
            .map(|(p, r)| format!("{}: {r}", project_name(*p)))
            .collect();
        let mut assets: Vec<String> = user
            .asset_roles()
            .iter()
            .map(|(a, r)| format!("{}: {r}", asset_name(*a)))
            .collect();
        for g in user.groups() {
            let Some(group) = plant.group(*g) else { continue };
            let via = format!(" (via group {})", group.name);
            projects.extend(
                group
                    .project_roles()
                    .iter()
                    .map(|(p, r)| format!("{}: {r}{via}", project_name(*p))),
            );
            assets.extend(
                group
                    .asset_roles()
                    .iter()
                    .map(|(a, r)| format!("{}: {r}{via}", asset_name(*a))),
            );
        }
        let name = principal_name(plant, Principal::User(id));
        line(
            &mut out,
            [
                name,
                user.org_role.name().to_owned(),
                if user.active { "yes" } else { "no" }.to_owned(),
                groups.join("; "),
                projects.join("; "),
                assets.join("; "),
            ],
        );
    }
    out
}

/// Users × catalog permissions at org level, as the resolver decides them: `x` where held.
pub fn effective_matrix(plant: &Plant) -> String {
    let mut out = String::new();
    let header = ["user", "org role", "active"]
        .into_iter()
        .map(str::to_owned)
        .chain(Permission::catalog().map(|p| p.name.to_owned()));
    line(&mut out, header);
    let mut users: Vec<_> = plant.users().collect();
    users.sort_by_key(|(_, u)| u.name.to_lowercase());
    let ids: Vec<_> = users.iter().map(|(id, _)| *id).collect();
    for ((_, user), set) in users.iter().zip(plant.effective_matrix(&ids)) {
        let cells = [
            user.name.clone(),
            user.org_role.name().to_owned(),
            if user.active { "yes" } else { "no" }.to_owned(),
        ]
        .into_iter()
        .chain(
            Permission::ALL
                .iter()
                .map(|p| if set.contains(*p) { "x" } else { "" }.to_owned()),
        );
        line(&mut out, cells);
    }
    out
}

impl Console {
    /// The role-assignment export of the plant as the views show it (pending changes applied).
    pub fn export_role_assignments(&self) -> CoreResult<String> {
        Ok(role_assignments(&self.plant()?))
    }

    pub fn export_effective_matrix(&self) -> CoreResult<String> {
        Ok(effective_matrix(&self.plant()?))
    }
}

#[cfg(test)]
mod tests {
    // Tests: a failed step is a failed test.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use steward_model::demo;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=1+2"), "'=1+2");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            cell("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
        assert_eq!(cell(""), "");
        assert_eq!(cell("a=b"), "a=b");
    }

    #[test]
    fn the_demo_exports_have_a_row_per_user() {
        let plant = demo::plant().unwrap();
        let roles = role_assignments(&plant);
        let lines: Vec<&str> = roles.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1 + 15);
        let henrik = lines.iter().find(|l| l.starts_with("Henrik Larsen,")).unwrap();
        assert!(henrik.contains("Line 3 Reliability: member"), "{henrik}");
        assert!(henrik.contains("workforce Shift Handover: member"), "{henrik}");
        let tomas = lines.iter().find(|l| l.starts_with("Tomás Ortega,")).unwrap();
        assert!(tomas.contains("(via group Shift A technicians)"), "{tomas}");

        let matrix = effective_matrix(&plant);
        let rows: Vec<&str> = matrix.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 1 + 15);
        assert_eq!(rows[0].split(',').count(), 3 + Permission::catalog().count());
    }
}
