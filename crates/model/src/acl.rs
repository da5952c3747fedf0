//! Compiling permission sets to broker ACLs (Mosquitto's dynamic-security roles). The broker
//! itself then enforces what an API key, a console session or a device may publish and receive.
//!
//! Rules, from the IoT document and SPEC.md's broker notes:
//! - Only `listen` and `call` actions reach the broker. `list` and CRUD actions stay REST rights
//!   and never grant a subscription; a module missing from the set grants nothing.
//! - Every listen right becomes a subscribe ACL **and** a receive ACL: the broker's default ACL
//!   access is deny for all four types, so removing the receive ACL stops delivery to a live
//!   subscription at once, without the client reconnecting.
//! - A key scoped to hierarchy subtrees gets its device-plane rights per device and per node of
//!   those subtrees only; org-wide topics (alerts, logical groups) need an unscoped key.

use crate::catalog::{PermSet, Permission};
use crate::topics::{Id, Topic, topic};

/// Mosquitto dynsec ACL types; `as_str` is the name its control API takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AclType {
    PublishClientSend,
    PublishClientReceive,
    SubscribePattern,
}

impl AclType {
    pub const fn as_str(self) -> &'static str {
        match self {
            AclType::PublishClientSend => "publishClientSend",
            AclType::PublishClientReceive => "publishClientReceive",
            AclType::SubscribePattern => "subscribePattern",
        }
    }
}

/// One allow rule on one topic (or topic filter). Everything not allowed is denied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclEntry {
    pub acl_type: AclType,
    pub topic: String,
}

/// Which devices and nodes a key's device-plane rights reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AclScope {
    /// The whole org.
    Org,
    /// The devices and hierarchy nodes of the key's subtrees (already expanded by the caller,
    /// which knows where devices sit).
    Within { devices: Vec<u32>, nodes: Vec<u32> },
}

impl AclScope {
    fn ids(&self, pick: impl Fn(&Self) -> Option<&[u32]>) -> Vec<Id> {
        match pick(self) {
            None => vec![Id::Any],
            Some(ids) => ids.iter().copied().map(Id::One).collect(),
        }
    }

    fn devices(&self) -> Vec<Id> {
        self.ids(|s| match s {
            AclScope::Org => None,
            AclScope::Within { devices, .. } => Some(devices),
        })
    }

    fn nodes(&self) -> Vec<Id> {
        self.ids(|s| match s {
            AclScope::Org => None,
            AclScope::Within { nodes, .. } => Some(nodes),
        })
    }

    fn is_org(&self) -> bool {
        matches!(self, AclScope::Org)
    }
}

fn listen(out: &mut Vec<AclEntry>, filter: String) {
    out.push(AclEntry {
        acl_type: AclType::SubscribePattern,
        topic: filter.clone(),
    });
    out.push(AclEntry {
        acl_type: AclType::PublishClientReceive,
        topic: filter,
    });
}

fn send(out: &mut Vec<AclEntry>, topic: String) {
    out.push(AclEntry {
        acl_type: AclType::PublishClientSend,
        topic,
    });
}

/// The ACLs of a key or console session holding `permissions` in `org`, connecting as
/// `username`. Sorted and without duplicates, so equal inputs give equal roles.
pub fn compile(org: i64, permissions: PermSet, scope: &AclScope, username: &str) -> Vec<AclEntry> {
    let mut out = Vec::new();
    let devices = scope.devices();
    for p in permissions.iter() {
        match p {
            Permission::TelemetryListen => {
                for &d in &devices {
                    listen(&mut out, topic(org, Topic::Telemetry(d)));
                }
            }
            Permission::PresenceListen => {
                for &d in &devices {
                    listen(&mut out, topic(org, Topic::Presence(d)));
                }
            }
            Permission::CommandsRpcListen => {
                for &d in &devices {
                    listen(&mut out, topic(org, Topic::RpcRequest(d)));
                }
            }
            Permission::CommandsRpcCall => {
                for &d in &devices {
                    send(&mut out, topic(org, Topic::RpcRequest(d)));
                    // The device answers on the caller's own response topic.
                    listen(&mut out, topic(org, Topic::RpcResponse(d, username)));
                }
            }
            Permission::CommandsQueueCall => {
                for &d in &devices {
                    send(&mut out, topic(org, Topic::Queue(d)));
                }
            }
            Permission::HierarchyGroupListen => {
                for n in scope.nodes() {
                    listen(&mut out, topic(org, Topic::HierarchyGroup(n)));
                }
            }
            Permission::AlertsListen if scope.is_org() => {
                listen(&mut out, topic(org, Topic::Alerts(Id::Any)));
            }
            Permission::LogicalGroupListen if scope.is_org() => {
                listen(&mut out, topic(org, Topic::LogicalGroup(Id::Any)));
            }
            // Every other right is a REST right: it never reaches the broker.
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A device's own ACLs: it publishes its telemetry, presence (and Will) and RPC replies, and
/// receives only its own RPC requests and queued commands.
pub fn compile_device(org: i64, device: u32) -> Vec<AclEntry> {
    let d = Id::One(device);
    let mut out = Vec::new();
    send(&mut out, topic(org, Topic::Telemetry(d)));
    send(&mut out, topic(org, Topic::Presence(d)));
    send(&mut out, topic(org, Topic::RpcResponses(d)));
    listen(&mut out, topic(org, Topic::RpcRequest(d)));
    listen(&mut out, topic(org, Topic::Queue(d)));
    out.sort();
    out
}
