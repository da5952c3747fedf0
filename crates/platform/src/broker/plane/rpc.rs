//! RPC to devices (`POST /devices/{id}/rpc`): stewardd publishes the request on the device's
//! `rpc/request` topic with an MQTT 5 response topic (its own `rpc/response/steward-platform`)
//! and correlation data, and waits for the reply carrying the same correlation data.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::v5::AsyncClient;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Publish, PublishProperties};
use serde_json::{Value, json};
use steward_model::topics::{Id, Topic, topic};
use tokio::sync::oneshot;

use super::USERNAME;
use crate::broker::unavailable;
use crate::error::{ApiError, ApiResult};

/// Every org's replies addressed to stewardd.
pub const RESPONSES: &str = "steward/+/devices/+/rpc/response/steward-platform";

/// Calls in flight, by correlation data.
pub struct Rpc {
    client: AsyncClient,
    pending: Mutex<HashMap<Vec<u8>, oneshot::Sender<Value>>>,
    next: AtomicU64,
}

impl Rpc {
    pub fn new(client: AsyncClient) -> Rpc {
        Rpc {
            client,
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }

    fn pending(&self) -> ApiResult<std::sync::MutexGuard<'_, HashMap<Vec<u8>, oneshot::Sender<Value>>>> {
        self.pending
            .lock()
            .map_err(|_| ApiError::Internal("rpc calls poisoned".to_owned()))
    }

    /// Sends `method(params)` to the device and waits up to `timeout` for its reply; `Ok(None)`
    /// when none came in time.
    pub async fn call(
        &self,
        org: i64,
        device: u32,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> ApiResult<Option<Value>> {
        // Unique within this process; a reply to an earlier process's call finds no waiter.
        let correlation = format!(
            "{}-{}",
            std::process::id(),
            self.next.fetch_add(1, Ordering::Relaxed)
        )
        .into_bytes();
        let (tx, rx) = oneshot::channel();
        self.pending()?.insert(correlation.clone(), tx);
        let properties = PublishProperties {
            response_topic: Some(topic(org, Topic::RpcResponse(Id::One(device), USERNAME))),
            correlation_data: Some(correlation.clone().into()),
            ..Default::default()
        };
        let request = json!({ "method": method, "params": params }).to_string();
        let sent = self
            .client
            .publish_with_properties(
                topic(org, Topic::RpcRequest(Id::One(device))),
                QoS::AtLeastOnce,
                false,
                request,
                properties,
            )
            .await;
        let answer = match sent {
            Ok(()) => tokio::time::timeout(timeout, rx).await.ok().and_then(Result::ok),
            Err(e) => {
                self.pending()?.remove(&correlation);
                return Err(unavailable(format!("cannot send the request to the broker: {e}")));
            }
        };
        self.pending()?.remove(&correlation);
        Ok(answer)
    }

    /// A message on a response topic: hands it to the call waiting for its correlation data.
    pub fn answered(&self, p: &Publish) {
        let Some(correlation) = p
            .properties
            .as_ref()
            .and_then(|props| props.correlation_data.clone())
        else {
            return;
        };
        let waiter = self
            .pending()
            .ok()
            .and_then(|mut m| m.remove(correlation.as_ref()));
        if let Some(tx) = waiter {
            let reply = serde_json::from_slice(&p.payload)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&p.payload).into_owned()));
            let _ = tx.send(reply);
        }
    }
}
