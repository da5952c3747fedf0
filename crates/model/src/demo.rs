//! The demo plant: the seeds' scenarios as data. The README's demo, the platform's `--demo`
//! and the end-to-end tests all start from it, so they agree on who is who.

use crate::catalog::{PermSet, Permission};
use crate::error::ModelError;
use crate::ids::{AssetId, Grantee, GroupId, KeyId, NodeId, ProjectId, UserId};
use crate::plant::{ApiKey, AssetSpec, Plant};
use crate::roles::{AssetKind, AssetRole, OrgRole, ProjectRole};

/// Well-known ids of the demo plant.
pub mod ids {
    use super::*;

    pub const OWNER: UserId = UserId(1);
    pub const MANAGER: UserId = UserId(2);
    /// The three coordinators are members: 3, 4, 5.
    pub const COORDINATORS: [UserId; 3] = [UserId(3), UserId(4), UserId(5)];
    /// The eight technicians are operators: 6..=13.
    pub const TECHNICIANS: [UserId; 8] = [
        UserId(6),
        UserId(7),
        UserId(8),
        UserId(9),
        UserId(10),
        UserId(11),
        UserId(12),
        UserId(13),
    ];
    pub const MANAGEMENT: UserId = UserId(14);
    /// The second management viewer.
    pub const MANAGEMENT_2: UserId = UserId(15);

    pub const SHIFT_A: GroupId = GroupId(1);

    pub const RELIABILITY: ProjectId = ProjectId(1);

    pub const VIBRATION_AGENT: AssetId = AssetId(1);
    pub const THERMAL_AGENT: AssetId = AssetId(2);
    pub const WORK_ORDER_TOOL: AssetId = AssetId(3);
    pub const MANUALS: AssetId = AssetId(4);
    /// Runs the vibration and thermal agents.
    pub const HANDOVER_WORKFORCE: AssetId = AssetId(5);

    pub const SITE: NodeId = NodeId(1);
    pub const AREA_PACKAGING: NodeId = NodeId(2);
    pub const LINE_3: NodeId = NodeId(3);
    pub const CELL_FILLER: NodeId = NodeId(4);

    pub const SCADA_KEY: KeyId = KeyId(1);
}

const TECHNICIAN_NAMES: [&str; 8] = [
    "Tomás Ortega",
    "Aisha Bello",
    "Jonas Weber",
    "Mei Chen",
    "Ravi Patel",
    "Lucía Romero",
    "Erik Nilsson",
    "Grace Okafor",
];

const COORDINATOR_NAMES: [&str; 3] = ["Carmen Diaz", "Henrik Larsen", "Priya Nair"];

/// Scenario 1 (initial role setup) and scenario 4 (a workforce shared with a coordinator who
/// lacks member on one of its agents), plus the SCADA key of scenario 2.
pub fn plant() -> Result<Plant, ModelError> {
    use ids::*;
    let mut plant = Plant::new();
    plant.put_user(OWNER, "Olivia Owner", OrgRole::Owner, true)?;
    plant.put_user(MANAGER, "Marco Manager", OrgRole::Admin, true)?;
    for (id, name) in COORDINATORS.into_iter().zip(COORDINATOR_NAMES) {
        plant.put_user(id, name, OrgRole::Member, true)?;
    }
    for (id, name) in TECHNICIANS.into_iter().zip(TECHNICIAN_NAMES) {
        plant.put_user(id, name, OrgRole::Operator, true)?;
    }
    plant.put_user(MANAGEMENT, "Sofia Management", OrgRole::Viewer, true)?;
    plant.put_user(MANAGEMENT_2, "Bernd Schulz", OrgRole::Viewer, true)?;

    plant.put_group(SHIFT_A, "Shift A technicians")?;
    for tech in TECHNICIANS.into_iter().take(4) {
        plant.set_group_member(SHIFT_A, tech, true)?;
    }

    plant.put_project(RELIABILITY, "Line 3 Reliability")?;
    let [carmen, henrik, priya] = COORDINATORS;
    plant.set_project_role(Grantee::User(carmen), RELIABILITY, Some(ProjectRole::Editor))?;
    plant.set_project_role(Grantee::User(henrik), RELIABILITY, Some(ProjectRole::Member))?;
    plant.set_project_role(Grantee::User(priya), RELIABILITY, Some(ProjectRole::Member))?;
    plant.set_project_role(Grantee::Group(SHIFT_A), RELIABILITY, Some(ProjectRole::Chat))?;
    plant.set_project_role(Grantee::User(MANAGEMENT), RELIABILITY, Some(ProjectRole::Viewer))?;

    let asset = |name: &str, kind, agents: Vec<AssetId>| AssetSpec {
        name: name.to_owned(),
        project: RELIABILITY,
        kind,
        creator: Some(carmen),
        agents,
    };
    plant.put_asset(
        VIBRATION_AGENT,
        asset("Vibration Analyst", AssetKind::Agent, vec![]),
    )?;
    plant.put_asset(
        THERMAL_AGENT,
        asset("Thermal Inspector", AssetKind::Agent, vec![]),
    )?;
    plant.put_asset(
        WORK_ORDER_TOOL,
        asset("Work Order Writer", AssetKind::Tool, vec![]),
    )?;
    plant.put_asset(MANUALS, asset("Line 3 Manuals", AssetKind::Knowledge, vec![]))?;
    plant.put_asset(
        HANDOVER_WORKFORCE,
        asset(
            "Shift Handover",
            AssetKind::Workforce,
            vec![VIBRATION_AGENT, THERMAL_AGENT],
        ),
    )?;
    // Scenario 4: Henrik is member on the workforce and the vibration agent, not the thermal one.
    plant.set_asset_role(Grantee::User(henrik), HANDOVER_WORKFORCE, Some(AssetRole::Member))?;
    plant.set_asset_role(Grantee::User(henrik), VIBRATION_AGENT, Some(AssetRole::Member))?;
    plant.set_asset_role(Grantee::Group(SHIFT_A), VIBRATION_AGENT, Some(AssetRole::Member))?;
    plant.set_asset_role(Grantee::User(MANAGEMENT), MANUALS, Some(AssetRole::Viewer))?;

    plant.put_node(SITE, "North Plant", None)?;
    plant.put_node(AREA_PACKAGING, "Packaging", Some(SITE))?;
    plant.put_node(LINE_3, "Line 3", Some(AREA_PACKAGING))?;
    plant.put_node(CELL_FILLER, "Filler cell", Some(LINE_3))?;

    plant.put_key(
        SCADA_KEY,
        ApiKey {
            name: "SCADA North Plant".to_owned(),
            permissions: PermSet::of([Permission::EventsManage, Permission::EquipmentView]),
            scopes: vec![],
            enabled: true,
        },
    )?;
    Ok(plant)
}
