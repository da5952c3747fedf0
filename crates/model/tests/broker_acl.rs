//! The compilation of permission sets to broker ACLs and the topic layout it uses.

// Tests: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use steward_model::acl::{AclEntry, AclScope, AclType, compile, compile_device};
use steward_model::topics::{Id, Parsed, Topic, filter_matches, parse, topic, topic_level};
use steward_model::{Module, PermSet, Permission, Verb};

const ORG: i64 = 7;

fn set(perms: &[Permission]) -> PermSet {
    PermSet::of(perms.iter().copied())
}

fn allows(acls: &[AclEntry], kind: AclType, concrete: &str) -> bool {
    acls.iter()
        .any(|a| a.acl_type == kind && filter_matches(&a.topic, concrete))
}

fn may_listen(acls: &[AclEntry], concrete: &str) -> bool {
    allows(acls, AclType::SubscribePattern, concrete) && allows(acls, AclType::PublishClientReceive, concrete)
}

/// Every concrete topic of the layout for device 3, node 2, group 4, rule 5 and caller "k".
fn every_topic() -> Vec<String> {
    let d = Id::One(3);
    [
        Topic::Telemetry(d),
        Topic::Presence(d),
        Topic::RpcRequest(d),
        Topic::RpcResponse(d, "k"),
        Topic::Queue(d),
        Topic::Alerts(Id::One(5)),
        Topic::LogicalGroup(Id::One(4)),
        Topic::HierarchyGroup(Id::One(2)),
    ]
    .into_iter()
    .map(|t| topic(ORG, t))
    .collect()
}

#[test]
fn scenario_2_the_scada_key_gets_nothing_on_the_broker() {
    // events.manage + equipment.view are REST rights only.
    let acls = compile(
        ORG,
        set(&[Permission::EventsManage, Permission::EquipmentView]),
        &AclScope::Org,
        "stw_scada001",
    );
    assert!(acls.is_empty(), "{acls:?}");
}

#[test]
fn list_never_grants_a_subscription_and_a_missing_module_denies_everything_in_it() {
    let acls = compile(ORG, set(&[Permission::AlertsList]), &AclScope::Org, "k");
    assert!(acls.is_empty(), "alerts.list without alerts.listen: {acls:?}");
    // Every REST-only action of every IoT module: nothing on the broker.
    let rest_only: PermSet = Permission::ALL
        .iter()
        .copied()
        .filter(|p| !matches!(p.verb(), Verb::Listen | Verb::Call))
        .collect();
    assert!(compile(ORG, rest_only, &AclScope::Org, "k").is_empty());
    // Everything but telemetry: no telemetry topic is reachable.
    let without: PermSet = Permission::ALL
        .iter()
        .copied()
        .filter(|p| p.module() != Module::Telemetry)
        .collect();
    let acls = compile(ORG, without, &AclScope::Org, "k");
    assert!(!acls.is_empty());
    let telemetry = topic(ORG, Topic::Telemetry(Id::One(3)));
    assert!(!allows(&acls, AclType::SubscribePattern, &telemetry));
    assert!(!allows(&acls, AclType::PublishClientReceive, &telemetry));
}

#[test]
fn each_listen_right_is_a_subscribe_and_a_receive_on_exactly_its_topics() {
    let cases = [
        (Permission::TelemetryListen, Topic::Telemetry(Id::One(3))),
        (Permission::PresenceListen, Topic::Presence(Id::One(3))),
        (Permission::AlertsListen, Topic::Alerts(Id::One(5))),
        (Permission::LogicalGroupListen, Topic::LogicalGroup(Id::One(4))),
        (
            Permission::HierarchyGroupListen,
            Topic::HierarchyGroup(Id::One(2)),
        ),
        (Permission::CommandsRpcListen, Topic::RpcRequest(Id::One(3))),
    ];
    for (permission, own) in cases {
        let acls = compile(ORG, set(&[permission]), &AclScope::Org, "k");
        let own = topic(ORG, own);
        assert!(may_listen(&acls, &own), "{permission:?} → {acls:?}");
        for other in every_topic().into_iter().filter(|t| *t != own) {
            assert!(!may_listen(&acls, &other), "{permission:?} also reaches {other}");
        }
        assert!(
            !acls.iter().any(|a| a.acl_type == AclType::PublishClientSend),
            "{permission:?}"
        );
        // Another org's topics stay out of reach.
        let foreign = own.replacen(&format!("steward/{ORG}/"), "steward/8/", 1);
        assert!(!may_listen(&acls, &foreign), "{permission:?} reaches {foreign}");
    }
}

#[test]
fn call_rights_publish_requests_and_hear_only_their_own_replies() {
    let acls = compile(
        ORG,
        set(&[Permission::CommandsRpcCall]),
        &AclScope::Org,
        "stw_abc",
    );
    let request = topic(ORG, Topic::RpcRequest(Id::One(3)));
    assert!(allows(&acls, AclType::PublishClientSend, &request));
    assert!(!may_listen(&acls, &request), "calling is not listening");
    assert!(may_listen(
        &acls,
        &topic(ORG, Topic::RpcResponse(Id::One(3), "stw_abc"))
    ));
    assert!(!may_listen(
        &acls,
        &topic(ORG, Topic::RpcResponse(Id::One(3), "stw_other"))
    ));

    let acls = compile(ORG, set(&[Permission::CommandsQueueCall]), &AclScope::Org, "k");
    assert_eq!(
        acls,
        vec![AclEntry {
            acl_type: AclType::PublishClientSend,
            topic: topic(ORG, Topic::Queue(Id::Any)),
        }]
    );
}

#[test]
fn a_scoped_key_reaches_only_its_subtrees_devices_and_nodes() {
    let scope = AclScope::Within {
        devices: vec![3, 9],
        nodes: vec![2],
    };
    let perms = set(&[
        Permission::TelemetryListen,
        Permission::HierarchyGroupListen,
        Permission::AlertsListen,
        Permission::LogicalGroupListen,
        Permission::CommandsRpcCall,
    ]);
    let acls = compile(ORG, perms, &scope, "k");
    assert!(may_listen(&acls, &topic(ORG, Topic::Telemetry(Id::One(9)))));
    assert!(!may_listen(&acls, &topic(ORG, Topic::Telemetry(Id::One(4)))));
    assert!(may_listen(&acls, &topic(ORG, Topic::HierarchyGroup(Id::One(2)))));
    assert!(!may_listen(&acls, &topic(ORG, Topic::HierarchyGroup(Id::One(1)))));
    assert!(allows(
        &acls,
        AclType::PublishClientSend,
        &topic(ORG, Topic::RpcRequest(Id::One(3)))
    ));
    assert!(!allows(
        &acls,
        AclType::PublishClientSend,
        &topic(ORG, Topic::RpcRequest(Id::One(4)))
    ));
    // Org-wide topics need an unscoped key.
    assert!(!may_listen(&acls, &topic(ORG, Topic::Alerts(Id::One(5)))));
    assert!(!may_listen(&acls, &topic(ORG, Topic::LogicalGroup(Id::One(4)))));
    // An empty subtree reaches nothing.
    let empty = AclScope::Within {
        devices: vec![],
        nodes: vec![],
    };
    assert!(compile(ORG, perms, &empty, "k").is_empty());
}

#[test]
fn compilation_is_sorted_without_duplicates_and_deterministic() {
    let all: PermSet = Permission::ALL.iter().copied().collect();
    let a = compile(ORG, all, &AclScope::Org, "k");
    let b = compile(ORG, all, &AclScope::Org, "k");
    assert_eq!(a, b);
    assert!(a.windows(2).all(|w| w[0] < w[1]), "{a:?}");
}

#[test]
fn a_device_publishes_its_own_data_and_hears_only_its_own_commands() {
    let acls = compile_device(ORG, 3);
    for own in [Topic::Telemetry(Id::One(3)), Topic::Presence(Id::One(3))] {
        assert!(allows(&acls, AclType::PublishClientSend, &topic(ORG, own)));
    }
    assert!(allows(
        &acls,
        AclType::PublishClientSend,
        &topic(ORG, Topic::RpcResponse(Id::One(3), "stw_abc"))
    ));
    assert!(may_listen(&acls, &topic(ORG, Topic::RpcRequest(Id::One(3)))));
    assert!(may_listen(&acls, &topic(ORG, Topic::Queue(Id::One(3)))));
    // Not another device's.
    for t in [Topic::Telemetry(Id::One(4)), Topic::Presence(Id::One(4))] {
        assert!(!allows(&acls, AclType::PublishClientSend, &topic(ORG, t)));
    }
    assert!(!may_listen(&acls, &topic(ORG, Topic::RpcRequest(Id::One(4)))));
    assert!(
        !may_listen(&acls, &topic(ORG, Topic::Telemetry(Id::One(3)))),
        "a device does not listen"
    );
}

#[test]
fn the_layout_parses_back_and_names_cannot_widen_a_topic() {
    for t in every_topic() {
        assert!(parse(ORG, &t).is_some(), "{t}");
        assert!(parse(ORG + 1, &t).is_none(), "{t}");
    }
    assert_eq!(
        parse(ORG, &topic(ORG, Topic::Presence(Id::One(12)))),
        Some(Parsed::Presence(12))
    );
    assert_eq!(
        parse(ORG, &topic(ORG, Topic::RpcResponse(Id::One(3), "stw_a"))),
        Some(Parsed::RpcResponse(3, "stw_a".to_owned()))
    );
    assert_eq!(parse(ORG, "steward/7/devices/x/telemetry"), None);
    assert_eq!(parse(ORG, "steward/7/devices/3/telemetry/extra"), None);
    assert_eq!(topic_level("a/#+b"), "a___b");
    assert_eq!(topic_level(""), "_");
    let sneaky = topic(ORG, Topic::RpcResponse(Id::One(3), "#"));
    assert!(!sneaky.contains('#'), "{sneaky}");
    assert!(filter_matches("a/+/c", "a/b/c"));
    assert!(filter_matches("a/#", "a"));
    assert!(filter_matches("a/#", "a/b/c"));
    assert!(!filter_matches("a/+", "a/b/c"));
    assert!(!filter_matches("a/b", "a/b/c"));
}
