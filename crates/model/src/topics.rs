//! The MQTT topic layout, written once: every topic an org's devices, keys and sessions use lives
//! under `steward/{org}/`. stewardd publishes and subscribes with these, steward-sim connects
//! with them, and the broker ACLs are compiled from them (`acl.rs`).
//!
//! ```text
//! steward/{org}/devices/{device}/telemetry               device → listeners (telemetry.listen)
//! steward/{org}/devices/{device}/presence                device (retained online, Will offline) → presence.listen
//! steward/{org}/devices/{device}/rpc/request             callers (commands.rpc.call) → device; commands.rpc.listen watches
//! steward/{org}/devices/{device}/rpc/response/{caller}   device → the caller that asked (MQTT 5 response topic)
//! steward/{org}/devices/{device}/queue                   stewardd delivers queued commands → device
//! steward/{org}/alerts/{rule}                            stewardd → alerts.listen
//! steward/{org}/groups/logical/{group}                   stewardd → logical_group.listen
//! steward/{org}/groups/hierarchy/{node}                  stewardd → hierarchy_group.listen
//! ```
//!
//! Ids are the platform's numeric ids, so no name can inject `+`, `#` or `/` into a topic.

/// Where a topic ends, within one org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic<'a> {
    Telemetry(Id),
    Presence(Id),
    RpcRequest(Id),
    /// The reply to `caller` (an MQTT username) from a device.
    RpcResponse(Id, &'a str),
    /// The replies to every caller (what a device may publish).
    RpcResponses(Id),
    Queue(Id),
    Alerts(Id),
    LogicalGroup(Id),
    HierarchyGroup(Id),
}

/// One id in a topic: a particular device, group, node or rule, or every one (`+`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Id {
    One(u32),
    Any,
}

impl Id {
    fn render(self) -> String {
        match self {
            Id::One(id) => id.to_string(),
            Id::Any => "+".to_owned(),
        }
    }
}

/// The root of an org's topics.
pub fn org_root(org: i64) -> String {
    format!("steward/{org}")
}

/// The topic (or, with `Id::Any`, the subscription filter) for `topic` in `org`.
pub fn topic(org: i64, topic: Topic<'_>) -> String {
    let root = org_root(org);
    match topic {
        Topic::Telemetry(d) => format!("{root}/devices/{}/telemetry", d.render()),
        Topic::Presence(d) => format!("{root}/devices/{}/presence", d.render()),
        Topic::RpcRequest(d) => format!("{root}/devices/{}/rpc/request", d.render()),
        Topic::RpcResponse(d, caller) => {
            format!(
                "{root}/devices/{}/rpc/response/{}",
                d.render(),
                topic_level(caller)
            )
        }
        Topic::RpcResponses(d) => format!("{root}/devices/{}/rpc/response/+", d.render()),
        Topic::Queue(d) => format!("{root}/devices/{}/queue", d.render()),
        Topic::Alerts(r) => format!("{root}/alerts/{}", r.render()),
        Topic::LogicalGroup(g) => format!("{root}/groups/logical/{}", g.render()),
        Topic::HierarchyGroup(n) => format!("{root}/groups/hierarchy/{}", n.render()),
    }
}

/// A caller name as one topic level: wildcards and separators become `_`, so an MQTT username
/// can never widen a filter or reach another level.
pub fn topic_level(name: &str) -> String {
    let level: String = name
        .chars()
        .map(|c| match c {
            '+' | '#' | '/' | '\0' => '_',
            c => c,
        })
        .collect();
    if level.is_empty() { "_".to_owned() } else { level }
}

/// What a topic is, parsed back (stewardd reads presence and telemetry from wildcard
/// subscriptions). `None` for anything outside `org`'s layout.
pub fn parse(org: i64, topic: &str) -> Option<Parsed> {
    let rest = topic.strip_prefix(&org_root(org))?.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    let id = |s: &str| s.parse::<u32>().ok();
    match parts.as_slice() {
        ["devices", d, "telemetry"] => Some(Parsed::Telemetry(id(d)?)),
        ["devices", d, "presence"] => Some(Parsed::Presence(id(d)?)),
        ["devices", d, "rpc", "request"] => Some(Parsed::RpcRequest(id(d)?)),
        ["devices", d, "rpc", "response", caller] => Some(Parsed::RpcResponse(id(d)?, (*caller).to_owned())),
        ["devices", d, "queue"] => Some(Parsed::Queue(id(d)?)),
        ["alerts", r] => Some(Parsed::Alerts(id(r)?)),
        ["groups", "logical", g] => Some(Parsed::LogicalGroup(id(g)?)),
        ["groups", "hierarchy", n] => Some(Parsed::HierarchyGroup(id(n)?)),
        _ => None,
    }
}

/// A concrete topic of the layout, as `parse` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Telemetry(u32),
    Presence(u32),
    RpcRequest(u32),
    RpcResponse(u32, String),
    Queue(u32),
    Alerts(u32),
    LogicalGroup(u32),
    HierarchyGroup(u32),
}

/// Whether an MQTT topic filter (with `+` and `#`) matches a topic name.
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}
