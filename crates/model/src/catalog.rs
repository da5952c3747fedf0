//! The permission catalog: one table of every `module.action`, written once. Role matrices,
//! documentation, the IoT JSON format, broker ACLs and UI labels are all derived from it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ModelError;
use crate::roles::OrgRole;

/// Which source document a module comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The maintenance platform's roles and settings document.
    Maintenance,
    /// The three-level RBAC document.
    Rbac,
    /// The IoT API-key permissions document.
    Iot,
}

/// The action half of `module.action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    View,
    Manage,
    Create,
    Update,
    Delete,
    List,
    Listen,
    Call,
    History,
}

impl Verb {
    pub const fn name(self) -> &'static str {
        match self {
            Verb::View => "view",
            Verb::Manage => "manage",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
            Verb::List => "list",
            Verb::Listen => "listen",
            Verb::Call => "call",
            Verb::History => "history",
        }
    }

    pub fn parse(name: &str) -> Option<Verb> {
        Some(match name {
            "view" => Verb::View,
            "manage" => Verb::Manage,
            "create" => Verb::Create,
            "update" => Verb::Update,
            "delete" => Verb::Delete,
            "list" => Verb::List,
            "listen" => Verb::Listen,
            "call" => Verb::Call,
            "history" => Verb::History,
            _ => return None,
        })
    }
}

/// Facts about one module of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleInfo {
    pub module: Module,
    /// Canonical dotted name, e.g. `commands.rpc`.
    pub name: &'static str,
    pub label: &'static str,
    pub source: Source,
    /// Where the module sits in the IoT document's nested permission object, with that
    /// document's own spelling (`heirarchy_group`). `None` for modules the IoT document lacks.
    pub iot_path: Option<&'static [&'static str]>,
}

macro_rules! modules {
    ($( $variant:ident => $name:literal, $label:literal, $source:ident, $iot:expr; )*) => {
        /// A module of the catalog.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Module { $($variant),* }

        impl Module {
            /// Every module, in catalog order.
            pub const ALL: &'static [Module] = &[$(Module::$variant),*];

            pub const fn info(self) -> &'static ModuleInfo {
                match self {
                    $(Module::$variant => &ModuleInfo {
                        module: Module::$variant,
                        name: $name,
                        label: $label,
                        source: Source::$source,
                        iot_path: $iot,
                    }),*
                }
            }
        }
    };
}

modules! {
    Agents => "agents", "Agents", Maintenance, None;
    Tools => "tools", "Tools", Maintenance, None;
    Data => "data", "Data", Maintenance, None;
    Tasks => "tasks", "Tasks", Maintenance, None;
    Equipment => "equipment", "Equipment (assets)", Maintenance, None;
    Events => "events", "Events", Maintenance, None;
    Users => "users", "Users", Maintenance, None;
    Settings => "settings", "Settings", Maintenance, None;
    ApiKeys => "api_keys", "API keys", Maintenance, None;
    Webhooks => "webhooks", "Webhooks", Maintenance, None;
    Audit => "audit", "Audit log", Rbac, None;
    Usage => "usage", "Usage and credits", Rbac, None;
    Billing => "billing", "Billing", Maintenance, None;
    Organization => "organization", "Organization", Rbac, None;
    Projects => "projects", "Projects", Rbac, None;
    Telemetry => "telemetry", "Telemetry", Iot, Some(&["telemetry"]);
    CommandsRpc => "commands.rpc", "Commands: RPC", Iot, Some(&["commands", "rpc"]);
    CommandsQueue => "commands.queue", "Commands: queue", Iot, Some(&["commands", "queue"]);
    Alerts => "alerts", "Alerts", Iot, Some(&["alerts"]);
    Presence => "presence", "Presence", Iot, Some(&["presence"]);
    LogicalGroup => "logical_group", "Logical groups", Iot, Some(&["logical_group"]);
    HierarchyGroup => "hierarchy_group", "Hierarchy groups", Iot, Some(&["heirarchy_group"]);
    Devices => "devices", "Devices", Iot, Some(&["devices"]);
}

impl Module {
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Parse a canonical module name; also accepts the IoT document's `heirarchy_group`
    /// and the maintenance document's `assets` (our `equipment`).
    pub fn parse(name: &str) -> Option<Module> {
        let canonical = match name {
            "heirarchy_group" => "hierarchy_group",
            "assets" => "equipment",
            other => other,
        };
        Module::ALL.iter().copied().find(|m| m.info().name == canonical)
    }

    /// The permissions of this module, in catalog order.
    pub fn permissions(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| p.module() == self)
    }
}

/// One row of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionInfo {
    pub permission: Permission,
    pub module: Module,
    pub verb: Verb,
    /// `module.action`, e.g. `events.manage`.
    pub name: &'static str,
    /// The lowest org role that holds it; every role above holds it too.
    pub min_org_role: OrgRole,
    pub label: &'static str,
    pub description: &'static str,
}

macro_rules! permissions {
    ($( $variant:ident => $module:ident . $verb:ident, $name:literal, $min:ident, $label:literal, $description:literal; )*) => {
        /// A permission of the catalog (`module.action`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Permission { $($variant),* }

        impl Permission {
            /// Every permission, in catalog order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            pub const fn info(self) -> &'static PermissionInfo {
                match self {
                    $(Permission::$variant => &PermissionInfo {
                        permission: Permission::$variant,
                        module: Module::$module,
                        verb: Verb::$verb,
                        name: $name,
                        min_org_role: OrgRole::$min,
                        label: $label,
                        description: $description,
                    }),*
                }
            }
        }
    };
}

permissions! {
    AgentsView => Agents.View, "agents.view", Viewer, "View agents", "See agents, their configuration and outputs.";
    AgentsManage => Agents.Manage, "agents.manage", Member, "Manage agents", "Create, edit and delete agents.";
    ToolsView => Tools.View, "tools.view", Viewer, "View tools", "See tools and their configuration.";
    ToolsManage => Tools.Manage, "tools.manage", Member, "Manage tools", "Create, edit and delete tools.";
    DataView => Data.View, "data.view", Viewer, "View data", "See datasets and knowledge.";
    DataManage => Data.Manage, "data.manage", Member, "Manage data", "Create, edit and delete datasets and knowledge.";
    TasksView => Tasks.View, "tasks.view", Viewer, "View tasks", "See maintenance tasks.";
    TasksManage => Tasks.Manage, "tasks.manage", Operator, "Manage tasks", "Create, update and close maintenance tasks.";
    EquipmentView => Equipment.View, "equipment.view", Viewer, "View equipment", "See equipment records (the maintenance document's assets).";
    EquipmentManage => Equipment.Manage, "equipment.manage", Member, "Manage equipment", "Create, edit and delete equipment records.";
    EventsView => Events.View, "events.view", Viewer, "View events", "See plant events.";
    EventsManage => Events.Manage, "events.manage", Operator, "Manage events", "Write, acknowledge and close plant events.";
    UsersView => Users.View, "users.view", Viewer, "View users", "See the organization's members and their roles.";
    UsersManage => Users.Manage, "users.manage", Admin, "Manage users", "Invite, change roles, deactivate and reactivate users.";
    SettingsView => Settings.View, "settings.view", Viewer, "View settings", "See organization settings.";
    SettingsManage => Settings.Manage, "settings.manage", Admin, "Manage settings", "Change organization settings and security policy.";
    ApiKeysView => ApiKeys.View, "api_keys.view", Viewer, "View API keys", "See API keys by name and prefix (never the secret).";
    ApiKeysManage => ApiKeys.Manage, "api_keys.manage", Admin, "Manage API keys", "Create, edit, disable and revoke API keys.";
    WebhooksView => Webhooks.View, "webhooks.view", Viewer, "View webhooks", "See outgoing webhooks and their delivery log.";
    WebhooksManage => Webhooks.Manage, "webhooks.manage", Admin, "Manage webhooks", "Create, edit and delete outgoing webhooks.";
    AuditView => Audit.View, "audit.view", Viewer, "View audit log", "See the audit trail of changes and access decisions.";
    UsageView => Usage.View, "usage.view", Viewer, "View usage", "See usage and credit information.";
    BillingManage => Billing.Manage, "billing.manage", Owner, "Manage billing", "Change the plan and payment details.";
    OrganizationManage => Organization.Manage, "organization.manage", Owner, "Manage organization", "Delete the organization or transfer ownership.";
    ProjectsCreate => Projects.Create, "projects.create", Admin, "Create projects", "Create projects at organization level.";
    TelemetryListen => Telemetry.Listen, "telemetry.listen", Viewer, "Listen to telemetry", "Receive real-time telemetry streams.";
    CommandsRpcListen => CommandsRpc.Listen, "commands.rpc.listen", Viewer, "Listen to RPC", "Receive real-time RPC command messages.";
    CommandsRpcCall => CommandsRpc.Call, "commands.rpc.call", Operator, "Call RPC", "Invoke RPC commands on devices.";
    CommandsQueueCall => CommandsQueue.Call, "commands.queue.call", Operator, "Queue commands", "Enqueue commands for later execution on devices.";
    AlertsListen => Alerts.Listen, "alerts.listen", Viewer, "Listen to alerts", "Receive real-time alert notifications.";
    AlertsCreate => Alerts.Create, "alerts.create", Member, "Create alert rules", "Create new alert rules.";
    AlertsUpdate => Alerts.Update, "alerts.update", Member, "Update alert rules", "Modify existing alert rules.";
    AlertsDelete => Alerts.Delete, "alerts.delete", Member, "Delete alert rules", "Remove alert rules.";
    AlertsList => Alerts.List, "alerts.list", Viewer, "List alert rules", "List all alert rules.";
    AlertsHistory => Alerts.History, "alerts.history", Viewer, "Alert history", "View past alert events.";
    PresenceListen => Presence.Listen, "presence.listen", Viewer, "Listen to presence", "Receive real-time device presence updates.";
    LogicalGroupListen => LogicalGroup.Listen, "logical_group.listen", Viewer, "Listen to logical groups", "Receive real-time updates for logical group changes.";
    LogicalGroupCreate => LogicalGroup.Create, "logical_group.create", Member, "Create logical groups", "Create new logical groups.";
    LogicalGroupUpdate => LogicalGroup.Update, "logical_group.update", Member, "Update logical groups", "Modify existing logical groups.";
    LogicalGroupDelete => LogicalGroup.Delete, "logical_group.delete", Member, "Delete logical groups", "Remove logical groups.";
    LogicalGroupList => LogicalGroup.List, "logical_group.list", Viewer, "List logical groups", "List all logical groups and their devices.";
    HierarchyGroupListen => HierarchyGroup.Listen, "hierarchy_group.listen", Viewer, "Listen to hierarchy groups", "Receive real-time updates for hierarchy group changes.";
    HierarchyGroupCreate => HierarchyGroup.Create, "hierarchy_group.create", Member, "Create hierarchy groups", "Create new hierarchy groups.";
    HierarchyGroupUpdate => HierarchyGroup.Update, "hierarchy_group.update", Member, "Update hierarchy groups", "Modify, move and rename hierarchy groups.";
    HierarchyGroupDelete => HierarchyGroup.Delete, "hierarchy_group.delete", Member, "Delete hierarchy groups", "Remove hierarchy groups.";
    HierarchyGroupList => HierarchyGroup.List, "hierarchy_group.list", Viewer, "List hierarchy groups", "List all hierarchy groups and their devices.";
    DevicesCreate => Devices.Create, "devices.create", Member, "Register devices", "Register new devices.";
    DevicesUpdate => Devices.Update, "devices.update", Member, "Update devices", "Modify existing devices.";
    DevicesDelete => Devices.Delete, "devices.delete", Admin, "Delete devices", "Remove devices.";
    DevicesList => Devices.List, "devices.list", Viewer, "List devices", "List all devices.";
}

// A permission set is one machine word; the catalog must fit in it.
const _: () = assert!(Permission::ALL.len() <= 64);

impl Permission {
    pub const fn name(self) -> &'static str {
        self.info().name
    }

    pub const fn module(self) -> Module {
        self.info().module
    }

    pub const fn verb(self) -> Verb {
        self.info().verb
    }

    /// Every catalog row, in order.
    pub fn catalog() -> impl Iterator<Item = &'static PermissionInfo> {
        Permission::ALL.iter().map(|p| p.info())
    }

    pub fn find(module: Module, verb: Verb) -> Option<Permission> {
        module.permissions().find(|p| p.verb() == verb)
    }

    /// What holding this permission also grants. `manage` implies `view` of the same module;
    /// nothing else implies anything (in particular `list` never implies `listen`).
    pub fn implied(self) -> Option<Permission> {
        match self.verb() {
            Verb::Manage => Permission::find(self.module(), Verb::View),
            _ => None,
        }
    }

    /// Parse a permission name: canonical `module.action`, the IoT spelling
    /// `heirarchy_group.*`, or the maintenance document's `view_assets` / `manage_events` form.
    pub fn parse(name: &str) -> Result<Permission, ModelError> {
        let unknown = || ModelError::UnknownPermission {
            name: name.to_owned(),
        };
        if let Some((module, verb)) = name.rsplit_once('.') {
            let module = Module::parse(module).ok_or_else(unknown)?;
            let verb = Verb::parse(verb).ok_or_else(unknown)?;
            return Permission::find(module, verb).ok_or_else(unknown);
        }
        let (verb, module) = name.split_once('_').ok_or_else(unknown)?;
        match Verb::parse(verb) {
            Some(verb @ (Verb::View | Verb::Manage)) => {
                let module = Module::parse(module).ok_or_else(unknown)?;
                Permission::find(module, verb).ok_or_else(unknown)
            }
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Permission {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::parse(s)
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Permission::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A set of catalog permissions, closed under implication (holding `x.manage` always means
/// holding `x.view`). One machine word, so checks are a bit test.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermSet(u64);

impl PermSet {
    pub const EMPTY: PermSet = PermSet(0);

    /// For compile-time derivations in this crate; the caller keeps the set closed.
    pub(crate) const fn from_bits(bits: u64) -> PermSet {
        PermSet(bits)
    }

    const fn bit(p: Permission) -> u64 {
        1u64 << (p as u8)
    }

    /// The whole catalog.
    pub fn all() -> PermSet {
        PermSet::of(Permission::ALL.iter().copied())
    }

    /// The set holding these permissions and what they imply.
    pub fn of(perms: impl IntoIterator<Item = Permission>) -> PermSet {
        let mut set = PermSet::EMPTY;
        for p in perms {
            set.insert(p);
        }
        set
    }

    #[inline]
    pub const fn contains(self, p: Permission) -> bool {
        self.0 & PermSet::bit(p) != 0
    }

    /// Adds `p` and what it implies.
    pub fn insert(&mut self, p: Permission) {
        self.0 |= PermSet::bit(p);
        if let Some(implied) = p.implied() {
            self.0 |= PermSet::bit(implied);
        }
    }

    /// Removes `p` and whatever implies it, so the set stays closed.
    pub fn remove(&mut self, p: Permission) {
        self.0 &= !PermSet::bit(p);
        for q in Permission::ALL {
            if q.implied() == Some(p) {
                self.0 &= !PermSet::bit(*q);
            }
        }
    }

    pub const fn union(self, other: PermSet) -> PermSet {
        PermSet(self.0 | other.0)
    }

    pub const fn difference(self, other: PermSet) -> PermSet {
        PermSet(self.0 & !other.0)
    }

    pub const fn is_subset(self, other: PermSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// The members in catalog order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.iter().copied().filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        PermSet::of(iter)
    }
}

impl fmt::Debug for PermSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Permission::name)).finish()
    }
}

impl Serialize for PermSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for PermSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let perms = Vec::<Permission>::deserialize(deserializer)?;
        Ok(PermSet::of(perms))
    }
}
