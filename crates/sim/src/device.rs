//! One simulated device: an MQTT 5 connection and its behaviour, in one task.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet, Publish, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use serde_json::{Value, json};
use steward_model::topics::{Id, Topic, topic};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::KillMode;

/// What the coordinator tells a device.
#[derive(Clone, Copy, Debug)]
pub enum Control {
    Kill(KillMode),
    /// Drop the connection abruptly and come back a moment later.
    Flap,
}

pub struct Sim {
    pub org: i64,
    pub id: i64,
    pub username: String,
    pub password: String,
    pub host: String,
    pub port: u16,
    pub keepalive: Duration,
    pub telemetry: Duration,
    pub seed: u64,
}

/// `mqtt://host:port` → (host, port).
pub fn broker_address(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| format!("--mqtt must be mqtt://host:port, not {url}"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("--mqtt needs a port: {url}"))?;
    let port = port
        .parse()
        .map_err(|_| format!("--mqtt port is not a number: {url}"))?;
    Ok((host.to_owned(), port))
}

/// A small xorshift generator: readings and choices need variety, not security.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Sim {
    fn device_id(&self) -> Id {
        Id::One(u32::try_from(self.id).unwrap_or(u32::MAX))
    }

    fn topic(&self, t: fn(Id) -> Topic<'static>) -> String {
        topic(self.org, t(self.device_id()))
    }

    fn options(&self) -> MqttOptions {
        let mut o = MqttOptions::new(self.username.clone(), self.host.clone(), self.port);
        o.set_credentials(self.username.clone(), self.password.clone());
        o.set_keep_alive(self.keepalive);
        o.set_clean_start(true);
        // rumqttc sizes a table by this bound (65,535 by default: ~13 MB per connection).
        o.set_outgoing_inflight_upper_limit(16);
        o.set_last_will(LastWill::new(
            self.topic(Topic::Presence),
            "offline",
            QoS::AtLeastOnce,
            true,
            None,
        ));
        o
    }

    /// The retained `online`, announcing the keepalive so stewardd can tell silence from life.
    fn announce(&self, client: &AsyncClient) {
        let props = PublishProperties {
            user_properties: vec![("keepalive".to_owned(), self.keepalive.as_secs().to_string())],
            ..Default::default()
        };
        let _ = client.try_publish_with_properties(
            self.topic(Topic::Presence),
            QoS::AtLeastOnce,
            true,
            "online",
            props,
        );
    }
}

/// How a connection's life ended.
enum End {
    /// The coordinator's stop: said `offline` and disconnected.
    Stopped,
    Killed(KillMode, Box<EventLoop>),
    Flap,
    /// The connection failed (refused, dropped): try again.
    Lost,
}

/// Runs the device until it is stopped (or killed: then it holds or drops its socket forever).
pub async fn run(
    sim: Sim,
    mut control: mpsc::UnboundedReceiver<Control>,
    online: Arc<AtomicUsize>,
    changed: watch::Sender<()>,
    mut stop: watch::Receiver<bool>,
    connecting: Arc<Semaphore>,
) {
    let mut rng = Rng::new(sim.seed);
    loop {
        let permit = connecting.clone().acquire_owned().await.ok();
        let (client, eventloop) = AsyncClient::new(sim.options(), 32);
        let end = connection(
            &sim,
            client,
            eventloop,
            &mut control,
            &online,
            &changed,
            &mut stop,
            permit,
            &mut rng,
        )
        .await;
        match end {
            End::Stopped => return,
            End::Killed(KillMode::Silent, eventloop) => {
                // Power cut: the socket stays open, nothing is ever sent or read again.
                let _held = eventloop;
                let _ = stop.wait_for(|s| *s).await;
                return;
            }
            End::Killed(KillMode::Close, eventloop) => {
                drop(eventloop);
                let _ = stop.wait_for(|s| *s).await;
                return;
            }
            End::Flap => {
                let back = Duration::from_millis(500 + rng.next() % 2500);
                tokio::time::sleep(back).await;
            }
            End::Lost => {
                tokio::time::sleep(Duration::from_millis(500 + rng.next() % 1000)).await;
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    sim: &Sim,
    client: AsyncClient,
    mut eventloop: EventLoop,
    control: &mut mpsc::UnboundedReceiver<Control>,
    online: &AtomicUsize,
    changed: &watch::Sender<()>,
    stop: &mut watch::Receiver<bool>,
    mut permit: Option<tokio::sync::OwnedSemaphorePermit>,
    rng: &mut Rng,
) -> End {
    let mut up = false;
    let mark = |up: &mut bool, now: bool| {
        if *up != now {
            *up = now;
            if now {
                online.fetch_add(1, Ordering::SeqCst);
            } else {
                online.fetch_sub(1, Ordering::SeqCst);
            }
            let _ = changed.send(());
        }
    };
    // Something is published at least every keepalive/2 (stewardd's liveness contract is once
    // per keepalive): telemetry, or `online` again when telemetry is slower.
    let heartbeat_every = (sim.keepalive / 2).max(Duration::from_millis(500));
    let mut heartbeat = tokio::time::interval(heartbeat_every);
    let mut telemetry = tokio::time::interval(sim.telemetry);
    // Spread the first readings over the period so a thousand devices do not publish in step.
    telemetry.reset_after(Duration::from_millis(
        rng.next() % sim.telemetry.as_millis().max(1) as u64,
    ));
    heartbeat.reset_after(heartbeat_every);
    let end = loop {
        tokio::select! {
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    permit = None;
                    let _ = client.try_subscribe(sim.topic(Topic::RpcRequest), QoS::AtLeastOnce);
                    let _ = client.try_subscribe(sim.topic(Topic::Queue), QoS::AtLeastOnce);
                    sim.announce(&client);
                    mark(&mut up, true);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => on_publish(sim, &client, &p),
                Ok(_) => {}
                Err(e) => {
                    if up {
                        eprintln!("steward-sim: device {} lost its connection: {e}", sim.id);
                    }
                    break End::Lost;
                }
            },
            _ = heartbeat.tick(), if up => sim.announce(&client),
            _ = telemetry.tick(), if up => {
                let reading = json!({
                    "temp": (200.0 + rng.unit() * 600.0).round() / 10.0,
                    "pressure": (100.0 + rng.unit() * 400.0).round() / 100.0,
                });
                let _ = client.try_publish(sim.topic(Topic::Telemetry), QoS::AtMostOnce, false, reading.to_string());
            }
            c = control.recv() => match c {
                Some(Control::Kill(mode)) => {
                    mark(&mut up, false);
                    return End::Killed(mode, Box::new(eventloop));
                }
                Some(Control::Flap) => break End::Flap,
                None => {}
            },
            _ = stop.changed() => {
                if *stop.borrow() {
                    // A clean DISCONNECT fires no Will: say `offline` first.
                    let _ = client.try_publish(sim.topic(Topic::Presence), QoS::AtLeastOnce, true, "offline");
                    let _ = client.try_disconnect();
                    let flush = async {
                        while let Ok(e) = eventloop.poll().await {
                            if matches!(e, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                                break;
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(2), flush).await;
                    break End::Stopped;
                }
            }
        }
    };
    drop(permit);
    mark(&mut up, false);
    end
}

/// RPC requests get their answer on the MQTT 5 response topic with the correlation data;
/// queued commands are logged.
fn on_publish(sim: &Sim, client: &AsyncClient, p: &Publish) {
    let topic = String::from_utf8_lossy(&p.topic);
    if topic == sim.topic(Topic::Queue) {
        eprintln!(
            "steward-sim: device {} received a queued command: {}",
            sim.id,
            String::from_utf8_lossy(&p.payload)
        );
        return;
    }
    if topic != sim.topic(Topic::RpcRequest) {
        return;
    }
    let Some(props) = p.properties.as_ref() else {
        return;
    };
    let Some(response_topic) = props.response_topic.clone() else {
        return;
    };
    let request: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let reply = match request.get("method").and_then(Value::as_str) {
        Some("ping") => json!({ "pong": true }),
        Some("echo") => params,
        Some(other) => json!({ "error": format!("unknown method {other}") }),
        None => json!({ "error": "no method" }),
    };
    let out = PublishProperties {
        correlation_data: props.correlation_data.clone(),
        ..Default::default()
    };
    let _ =
        client.try_publish_with_properties(response_topic, QoS::AtLeastOnce, false, reply.to_string(), out);
}
