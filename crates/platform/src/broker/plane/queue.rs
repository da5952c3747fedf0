//! Delivery of queued commands: when a device announces itself online (or a command is queued
//! while it is), its waiting commands are claimed and published on its queue topic, oldest
//! first. Devices subscribe to their queue topic before announcing `online`, so a command
//! published then reaches them. Delivery is at most once: a claimed command is not sent again.

use serde_json::json;
use steward_model::topics::{Id, Topic, topic};
use steward_wire::QueuedCommand;

use crate::error::ApiResult;
use crate::store::Store;

/// Delivers the device's waiting commands through `publish(topic, payload)`; returns them as
/// now stored (delivered).
pub fn deliver(
    store: &dyn Store,
    publish: impl Fn(String, Vec<u8>),
    now: i64,
    org: i64,
    device: i64,
) -> ApiResult<Vec<QueuedCommand>> {
    let Ok(device32) = u32::try_from(device) else {
        return Ok(Vec::new());
    };
    let claimed = store.claim_queued(org, device, now)?;
    let to = topic(org, Topic::Queue(Id::One(device32)));
    for c in &claimed {
        let payload = json!({
            "id": c.id,
            "command": c.command,
            "params": c.params,
            "queued_at": c.created_at,
        });
        publish(to.clone(), payload.to_string().into_bytes());
    }
    Ok(claimed)
}
