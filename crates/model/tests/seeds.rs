//! One test per statement of the seed documents about roles, keys and cascades. Each test's
//! name is the statement.

// Tests: a failed setup step is a failed test, so unwrapping and indexing are what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use steward_model::demo::{self, ids};
use steward_model::legacy::{self, LegacyAssignment, LegacyRole};
use steward_model::*;

fn user(id: UserId) -> Principal {
    Principal::User(id)
}

fn org_allows(plant: &Plant, who: UserId, p: Permission) -> bool {
    plant.allows(user(who), p, Resource::Org)
}

/// A plant with one user per org role (ids 1..=5 viewer..owner).
fn one_of_each_role() -> Plant {
    let mut plant = Plant::new();
    for (i, role) in OrgRole::ALL.into_iter().enumerate() {
        plant
            .put_user(UserId(i as u32 + 1), role.name(), role, true)
            .unwrap();
    }
    plant
}

fn role_user(role: OrgRole) -> UserId {
    UserId(role as u32 + 1)
}

// ----- maintenance document: incremental org roles -------------------------------------------

#[test]
fn viewer_reads_every_module_but_changes_nothing() {
    let plant = one_of_each_role();
    let viewer = role_user(OrgRole::Viewer);
    for p in Permission::ALL {
        let read = matches!(p.verb(), Verb::View | Verb::List | Verb::Listen | Verb::History);
        assert_eq!(org_allows(&plant, viewer, *p), read, "{p}");
    }
}

#[test]
fn operator_manages_tasks_and_events_but_not_agents() {
    let plant = one_of_each_role();
    let op = role_user(OrgRole::Operator);
    assert!(org_allows(&plant, op, Permission::TasksManage));
    assert!(org_allows(&plant, op, Permission::EventsManage));
    assert!(org_allows(&plant, op, Permission::CommandsRpcCall));
    assert!(!org_allows(&plant, op, Permission::AgentsManage));
    assert!(!org_allows(&plant, op, Permission::ToolsManage));
    let d = plant.decide(user(op), Permission::AgentsManage, Resource::Org);
    assert_eq!(
        d.reasons.as_slice(),
        &[Reason::OrgRoleLacks {
            role: OrgRole::Operator,
            permission: Permission::AgentsManage,
            lowest: OrgRole::Member
        }]
    );
}

#[test]
fn member_manages_agents_tools_and_data_but_not_users_or_settings() {
    let plant = one_of_each_role();
    let m = role_user(OrgRole::Member);
    for p in [
        Permission::AgentsManage,
        Permission::ToolsManage,
        Permission::DataManage,
        Permission::TasksManage,
    ] {
        assert!(org_allows(&plant, m, p), "{p}");
    }
    assert!(!org_allows(&plant, m, Permission::UsersManage));
    assert!(!org_allows(&plant, m, Permission::SettingsManage));
    assert!(!org_allows(&plant, m, Permission::DevicesDelete));
}

#[test]
fn admin_manages_users_settings_keys_and_webhooks_but_not_billing() {
    let plant = one_of_each_role();
    let a = role_user(OrgRole::Admin);
    for p in [
        Permission::UsersManage,
        Permission::SettingsManage,
        Permission::ApiKeysManage,
        Permission::WebhooksManage,
        Permission::DevicesDelete,
        Permission::ProjectsCreate,
    ] {
        assert!(org_allows(&plant, a, p), "{p}");
    }
    assert!(!org_allows(&plant, a, Permission::BillingManage));
    assert!(!org_allows(&plant, a, Permission::OrganizationManage));
}

#[test]
fn owner_holds_everything_including_billing_and_organization() {
    let plant = one_of_each_role();
    let o = role_user(OrgRole::Owner);
    for p in Permission::ALL {
        assert!(org_allows(&plant, o, *p), "{p}");
    }
}

#[test]
fn each_role_includes_everything_below_it() {
    for pair in OrgRole::ALL.windows(2) {
        let (lower, higher) = (pair[0], pair[1]);
        assert!(
            lower.permissions().is_subset(higher.permissions()),
            "{lower} ⊄ {higher}"
        );
        assert_ne!(
            lower.permissions(),
            higher.permissions(),
            "{higher} adds nothing over {lower}"
        );
    }
}

#[test]
fn maintenance_names_view_assets_and_manage_assets_mean_equipment() {
    assert_eq!(
        Permission::parse("view_assets").unwrap(),
        Permission::EquipmentView
    );
    assert_eq!(
        Permission::parse("manage_assets").unwrap(),
        Permission::EquipmentManage
    );
    assert_eq!(
        Permission::parse("manage_events").unwrap(),
        Permission::EventsManage
    );
    assert_eq!(Permission::parse("view_tasks").unwrap(), Permission::TasksView);
    assert!(Permission::parse("delete_assets").is_err());
    assert!(Permission::parse("view_teleport").is_err());
}

#[test]
fn scenario_1_each_person_gets_exactly_their_role() {
    let plant = demo::plant().unwrap();
    for tech in ids::TECHNICIANS {
        assert_eq!(plant.org_permissions(user(tech)), OrgRole::Operator.permissions());
        assert!(org_allows(&plant, tech, Permission::TasksManage));
        assert!(!org_allows(&plant, tech, Permission::AgentsManage));
    }
    for coordinator in ids::COORDINATORS {
        assert_eq!(
            plant.org_permissions(user(coordinator)),
            OrgRole::Member.permissions()
        );
    }
    assert!(org_allows(&plant, ids::MANAGER, Permission::UsersManage));
    assert!(!org_allows(&plant, ids::MANAGEMENT, Permission::TasksManage));
    assert!(org_allows(&plant, ids::MANAGEMENT, Permission::TasksView));
    let matrix = plant.effective_matrix(&[
        ids::TECHNICIANS[0],
        ids::COORDINATORS[0],
        ids::MANAGER,
        ids::MANAGEMENT,
    ]);
    let expected: Vec<PermSet> = [
        OrgRole::Operator,
        OrgRole::Member,
        OrgRole::Admin,
        OrgRole::Viewer,
    ]
    .iter()
    .map(|r| r.permissions())
    .collect();
    assert_eq!(matrix, expected);
}

#[test]
fn scenario_2_scada_key_writes_events_reads_equipment_and_nothing_else() {
    let plant = demo::plant().unwrap();
    let key = Principal::Key(ids::SCADA_KEY);
    assert!(plant.allows(key, Permission::EventsManage, Resource::Org));
    assert!(plant.allows(key, Permission::EquipmentView, Resource::Org));
    let allowed: Vec<Permission> = Permission::ALL
        .iter()
        .copied()
        .filter(|p| plant.allows(key, *p, Resource::Org))
        .collect();
    assert_eq!(
        allowed,
        vec![
            Permission::EquipmentView,
            Permission::EventsView,
            Permission::EventsManage
        ]
    );
    let d = plant.decide(key, Permission::EquipmentManage, Resource::Org);
    assert_eq!(
        d.reasons.as_slice(),
        &[Reason::KeyLacks {
            key: ids::SCADA_KEY,
            permission: Permission::EquipmentManage
        }]
    );
    assert!(!plant.allows(key, AssetAction::Run, Resource::Asset(ids::VIBRATION_AGENT)));
}

#[test]
fn scenario_3_a_deactivated_technician_can_do_nothing_and_keeps_every_record() {
    let mut plant = demo::plant().unwrap();
    let tech = ids::TECHNICIANS[0];
    let before_groups = plant.user(tech).unwrap().groups().to_vec();
    plant
        .apply(&Change::SetUserActive {
            user: tech,
            active: false,
        })
        .unwrap();
    for p in Permission::ALL {
        let d = plant.decide(user(tech), *p, Resource::Org);
        assert!(!d.allowed);
        assert_eq!(d.reasons.as_slice(), &[Reason::UserDeactivated { user: tech }]);
    }
    assert!(!plant.allows(
        user(tech),
        AssetAction::Run,
        Resource::Asset(ids::VIBRATION_AGENT)
    ));
    // Records (role, groups) are kept, so reactivation restores access.
    assert_eq!(plant.user(tech).unwrap().groups(), before_groups.as_slice());
    plant
        .apply(&Change::SetUserActive {
            user: tech,
            active: true,
        })
        .unwrap();
    assert!(plant.allows(
        user(tech),
        AssetAction::Run,
        Resource::Asset(ids::VIBRATION_AGENT)
    ));
}

// ----- RBAC document: org level ---------------------------------------------------------------

#[test]
fn new_organization_members_default_to_viewer() {
    assert_eq!(OrgRole::DEFAULT, OrgRole::Viewer);
}

#[test]
fn members_cannot_create_projects_but_admins_can() {
    let plant = one_of_each_role();
    assert!(!org_allows(
        &plant,
        role_user(OrgRole::Member),
        Permission::ProjectsCreate
    ));
    assert!(org_allows(
        &plant,
        role_user(OrgRole::Admin),
        Permission::ProjectsCreate
    ));
}

#[test]
fn viewers_see_audit_logs_and_usage() {
    let plant = one_of_each_role();
    assert!(org_allows(
        &plant,
        role_user(OrgRole::Viewer),
        Permission::AuditView
    ));
    assert!(org_allows(
        &plant,
        role_user(OrgRole::Viewer),
        Permission::UsageView
    ));
}

#[test]
fn org_owners_and_admins_are_project_admin_of_every_project() {
    let plant = demo::plant().unwrap();
    for who in [ids::OWNER, ids::MANAGER] {
        let d = plant.decide(
            user(who),
            ProjectAction::Delete,
            Resource::Project(ids::RELIABILITY),
        );
        assert!(d.allowed);
        assert!(matches!(d.reasons[0], Reason::OrgCascade { .. }));
        assert!(plant.allows(user(who), AssetAction::Delete, Resource::Asset(ids::MANUALS)));
    }
}

#[test]
fn org_members_access_only_projects_they_are_assigned_to() {
    let mut plant = demo::plant().unwrap();
    plant.put_project(ProjectId(2), "Boiler House").unwrap();
    let henrik = ids::COORDINATORS[1];
    assert!(plant.allows(
        user(henrik),
        ProjectAction::View,
        Resource::Project(ids::RELIABILITY)
    ));
    let d = plant.decide(user(henrik), ProjectAction::View, Resource::Project(ProjectId(2)));
    assert_eq!(
        d.reasons.as_slice(),
        &[Reason::NotInProject {
            project: ProjectId(2)
        }]
    );
}

// ----- RBAC document: project level -----------------------------------------------------------

fn project_plant(role: ProjectRole) -> (Plant, UserId, AssetId) {
    let mut plant = Plant::new();
    plant.put_user(UserId(1), "Owner", OrgRole::Owner, true).unwrap();
    plant
        .put_user(UserId(2), "Subject", OrgRole::Member, true)
        .unwrap();
    plant.put_project(ProjectId(1), "P").unwrap();
    plant
        .set_project_role(Grantee::User(UserId(2)), ProjectId(1), Some(role))
        .unwrap();
    let spec = AssetSpec {
        name: "Someone else's agent".into(),
        project: ProjectId(1),
        kind: AssetKind::Agent,
        creator: Some(UserId(1)),
        agents: vec![],
    };
    plant.put_asset(AssetId(1), spec).unwrap();
    (plant, UserId(2), AssetId(1))
}

#[test]
fn only_project_admins_delete_the_project_assign_roles_and_manage_project_keys() {
    for role in ProjectRole::ALL {
        let (plant, who, _) = project_plant(role);
        for action in [
            ProjectAction::Delete,
            ProjectAction::AssignRoles,
            ProjectAction::ManageKeys,
        ] {
            let allowed = plant.allows(user(who), action, Resource::Project(ProjectId(1)));
            assert_eq!(allowed, role == ProjectRole::Admin, "{role} {action}");
        }
    }
}

#[test]
fn project_admins_and_editors_are_asset_admin_of_every_asset_in_the_project() {
    for role in [ProjectRole::Admin, ProjectRole::Editor] {
        let (plant, who, asset) = project_plant(role);
        for action in AssetAction::ALL {
            let d = plant.decide(user(who), *action, Resource::Asset(asset));
            assert!(d.allowed, "{role} {action}");
            assert!(matches!(d.reasons[0], Reason::ProjectCascade { .. }));
        }
    }
}

#[test]
fn members_viewers_and_chat_users_get_nothing_on_an_asset_without_a_grant() {
    for role in [ProjectRole::Member, ProjectRole::Viewer, ProjectRole::Chat] {
        let (plant, who, asset) = project_plant(role);
        for action in AssetAction::ALL {
            let d = plant.decide(user(who), *action, Resource::Asset(asset));
            assert!(!d.allowed, "{role} {action}");
            assert!(
                matches!(d.reasons[0], Reason::NoAssetGrant { .. }),
                "{:?}",
                d.reasons
            );
        }
    }
}

#[test]
fn project_members_create_assets_and_become_their_admin() {
    let (mut plant, who, _) = project_plant(ProjectRole::Member);
    assert!(plant.allows(
        user(who),
        ProjectAction::CreateAssets,
        Resource::Project(ProjectId(1))
    ));
    let spec = AssetSpec {
        name: "Mine".into(),
        project: ProjectId(1),
        kind: AssetKind::Tool,
        creator: Some(who),
        agents: vec![],
    };
    plant.put_asset(AssetId(2), spec).unwrap();
    let d = plant.decide(user(who), AssetAction::Edit, Resource::Asset(AssetId(2)));
    assert!(d.allowed);
    assert_eq!(
        d.reasons.as_slice(),
        &[Reason::AssetRole {
            asset: AssetId(2),
            role: AssetRole::Admin,
            via: Via::Direct
        }]
    );
    assert!(plant.describe(&d.reasons[0]).contains("creators become admin"));
}

#[test]
fn chat_users_cannot_use_the_console_or_create_assets() {
    let (plant, who, _) = project_plant(ProjectRole::Chat);
    let project = Resource::Project(ProjectId(1));
    assert!(!plant.allows(user(who), ProjectAction::UseConsole, project));
    assert!(!plant.allows(user(who), ProjectAction::CreateAssets, project));
    assert!(plant.allows(user(who), ProjectAction::Chat, project));
}

#[test]
fn chat_users_run_agents_they_hold_member_on() {
    let (mut plant, who, asset) = project_plant(ProjectRole::Chat);
    plant
        .set_asset_role(Grantee::User(who), asset, Some(AssetRole::Member))
        .unwrap();
    assert!(plant.allows(user(who), AssetAction::Run, Resource::Asset(asset)));
    // Even an admin grant gives a chat user no more than member.
    plant
        .set_asset_role(Grantee::User(who), asset, Some(AssetRole::Admin))
        .unwrap();
    let d = plant.decide(user(who), AssetAction::Edit, Resource::Asset(asset));
    assert!(!d.allowed);
    assert!(matches!(
        d.reasons[0],
        Reason::CappedByProjectRole {
            ceiling: AssetRole::Member,
            ..
        }
    ));
}

#[test]
fn project_viewers_view_assets_they_are_granted_and_run_nothing() {
    let (mut plant, who, asset) = project_plant(ProjectRole::Viewer);
    plant
        .set_asset_role(Grantee::User(who), asset, Some(AssetRole::Member))
        .unwrap();
    assert!(plant.allows(user(who), AssetAction::ViewOutputs, Resource::Asset(asset)));
    let d = plant.decide(user(who), AssetAction::Run, Resource::Asset(asset));
    assert!(!d.allowed);
    assert!(matches!(
        d.reasons[0],
        Reason::CappedByProjectRole {
            project_role: ProjectRole::Viewer,
            ceiling: AssetRole::Viewer,
            ..
        }
    ));
}

// ----- RBAC document: asset level -------------------------------------------------------------

#[test]
fn asset_members_run_and_view_outputs_but_cannot_edit() {
    let (mut plant, who, asset) = project_plant(ProjectRole::Member);
    plant
        .set_asset_role(Grantee::User(who), asset, Some(AssetRole::Member))
        .unwrap();
    let r = Resource::Asset(asset);
    assert!(plant.allows(user(who), AssetAction::Run, r));
    assert!(plant.allows(user(who), AssetAction::ViewOutputs, r));
    assert!(!plant.allows(user(who), AssetAction::Edit, r));
    assert!(!plant.allows(user(who), AssetAction::Delete, r));
}

#[test]
fn asset_viewers_see_configuration_and_outputs_and_run_nothing() {
    let (mut plant, who, asset) = project_plant(ProjectRole::Member);
    plant
        .set_asset_role(Grantee::User(who), asset, Some(AssetRole::Viewer))
        .unwrap();
    let r = Resource::Asset(asset);
    assert!(plant.allows(user(who), AssetAction::ViewConfig, r));
    assert!(plant.allows(user(who), AssetAction::ViewOutputs, r));
    let d = plant.decide(user(who), AssetAction::Run, r);
    assert_eq!(
        d.reasons.as_slice(),
        &[Reason::NoAssetGrant {
            asset,
            needed: AssetRole::Member
        }]
    );
}

#[test]
fn scenario_4_workforce_needs_member_on_every_agent_and_names_the_missing_one() {
    let mut plant = demo::plant().unwrap();
    let henrik = user(ids::COORDINATORS[1]);
    let check = plant.check_workforce_run(henrik, ids::HANDOVER_WORKFORCE);
    assert!(!check.decision.allowed);
    assert_eq!(check.missing_agents, vec![ids::THERMAL_AGENT]);
    let words: Vec<String> = check.decision.reasons.iter().map(|r| plant.describe(r)).collect();
    assert_eq!(words, vec!["cannot run agent Thermal Inspector".to_owned()]);

    plant
        .set_asset_role(
            Grantee::User(ids::COORDINATORS[1]),
            ids::THERMAL_AGENT,
            Some(AssetRole::Member),
        )
        .unwrap();
    let check = plant.check_workforce_run(henrik, ids::HANDOVER_WORKFORCE);
    assert!(check.decision.allowed, "{:?}", check.decision);
    assert!(check.missing_agents.is_empty());
}

#[test]
fn a_grant_to_a_group_applies_to_every_member_and_leaving_the_group_ends_it() {
    let mut plant = demo::plant().unwrap();
    let in_group = ids::TECHNICIANS[0];
    let outside = ids::TECHNICIANS[7];
    let r = Resource::Asset(ids::VIBRATION_AGENT);
    let d = plant.decide(user(in_group), AssetAction::Run, r);
    assert!(d.allowed);
    assert!(d.reasons.contains(&Reason::AssetRole {
        asset: ids::VIBRATION_AGENT,
        role: AssetRole::Member,
        via: Via::Group(ids::SHIFT_A)
    }));
    assert!(!plant.allows(user(outside), AssetAction::Run, r));
    plant
        .apply(&Change::SetGroupMember {
            group: ids::SHIFT_A,
            user: in_group,
            member: false,
        })
        .unwrap();
    assert!(!plant.allows(user(in_group), AssetAction::Run, r));
}

#[test]
fn legacy_roles_map_to_project_roles_and_every_migrated_viewer_is_listed_for_review() {
    let assignments = [
        LegacyAssignment {
            user: UserId(1),
            project: ProjectId(1),
            role: LegacyRole::Admin,
        },
        LegacyAssignment {
            user: UserId(2),
            project: ProjectId(1),
            role: LegacyRole::Editor,
        },
        LegacyAssignment {
            user: UserId(3),
            project: ProjectId(1),
            role: LegacyRole::Viewer,
        },
        LegacyAssignment {
            user: UserId(4),
            project: ProjectId(2),
            role: LegacyRole::Viewer,
        },
    ];
    let m = legacy::migrate(&assignments);
    let roles: Vec<Option<ProjectRole>> = m
        .changes
        .iter()
        .map(|c| match c {
            Change::SetProjectRole { role, .. } => *role,
            _ => None,
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            Some(ProjectRole::Admin),
            Some(ProjectRole::Editor),
            Some(ProjectRole::Viewer),
            Some(ProjectRole::Viewer)
        ]
    );
    let reviewed: Vec<UserId> = m.review.iter().map(|r| r.user).collect();
    assert_eq!(reviewed, vec![UserId(3), UserId(4)]);
    assert_eq!(
        m.review[0].options,
        [ProjectRole::Chat, ProjectRole::Viewer, ProjectRole::Member]
    );
}

#[test]
fn the_last_active_owner_cannot_be_demoted_or_deactivated() {
    let mut plant = demo::plant().unwrap();
    let err = plant
        .apply(&Change::SetOrgRole {
            user: ids::OWNER,
            role: OrgRole::Admin,
        })
        .unwrap_err();
    assert_eq!(err, ModelError::LastOwner { user: ids::OWNER });
    assert_eq!(err.code(), "last_owner");
    assert!(
        plant
            .apply(&Change::SetUserActive {
                user: ids::OWNER,
                active: false
            })
            .is_err()
    );
    assert_eq!(plant.user(ids::OWNER).unwrap().org_role, OrgRole::Owner);
    // With a second owner, the first may step down.
    plant
        .apply(&Change::SetOrgRole {
            user: ids::MANAGER,
            role: OrgRole::Owner,
        })
        .unwrap();
    plant
        .apply(&Change::SetOrgRole {
            user: ids::OWNER,
            role: OrgRole::Admin,
        })
        .unwrap();
    assert_eq!(plant.active_owners().collect::<Vec<_>>(), vec![ids::MANAGER]);
}

// ----- IoT document: API keys -----------------------------------------------------------------

fn key_plant(perms: &[Permission], scopes: Vec<NodeId>) -> Plant {
    let mut plant = demo::plant().unwrap();
    let key = ApiKey {
        name: "k".into(),
        permissions: PermSet::of(perms.iter().copied()),
        scopes,
        enabled: true,
    };
    plant.put_key(KeyId(9), key).unwrap();
    plant
}

#[test]
fn list_never_implies_listen() {
    let plant = key_plant(&[Permission::AlertsList], vec![]);
    let key = Principal::Key(KeyId(9));
    assert!(plant.allows(key, Permission::AlertsList, Resource::Org));
    assert!(!plant.allows(key, Permission::AlertsListen, Resource::Org));
}

#[test]
fn a_missing_module_denies_everything_in_it() {
    let plant = key_plant(&[Permission::TelemetryListen], vec![]);
    let key = Principal::Key(KeyId(9));
    for p in Module::Devices.permissions() {
        assert!(!plant.allows(key, p, Resource::Org), "{p}");
    }
}

#[test]
fn a_disabled_key_is_denied_everything() {
    let mut plant = key_plant(&[Permission::DevicesList], vec![]);
    let mut key = plant.key(KeyId(9)).unwrap().clone();
    key.enabled = false;
    plant.put_key(KeyId(9), key).unwrap();
    let d = plant.decide(Principal::Key(KeyId(9)), Permission::DevicesList, Resource::Org);
    assert_eq!(d.reasons.as_slice(), &[Reason::KeyDisabled { key: KeyId(9) }]);
}

#[test]
fn a_key_creator_must_hold_every_permission_it_grants() {
    let plant = demo::plant().unwrap();
    let manager = user(ids::MANAGER);
    let scada = PermSet::of([Permission::EventsManage, Permission::EquipmentView]);
    assert!(plant.check_key_grant(manager, scada, &[]).is_ok());
    let billing = PermSet::of([Permission::BillingManage]);
    let err = plant.check_key_grant(manager, billing, &[]).unwrap_err();
    assert_eq!(err.code(), "escalation");
    assert!(err.to_string().contains("billing.manage"));
    let tech = user(ids::TECHNICIANS[0]);
    assert!(
        plant
            .check_key_grant(tech, PermSet::of([Permission::DevicesDelete]), &[])
            .is_err()
    );
}

#[test]
fn a_scoped_key_reaches_its_hierarchy_subtree_and_nothing_outside() {
    let mut plant = key_plant(&[Permission::DevicesList], vec![ids::LINE_3]);
    plant
        .put_node(NodeId(10), "Line 4", Some(ids::AREA_PACKAGING))
        .unwrap();
    let key = Principal::Key(KeyId(9));
    let inside = plant.decide(key, Permission::DevicesList, Resource::Node(ids::CELL_FILLER));
    assert!(inside.allowed);
    assert!(inside.reasons.contains(&Reason::KeyScope {
        key: KeyId(9),
        scope: ids::LINE_3
    }));
    let outside = plant.decide(key, Permission::DevicesList, Resource::Node(NodeId(10)));
    assert_eq!(
        outside.reasons.as_slice(),
        &[Reason::OutOfScope {
            key: KeyId(9),
            node: NodeId(10)
        }]
    );
    // Org-wide, a scoped key holds no device-plane permission: it must ask about a node.
    let org_wide = plant.decide(key, Permission::DevicesList, Resource::Org);
    assert_eq!(
        org_wide.reasons.as_slice(),
        &[Reason::ScopedKeyNeedsNode {
            key: KeyId(9),
            permission: Permission::DevicesList
        }]
    );
    // A scoped key cannot mint a key with a wider scope.
    let err = plant
        .check_key_grant(key, PermSet::of([Permission::DevicesList]), &[ids::SITE])
        .unwrap_err();
    assert_eq!(err.code(), "scope_escalation");
    assert!(
        plant
            .check_key_grant(key, PermSet::of([Permission::DevicesList]), &[ids::CELL_FILLER])
            .is_ok()
    );
}

#[test]
fn moving_a_hierarchy_node_keeps_what_is_below_it_and_refuses_cycles() {
    let mut plant = key_plant(&[Permission::DevicesList], vec![ids::LINE_3]);
    plant.put_node(NodeId(10), "Assembly", Some(ids::SITE)).unwrap();
    plant
        .put_node(ids::LINE_3, "Line 3 (moved)", Some(NodeId(10)))
        .unwrap();
    assert!(plant.node_within(ids::CELL_FILLER, NodeId(10)));
    assert!(!plant.node_within(ids::CELL_FILLER, ids::AREA_PACKAGING));
    let err = plant
        .put_node(ids::SITE, "North Plant", Some(ids::CELL_FILLER))
        .unwrap_err();
    assert_eq!(err.code(), "hierarchy_cycle");
}

// ----- previews and reverse lookup ------------------------------------------------------------

#[test]
fn a_preview_lists_who_gains_and_who_loses_without_changing_anything() {
    let plant = demo::plant().unwrap();
    let tech = ids::TECHNICIANS[0];
    let change = Change::SetOrgRole {
        user: tech,
        role: OrgRole::Member,
    };
    let deltas = plant.preview(&change).unwrap();
    assert!(deltas.iter().all(|d| d.principal == user(tech) && d.gained));
    assert!(
        deltas
            .iter()
            .any(|d| d.action == Action::Org(Permission::AgentsManage))
    );
    assert_eq!(plant.user(tech).unwrap().org_role, OrgRole::Operator);

    let remove_group = Change::SetAssetRole {
        grantee: Grantee::Group(ids::SHIFT_A),
        asset: ids::VIBRATION_AGENT,
        role: None,
    };
    let deltas = plant.preview(&remove_group).unwrap();
    let losers: std::collections::BTreeSet<Principal> =
        deltas.iter().filter(|d| !d.gained).map(|d| d.principal).collect();
    let members: std::collections::BTreeSet<Principal> = plant
        .group(ids::SHIFT_A)
        .unwrap()
        .members()
        .iter()
        .map(|u| user(*u))
        .collect();
    assert_eq!(losers, members);
}

#[test]
fn who_can_run_an_agent_names_everyone_with_their_reasons() {
    let plant = demo::plant().unwrap();
    let who = plant.who_can(AssetAction::Run, Resource::Asset(ids::VIBRATION_AGENT));
    let people: Vec<Principal> = who.iter().map(|(p, _)| *p).collect();
    assert!(people.contains(&user(ids::OWNER)));
    assert!(people.contains(&user(ids::COORDINATORS[0])));
    assert!(people.contains(&user(ids::COORDINATORS[1])));
    assert!(people.contains(&user(ids::TECHNICIANS[0])));
    assert!(!people.contains(&user(ids::TECHNICIANS[7])));
    assert!(!people.contains(&user(ids::MANAGEMENT)));
    assert!(who.iter().all(|(_, d)| d.allowed && !d.reasons.is_empty()));
}

#[test]
fn an_asset_keeps_its_project_and_kind() {
    let mut plant = demo::plant().unwrap();
    let spec = AssetSpec {
        name: "Vibration Analyst".into(),
        project: ids::RELIABILITY,
        kind: AssetKind::Tool,
        creator: None,
        agents: vec![],
    };
    // Turning an agent a workforce lists into a tool would break the workforce.
    let err = plant.put_asset(ids::VIBRATION_AGENT, spec).unwrap_err();
    assert_eq!(err.code(), "asset_change");
    assert_eq!(plant.asset(ids::VIBRATION_AGENT).unwrap().kind, AssetKind::Agent);
}

#[test]
fn changing_an_asset_also_needs_the_org_roles_module_management() {
    // Maintenance roles: operators manage tasks and events, not agents; so a project editor
    // whose org role is operator runs and views the project's agents but cannot change them.
    let (mut plant, who, asset) = project_plant(ProjectRole::Editor);
    plant.put_user(who, "Subject", OrgRole::Operator, true).unwrap();
    let r = Resource::Asset(asset);
    assert!(plant.allows(user(who), AssetAction::Run, r));
    assert!(plant.allows(user(who), AssetAction::ViewConfig, r));
    let d = plant.decide(user(who), AssetAction::Edit, r);
    assert_eq!(
        d.reasons.as_slice(),
        &[Reason::OrgRoleLacks {
            role: OrgRole::Operator,
            permission: Permission::AgentsManage,
            lowest: OrgRole::Member
        }]
    );
    let create = plant.decide_create_asset(user(who), ProjectId(1), AssetKind::Knowledge);
    assert!(!create.allowed);
    plant.put_user(who, "Subject", OrgRole::Member, true).unwrap();
    assert!(plant.allows(user(who), AssetAction::Edit, r));
    assert!(
        plant
            .decide_create_asset(user(who), ProjectId(1), AssetKind::Knowledge)
            .allowed
    );
}

#[test]
fn chat_users_with_the_default_viewer_org_role_still_run_agents_they_are_member_on() {
    let (mut plant, who, asset) = project_plant(ProjectRole::Chat);
    plant.put_user(who, "Subject", OrgRole::DEFAULT, true).unwrap();
    plant
        .set_asset_role(Grantee::User(who), asset, Some(AssetRole::Member))
        .unwrap();
    assert!(plant.allows(user(who), AssetAction::Run, Resource::Asset(asset)));
}
