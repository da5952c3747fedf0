//! `BrokerControl` for Mosquitto's dynamic-security plugin: JSON commands published on
//! `$CONTROL/dynamic-security/v1`, answers read from its `/response` topic and matched to the
//! request by `correlationData`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use steward_model::acl::AclEntry;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::{BrokerControl, BrokerFuture, OwnClient, unavailable};
use crate::error::ApiResult;

const REQUEST: &str = "$CONTROL/dynamic-security/v1";
const RESPONSE: &str = "$CONTROL/dynamic-security/v1/response";
/// How long one batch of commands may take before the call fails with `broker_unavailable`.
const TIMEOUT: Duration = Duration::from_secs(5);

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// One command's answer: its `data` (or Null), or the plugin's error text.
type Answer = Result<Value, String>;

pub struct DynsecClient {
    client: AsyncClient,
    pending: Pending,
    /// True while subscribed to the response topic: a request sent before that would lose its answer.
    ready: watch::Receiver<bool>,
    next: AtomicU64,
    session: String,
    task: JoinHandle<()>,
}

impl Drop for DynsecClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DynsecClient {
    /// Connects in the background (and reconnects whenever the connection drops).
    pub fn connect(host: &str, port: u16, username: &str, password: &str) -> DynsecClient {
        let next = AtomicU64::new(1);
        let session = format!(
            "stewardd-dynsec-{}-{}",
            std::process::id(),
            crate::auth::secrets::random_bytes::<4>()
                .map(hex::encode)
                .unwrap_or_default()
        );
        let mut options = MqttOptions::new(session.clone(), host, port);
        options.set_credentials(username, password);
        options.set_keep_alive(Duration::from_secs(10));
        options.set_clean_session(true);
        // Listing answers can be large.
        options.set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        eventloop.set_network_options(super::low_latency());
        let pending: Pending = Arc::default();
        let (ready_tx, ready) = watch::channel(false);
        let task = tokio::spawn(run(eventloop, client.clone(), pending.clone(), ready_tx));
        DynsecClient {
            client,
            pending,
            ready,
            next,
            session,
            task,
        }
    }

    /// Waits until the control connection is up and subscribed.
    pub async fn wait_ready(&self, within: Duration) -> ApiResult<()> {
        let mut ready = self.ready.clone();
        tokio::time::timeout(within, ready.wait_for(|r| *r))
            .await
            .map_err(|_| unavailable("the broker did not accept the control connection in time"))?
            .map_err(|_| unavailable("the broker control task stopped"))?;
        Ok(())
    }

    /// Sends `commands` in one message and returns each one's answer, in order.
    pub async fn execute(&self, commands: Vec<Value>) -> ApiResult<Vec<Answer>> {
        self.wait_ready(TIMEOUT).await?;
        // Mosquitto 2.0 rewrites its whole dynsec file after each change, so a batch of many
        // commands against thousands of clients takes seconds: allow time per command.
        let per_command = u64::try_from(commands.len())
            .unwrap_or(u64::MAX)
            .saturating_mul(40);
        let limit = TIMEOUT.saturating_add(Duration::from_millis(per_command));
        let mut waits = Vec::with_capacity(commands.len());
        let mut batch = Vec::with_capacity(commands.len());
        for mut command in commands {
            let id = format!("{}-{}", self.session, self.next.fetch_add(1, Ordering::Relaxed));
            let (tx, rx) = oneshot::channel();
            self.pending
                .lock()
                .map_err(|_| unavailable("broker control state poisoned"))?
                .insert(id.clone(), tx);
            if let Some(obj) = command.as_object_mut() {
                obj.insert("correlationData".into(), Value::String(id.clone()));
            }
            batch.push(command);
            waits.push((id, rx));
        }
        let payload = json!({ "commands": batch }).to_string();
        let result = async {
            self.client
                .publish(REQUEST, QoS::AtLeastOnce, false, payload)
                .await
                .map_err(|e| unavailable(format!("cannot send to the broker: {e}")))?;
            let mut answers = Vec::with_capacity(waits.len());
            for (_, rx) in &mut waits {
                let response = tokio::time::timeout(limit, rx)
                    .await
                    .map_err(|_| unavailable("the broker did not answer in time"))?
                    .map_err(|_| unavailable("the broker control connection closed"))?;
                answers.push(match response.get("error").and_then(Value::as_str) {
                    Some(error) => Err(error.to_owned()),
                    None => Ok(response.get("data").cloned().unwrap_or(Value::Null)),
                });
            }
            Ok(answers)
        }
        .await;
        if result.is_err() {
            if let Ok(mut pending) = self.pending.lock() {
                for (id, _) in &waits {
                    pending.remove(id);
                }
            }
        }
        result
    }

    /// One command that must succeed, or whose error `tolerated` accepts (then `Ok(false)`).
    async fn one(&self, command: Value, tolerated: &[&str]) -> ApiResult<bool> {
        let name = command
            .get("command")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let answer = self
            .execute(vec![command])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| unavailable("the broker sent no answer"))?;
        match answer {
            Ok(_) => Ok(true),
            Err(e) if tolerated.contains(&e.as_str()) => Ok(false),
            Err(e) => Err(unavailable(format!("the broker refused {name}: {e}"))),
        }
    }
}

/// Commands per control message. Mosquitto rewrites its whole dynsec file after each message,
/// so batching is what keeps 10,000 devices from costing 10,000 rewrites; 500 keeps a message
/// (and its answer) well under the packet limits.
const BATCH: usize = 500;

/// Each answer's data, or `broker_unavailable` naming the first refusal.
fn all_answers(answers: Vec<Answer>) -> ApiResult<Vec<Value>> {
    answers
        .into_iter()
        .map(|a| a.map_err(|e| unavailable(format!("the broker refused a command: {e}"))))
        .collect()
}

/// Ok unless a command failed with an error `tolerated` does not list.
fn all_ok(answers: Vec<Answer>, tolerated: &[&str]) -> ApiResult<()> {
    all_answers(
        answers
            .into_iter()
            .map(|a| match a {
                Err(e) if tolerated.contains(&e.as_str()) => Ok(Value::Null),
                other => other,
            })
            .collect(),
    )
    .map(|_| ())
}

fn roles_json(roles: &[String]) -> Value {
    Value::Array(roles.iter().map(|r| json!({ "rolename": r })).collect())
}

fn acls_json(acls: &[AclEntry]) -> Value {
    Value::Array(
        acls.iter()
            .map(|a| json!({ "acltype": a.acl_type.as_str(), "topic": a.topic, "allow": true }))
            .collect(),
    )
}

impl BrokerControl for DynsecClient {
    fn create_client<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
        roles: &'a [String],
    ) -> BrokerFuture<'a, bool> {
        Box::pin(self.one(
            json!({ "command": "createClient", "username": username, "password": password, "roles": roles_json(roles) }),
            &["Client already exists"],
        ))
    }

    fn set_client_roles<'a>(&'a self, username: &'a str, roles: &'a [String]) -> BrokerFuture<'a, ()> {
        Box::pin(async move {
            self.one(
                json!({ "command": "modifyClient", "username": username, "roles": roles_json(roles) }),
                &[],
            )
            .await
            .map(|_| ())
        })
    }

    fn delete_client<'a>(&'a self, username: &'a str) -> BrokerFuture<'a, ()> {
        Box::pin(async move {
            self.one(
                json!({ "command": "deleteClient", "username": username }),
                &["Client not found"],
            )
            .await
            .map(|_| ())
        })
    }

    fn set_client_enabled<'a>(&'a self, username: &'a str, enabled: bool) -> BrokerFuture<'a, ()> {
        let command = if enabled { "enableClient" } else { "disableClient" };
        Box::pin(async move {
            self.one(json!({ "command": command, "username": username }), &[])
                .await
                .map(|_| ())
        })
    }

    fn put_role<'a>(&'a self, rolename: &'a str, acls: &'a [AclEntry]) -> BrokerFuture<'a, ()> {
        Box::pin(async move {
            // modifyRole (not remove/add ACL) so holders keep their connections and see the new
            // ACLs at once (measured on 2.0.11, BASELINES.md).
            let answers = self
                .execute(vec![
                    json!({ "command": "createRole", "rolename": rolename }),
                    json!({ "command": "modifyRole", "rolename": rolename, "acls": acls_json(acls) }),
                ])
                .await?;
            for answer in answers {
                match answer {
                    Ok(_) => {}
                    Err(e) if e == "Role already exists" => {}
                    Err(e) => return Err(unavailable(format!("the broker refused a role change: {e}"))),
                }
            }
            Ok(())
        })
    }

    fn put_own_clients<'a>(&'a self, clients: &'a [OwnClient]) -> BrokerFuture<'a, ()> {
        Box::pin(async move {
            for chunk in clients.chunks(BATCH / 2) {
                let mut commands = Vec::with_capacity(chunk.len() * 2);
                for c in chunk {
                    commands.push(json!({ "command": "createRole", "rolename": c.username, "acls": acls_json(&c.acls) }));
                    commands.push(json!({ "command": "createClient", "username": c.username, "password": c.password, "roles": roles_json(std::slice::from_ref(&c.username)) }));
                }
                let answers = self.execute(commands).await?;
                // Leftovers of the same name (a retry, or a broker that kept what the store lost)
                // are replaced, in one more message.
                let mut again = Vec::new();
                for (c, pair) in chunk.iter().zip(answers.chunks(2)) {
                    for answer in pair {
                        match answer {
                            Ok(_) => {}
                            Err(e) if e == "Role already exists" => again.push(
                                json!({ "command": "modifyRole", "rolename": c.username, "acls": acls_json(&c.acls) }),
                            ),
                            Err(e) if e == "Client already exists" => {
                                again.push(json!({ "command": "deleteClient", "username": c.username }));
                                again.push(json!({ "command": "createClient", "username": c.username, "password": c.password, "roles": roles_json(std::slice::from_ref(&c.username)) }));
                            }
                            Err(e) => {
                                return Err(unavailable(format!("the broker refused a device client: {e}")));
                            }
                        }
                    }
                }
                if !again.is_empty() {
                    all_ok(self.execute(again).await?, &[])?;
                }
            }
            Ok(())
        })
    }

    fn delete_own_clients<'a>(&'a self, usernames: &'a [String]) -> BrokerFuture<'a, ()> {
        Box::pin(async move {
            for chunk in usernames.chunks(BATCH / 2) {
                let mut commands = Vec::with_capacity(chunk.len() * 2);
                for name in chunk {
                    commands.push(json!({ "command": "deleteClient", "username": name }));
                    commands.push(json!({ "command": "deleteRole", "rolename": name }));
                }
                all_ok(
                    self.execute(commands).await?,
                    &["Client not found", "Role not found"],
                )?;
            }
            Ok(())
        })
    }

    fn set_client_password<'a>(&'a self, username: &'a str, password: &'a str) -> BrokerFuture<'a, ()> {
        Box::pin(async move {
            // setClientPassword leaves a live connection up; disabling drops it (and refuses
            // reconnects until enabled again, in the same message).
            let answers = self
                .execute(vec![
                    json!({ "command": "setClientPassword", "username": username, "password": password }),
                    json!({ "command": "disableClient", "username": username }),
                    json!({ "command": "enableClient", "username": username }),
                ])
                .await?;
            all_ok(answers, &[])
        })
    }

    fn client_names(&self) -> BrokerFuture<'_, Vec<String>> {
        Box::pin(async move {
            let answers = self.execute(vec![json!({ "command": "listClients" })]).await?;
            let mut names = Vec::new();
            for data in all_answers(answers)? {
                let clients = data
                    .get("clients")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                names.extend(clients.iter().filter_map(|c| c.as_str().map(str::to_owned)));
            }
            Ok(names)
        })
    }

    fn deny_by_default(&self) -> BrokerFuture<'_, ()> {
        let acls: Vec<Value> = [
            "publishClientSend",
            "publishClientReceive",
            "subscribe",
            "unsubscribe",
        ]
        .iter()
        .map(|t| json!({ "acltype": t, "allow": false }))
        .collect();
        Box::pin(async move {
            self.one(json!({ "command": "setDefaultACLAccess", "acls": acls }), &[])
                .await
                .map(|_| ())
        })
    }
}

/// Drives the connection: (re)subscribes on every connect, routes answers to their waiters.
async fn run(mut eventloop: EventLoop, client: AsyncClient, pending: Pending, ready: watch::Sender<bool>) {
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Err(e) = client.try_subscribe(RESPONSE, QoS::AtLeastOnce) {
                    tracing::warn!(error = %e, "broker control: cannot subscribe");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                let _ = ready.send(true);
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == RESPONSE => {
                let Ok(body) = serde_json::from_slice::<Value>(&p.payload) else {
                    continue;
                };
                let responses = body
                    .get("responses")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let Ok(mut waiting) = pending.lock() else {
                    return;
                };
                for response in responses {
                    let id = response.get("correlationData").and_then(Value::as_str);
                    if let Some(tx) = id.and_then(|id| waiting.remove(id)) {
                        let _ = tx.send(response);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                let _ = ready.send(false);
                tracing::debug!(error = %e, "broker control connection down; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
