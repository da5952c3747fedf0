//! Roles at the three levels (org, project, asset) and what each one allows. The org-role
//! matrix is derived from the catalog; the project and asset tables are data, written once.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::{PermSet, Permission};

/// Org roles, incremental: each includes everything below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum OrgRole {
    Viewer,
    Operator,
    Member,
    Admin,
    Owner,
}

impl OrgRole {
    /// Lowest first.
    pub const ALL: [OrgRole; 5] = [
        OrgRole::Viewer,
        OrgRole::Operator,
        OrgRole::Member,
        OrgRole::Admin,
        OrgRole::Owner,
    ];

    /// The role new members get when an invite names none.
    pub const DEFAULT: OrgRole = OrgRole::Viewer;

    pub const fn name(self) -> &'static str {
        match self {
            OrgRole::Viewer => "viewer",
            OrgRole::Operator => "operator",
            OrgRole::Member => "member",
            OrgRole::Admin => "admin",
            OrgRole::Owner => "owner",
        }
    }

    pub fn parse(name: &str) -> Option<OrgRole> {
        OrgRole::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Org owners and admins are project admin of every project.
    pub const fn is_project_admin_everywhere(self) -> bool {
        self as u8 >= OrgRole::Admin as u8
    }

    /// Every permission whose lowest role is at or below this one, read off the catalog at
    /// compile time.
    const fn derive(self) -> PermSet {
        let mut bits = 0u64;
        let mut rest = Permission::ALL;
        while let [p, tail @ ..] = rest {
            if p.info().min_org_role as u8 <= self as u8 {
                bits |= 1u64 << (*p as u8);
            }
            rest = tail;
        }
        PermSet::from_bits(bits)
    }

    /// What this role holds at org level.
    #[inline]
    pub const fn permissions(self) -> PermSet {
        const VIEWER: PermSet = OrgRole::Viewer.derive();
        const OPERATOR: PermSet = OrgRole::Operator.derive();
        const MEMBER: PermSet = OrgRole::Member.derive();
        const ADMIN: PermSet = OrgRole::Admin.derive();
        const OWNER: PermSet = OrgRole::Owner.derive();
        match self {
            OrgRole::Viewer => VIEWER,
            OrgRole::Operator => OPERATOR,
            OrgRole::Member => MEMBER,
            OrgRole::Admin => ADMIN,
            OrgRole::Owner => OWNER,
        }
    }
}

impl fmt::Display for OrgRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Project roles. Not a strict ladder: `chat` and `viewer` allow different things.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ProjectRole {
    Viewer,
    Chat,
    Member,
    Editor,
    Admin,
}

impl ProjectRole {
    /// Most powerful first, as the RBAC document lists them.
    pub const ALL: [ProjectRole; 5] = [
        ProjectRole::Admin,
        ProjectRole::Editor,
        ProjectRole::Member,
        ProjectRole::Chat,
        ProjectRole::Viewer,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            ProjectRole::Admin => "admin",
            ProjectRole::Editor => "editor",
            ProjectRole::Member => "member",
            ProjectRole::Chat => "chat",
            ProjectRole::Viewer => "viewer",
        }
    }

    pub fn parse(name: &str) -> Option<ProjectRole> {
        ProjectRole::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Project admins and editors are asset admin on every asset of the project.
    pub const fn is_asset_admin_everywhere(self) -> bool {
        matches!(self, ProjectRole::Admin | ProjectRole::Editor)
    }

    /// The most an explicit asset grant can give a holder of this project role: a project
    /// viewer runs nothing, a chat user at most runs what it is member on.
    pub const fn asset_ceiling(self) -> AssetRole {
        match self {
            ProjectRole::Admin | ProjectRole::Editor | ProjectRole::Member => AssetRole::Admin,
            ProjectRole::Chat => AssetRole::Member,
            ProjectRole::Viewer => AssetRole::Viewer,
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for ProjectRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Asset roles, incremental: viewer < member < admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum AssetRole {
    Viewer,
    Member,
    Admin,
}

impl AssetRole {
    /// Lowest first.
    pub const ALL: [AssetRole; 3] = [AssetRole::Viewer, AssetRole::Member, AssetRole::Admin];

    pub const fn name(self) -> &'static str {
        match self {
            AssetRole::Viewer => "viewer",
            AssetRole::Member => "member",
            AssetRole::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<AssetRole> {
        AssetRole::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for AssetRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the asset kinds are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Agent,
    Tool,
    Knowledge,
    /// Runs a list of agents; running it needs run access to each of them too.
    Workforce,
}

impl AssetKind {
    pub const ALL: [AssetKind; 4] = [
        AssetKind::Agent,
        AssetKind::Tool,
        AssetKind::Knowledge,
        AssetKind::Workforce,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            AssetKind::Agent => "agent",
            AssetKind::Tool => "tool",
            AssetKind::Knowledge => "knowledge",
            AssetKind::Workforce => "workforce",
        }
    }

    pub fn parse(name: &str) -> Option<AssetKind> {
        AssetKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The org-level module permission that creating or changing an asset of this kind also
    /// needs (the maintenance document's "agent, tool and data management" of members).
    pub const fn manage_permission(self) -> Permission {
        match self {
            AssetKind::Agent | AssetKind::Workforce => Permission::AgentsManage,
            AssetKind::Tool => Permission::ToolsManage,
            AssetKind::Knowledge => Permission::DataManage,
        }
    }
}

macro_rules! project_actions {
    ($( $variant:ident => $name:literal, $label:literal, [$($role:ident),*]; )*) => {
        /// Things a project role allows (the RBAC document's project table).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum ProjectAction { $($variant),* }

        impl ProjectAction {
            pub const ALL: &'static [ProjectAction] = &[$(ProjectAction::$variant),*];

            pub const fn name(self) -> &'static str {
                match self { $(ProjectAction::$variant => $name),* }
            }

            pub const fn label(self) -> &'static str {
                match self { $(ProjectAction::$variant => $label),* }
            }

            /// Which project roles allow it.
            const fn role_bits(self) -> u8 {
                match self { $(ProjectAction::$variant => 0 $(| ProjectRole::$role.bit())*),* }
            }
        }
    };
}

project_actions! {
    Delete => "project.delete", "Delete project", [Admin];
    AssignRoles => "project.assign_roles", "Assign project roles to users", [Admin];
    ManageKeys => "project.manage_keys", "Manage project-level API keys and OAuths", [Admin];
    DeleteAssets => "project.delete_assets", "Delete agents and other assets", [Admin, Editor];
    ViewAllAssets => "project.view_all_assets", "View all assets by default", [Admin, Editor];
    EditRunAllAssets => "project.edit_run_all_assets", "Edit and run assets they did not create", [Admin, Editor];
    ViewActivity => "project.view_activity", "View project activity logs", [Admin, Editor];
    CreateAssets => "project.create_assets", "Create assets", [Admin, Editor, Member];
    View => "project.view", "View project", [Admin, Editor, Member, Chat, Viewer];
    UseConsole => "project.use_console", "Use the console (web app)", [Admin, Editor, Member, Viewer];
    Chat => "project.chat", "Run a chat", [Admin, Editor, Member, Chat, Viewer];
}

impl ProjectAction {
    pub fn allowed_by(self, role: ProjectRole) -> bool {
        self.role_bits() & role.bit() != 0
    }

    pub fn parse(name: &str) -> Option<ProjectAction> {
        ProjectAction::ALL.iter().copied().find(|a| a.name() == name)
    }
}

/// Serializes an action as its name (`project.delete`, `asset.run`).
macro_rules! serde_by_name {
    ($ty:ident) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = String::deserialize(d)?;
                $ty::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown action `{name}`")))
            }
        }
    };
}

serde_by_name!(ProjectAction);
serde_by_name!(AssetAction);

impl fmt::Display for ProjectAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! asset_actions {
    ($( $variant:ident => $name:literal, $label:literal, $min:ident; )*) => {
        /// Things an asset role allows (the RBAC document's asset table).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum AssetAction { $($variant),* }

        impl AssetAction {
            pub const ALL: &'static [AssetAction] = &[$(AssetAction::$variant),*];

            pub const fn name(self) -> &'static str {
                match self { $(AssetAction::$variant => $name),* }
            }

            pub const fn label(self) -> &'static str {
                match self { $(AssetAction::$variant => $label),* }
            }

            /// The lowest asset role that allows it.
            pub const fn min_role(self) -> AssetRole {
                match self { $(AssetAction::$variant => AssetRole::$min),* }
            }
        }
    };
}

asset_actions! {
    Edit => "asset.edit", "Edit asset", Admin;
    Delete => "asset.delete", "Delete asset", Admin;
    AssignRoles => "asset.assign_roles", "Assign roles on asset", Admin;
    AssignToolAuth => "asset.assign_tool_auth", "Assign auth per tool", Admin;
    Share => "asset.share", "Enable cloning/sharing of asset", Admin;
    ViewAudit => "asset.view_audit", "View asset audit logs", Admin;
    Run => "asset.run", "Run (create tasks on asset)", Member;
    ViewConfig => "asset.view_config", "View asset configuration", Viewer;
    ViewOutputs => "asset.view_outputs", "View asset outputs", Viewer;
}

impl AssetAction {
    /// Does this action change the asset (and so also need the org role's module `manage`)?
    /// Viewing and running do not: a chat user with the viewer org role still runs the agents
    /// it is member on.
    pub const fn changes_asset(self) -> bool {
        !matches!(
            self,
            AssetAction::Run | AssetAction::ViewConfig | AssetAction::ViewOutputs | AssetAction::ViewAudit
        )
    }

    pub fn allowed_by(self, role: AssetRole) -> bool {
        role >= self.min_role()
    }

    pub fn parse(name: &str) -> Option<AssetAction> {
        AssetAction::ALL.iter().copied().find(|a| a.name() == name)
    }
}

impl fmt::Display for AssetAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A small bit set of project or asset actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ActionSet(u16);

impl ActionSet {
    pub const EMPTY: ActionSet = ActionSet(0);

    pub fn of_project(role: ProjectRole) -> ActionSet {
        ActionSet(
            ProjectAction::ALL
                .iter()
                .filter(|a| a.allowed_by(role))
                .fold(0, |bits, a| bits | 1 << (*a as u8)),
        )
    }

    pub fn of_asset(role: AssetRole) -> ActionSet {
        ActionSet(
            AssetAction::ALL
                .iter()
                .filter(|a| a.allowed_by(role))
                .fold(0, |bits, a| bits | 1 << (*a as u8)),
        )
    }

    pub fn of_project_action(action: ProjectAction) -> ActionSet {
        ActionSet(1 << (action as u8))
    }

    pub fn of_asset_action(action: AssetAction) -> ActionSet {
        ActionSet(1 << (action as u8))
    }

    pub fn union(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 | other.0)
    }

    pub fn contains_project(self, a: ProjectAction) -> bool {
        self.0 & (1 << (a as u8)) != 0
    }

    pub fn contains_asset(self, a: AssetAction) -> bool {
        self.0 & (1 << (a as u8)) != 0
    }

    pub fn project_actions(self) -> impl Iterator<Item = ProjectAction> {
        ProjectAction::ALL
            .iter()
            .copied()
            .filter(move |a| self.contains_project(*a))
    }

    pub fn asset_actions(self) -> impl Iterator<Item = AssetAction> {
        AssetAction::ALL
            .iter()
            .copied()
            .filter(move |a| self.contains_asset(*a))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}
