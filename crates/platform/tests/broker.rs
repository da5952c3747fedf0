//! The broker plane against the real Mosquitto (Debian's 2.0.11 with dynamic security): stewardd's
//! supervisor starts it on a free loopback port in a temp dir, every API key becomes a dynsec
//! client, and the broker itself enforces the key's listen rights and its revocation.

// Tests: a failed step is a failed test, so unwrapping, indexing JSON and panicking are the
// assertions themselves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode};
use serde_json::{Value, json};
use steward_platform::auth::secrets;
use tokio::sync::mpsc;

async fn start() -> Plane {
    common::start_plane().await
}

/// An MQTT connection whose every event (and its end) arrives on a channel.
struct Conn {
    client: AsyncClient,
    /// The broker resumed a stored session (CONNACK's session-present flag).
    session_present: bool,
    events: mpsc::UnboundedReceiver<Result<Event, String>>,
}

impl Plane {
    fn port(&self) -> u16 {
        self.broker.supervisor.as_ref().unwrap().port()
    }

    fn topic(&self, rest: &str) -> String {
        format!("steward/{}/{rest}", self.org)
    }

    /// Connects; Err is the broker's refusal (or any connection error), as text.
    async fn connect(&self, username: &str, password: &str) -> Result<Conn, String> {
        let id = format!("t-{username}-{}", rand_suffix());
        self.connect_as(&id, true, username, password).await
    }

    /// Connects with this client id and clean-session flag.
    async fn connect_as(
        &self,
        id: &str,
        clean: bool,
        username: &str,
        password: &str,
    ) -> Result<Conn, String> {
        let mut options = MqttOptions::new(id, "127.0.0.1", self.port());
        options.set_clean_session(clean);
        options.set_credentials(username, password);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(options, 16);
        let (tx, mut events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(e) => {
                        if tx.send(Ok(e)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // No reconnecting: the test sees the connection end.
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, events.recv()).await {
                Ok(Some(Ok(Event::Incoming(Packet::ConnAck(ack))))) => {
                    return Ok(Conn {
                        client,
                        session_present: ack.session_present,
                        events,
                    });
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(e),
                Ok(None) => return Err("event loop ended".into()),
                Err(_) => return Err("no CONNACK in time".into()),
            }
        }
    }

    async fn admin(&self) -> Conn {
        self.connect(&self.broker.admin_username, &self.broker.admin_password)
            .await
            .unwrap()
    }

    /// Creates a key with these permissions; returns (id, username, secret).
    async fn new_key(&self, name: &str, permissions: &[&str]) -> (i64, String, String) {
        let (status, body) = self
            .s
            .json(
                Method::POST,
                "/api-keys",
                &self.owner,
                Some(json!({ "name": name, "permissions": permissions })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let secret = body["secret"].as_str().unwrap().to_owned();
        let prefix = secrets::api_key_prefix(&secret).unwrap().to_owned();
        (body["id"].as_i64().unwrap(), format!("stw_{prefix}"), secret)
    }

    async fn key_action(&self, method: Method, path: &str) -> (u16, Value) {
        self.s.json(method, path, &self.owner, None).await
    }
}

fn rand_suffix() -> String {
    secrets::new_invite_token().unwrap()[4..12].to_owned()
}

impl Conn {
    /// Subscribes and returns the SUBACK's return codes.
    async fn subscribe(&mut self, filter: &str) -> Vec<SubscribeReasonCode> {
        self.client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.events.recv()).await {
                Ok(Some(Ok(Event::Incoming(Packet::SubAck(ack))))) => return ack.return_codes,
                Ok(Some(Ok(_))) => {}
                other => panic!("no SUBACK: {other:?}"),
            }
        }
    }

    async fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_owned())
            .await
            .unwrap();
    }

    /// The next message delivered within `within`, if any.
    async fn message(&mut self, within: Duration) -> Option<Publish> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Ok(Event::Incoming(Packet::Publish(p))))) => return Some(p),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("connection ended while waiting for a message: {e}"),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// How long until the connection ends, if it does within `within`.
    async fn dropped_within(&mut self, within: Duration) -> Option<Duration> {
        let start = Instant::now();
        loop {
            let left = within.saturating_sub(start.elapsed());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_))) | Ok(None) => return Some(start.elapsed()),
                Err(_) => return None,
            }
        }
    }
}

fn granted(codes: &[SubscribeReasonCode]) -> bool {
    codes.iter().all(|c| matches!(c, SubscribeReasonCode::Success(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_2_the_scada_key_connects_but_gets_nothing_on_device_topics() {
    let p = start().await;
    let secret = p.s.scada_key();
    let username = format!("stw_{}", secrets::api_key_prefix(&secret).unwrap());
    let mut scada = p.connect(&username, &secret).await.unwrap();
    for filter in [
        p.topic("devices/+/telemetry"),
        p.topic("devices/3/presence"),
        p.topic("alerts/+"),
        p.topic("#"),
        "#".to_owned(),
    ] {
        let codes = scada.subscribe(&filter).await;
        assert_eq!(codes, vec![SubscribeReasonCode::Failure], "{filter}");
    }
    // Nothing published on device topics reaches it, and what it publishes reaches nobody.
    let mut admin = p.admin().await;
    assert!(granted(&admin.subscribe(&p.topic("#")).await));
    admin.publish(&p.topic("devices/3/telemetry"), "{\"t\":1}").await;
    assert!(
        admin.message(Duration::from_secs(2)).await.is_some(),
        "the admin hears itself"
    );
    assert!(scada.message(Duration::from_millis(300)).await.is_none());
    scada
        .publish(&p.topic("devices/3/telemetry"), "{\"forged\":1}")
        .await;
    scada.publish(&p.topic("devices/3/rpc/request"), "{}").await;
    assert!(
        admin.message(Duration::from_millis(500)).await.is_none(),
        "the SCADA key published"
    );
    // A wrong password is refused.
    assert!(p.connect(&username, "stw_wrong").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_is_not_listen_and_telemetry_listen_receives_telemetry() {
    let p = start().await;
    let (_, lister, lister_secret) = p.new_key("alert lister", &["alerts.list"]).await;
    let mut c = p.connect(&lister, &lister_secret).await.unwrap();
    assert_eq!(
        c.subscribe(&p.topic("alerts/+")).await,
        vec![SubscribeReasonCode::Failure]
    );

    let (_, listener, secret) = p.new_key("telemetry", &["telemetry.listen"]).await;
    let mut c = p.connect(&listener, &secret).await.unwrap();
    assert!(granted(&c.subscribe(&p.topic("devices/+/telemetry")).await));
    // Telemetry yes, presence and alerts no.
    assert_eq!(
        c.subscribe(&p.topic("devices/+/presence")).await,
        vec![SubscribeReasonCode::Failure]
    );
    let admin = p.admin().await;
    admin
        .publish(&p.topic("devices/7/telemetry"), "{\"temp\":21.5}")
        .await;
    let m = c
        .message(Duration::from_secs(2))
        .await
        .expect("telemetry delivered");
    assert_eq!(m.topic, p.topic("devices/7/telemetry"));
    assert_eq!(&m.payload[..], b"{\"temp\":21.5}");
    // Another org's telemetry is out of reach.
    assert_eq!(
        c.subscribe(&format!("steward/{}/devices/+/telemetry", p.org + 1))
            .await,
        vec![SubscribeReasonCode::Failure]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_5_revoking_a_key_drops_its_connection_at_once_and_its_rest_calls_fail() {
    let p = start().await;
    let (id, username, secret) = p
        .new_key("compromised", &["telemetry.listen", "equipment.view"])
        .await;
    assert_eq!(p.s.json(Method::GET, "/equipment", &secret, None).await.0, 200);
    let mut c = p.connect(&username, &secret).await.unwrap();
    assert!(granted(&c.subscribe(&p.topic("devices/+/telemetry")).await));

    let (status, body) = p.key_action(Method::DELETE, &format!("/api-keys/{id}")).await;
    assert_eq!(status, 200, "{body}");
    let dropped = c.dropped_within(Duration::from_secs(1)).await;
    assert!(
        dropped.is_some(),
        "the revoked key's connection is still up after 1 s"
    );
    let status = p.s.json(Method::GET, "/equipment", &secret, None).await.0;
    assert!(status == 401 || status == 410, "{status}");
    assert!(
        p.connect(&username, &secret).await.is_err(),
        "a revoked key reconnected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_drops_the_connection_and_enable_lets_it_connect_again() {
    let p = start().await;
    let (id, username, secret) = p.new_key("toggled", &["telemetry.listen"]).await;
    let mut c = p.connect(&username, &secret).await.unwrap();
    let (status, body) = p
        .key_action(Method::POST, &format!("/api-keys/{id}/disable"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(c.dropped_within(Duration::from_secs(1)).await.is_some());
    assert!(
        p.connect(&username, &secret).await.is_err(),
        "a disabled key connected"
    );

    let (status, body) = p
        .key_action(Method::POST, &format!("/api-keys/{id}/enable"))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut c = p.connect(&username, &secret).await.unwrap();
    assert!(granted(&c.subscribe(&p.topic("devices/+/telemetry")).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_is_down_fails_key_writes_with_503_and_leaves_the_store_alone() {
    let mut p = start().await;
    let before = p.s.state.store.keys(p.org).unwrap().len();
    // Stop the broker for good (the supervisor would restart it).
    drop(p.broker.supervisor.take());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) =
        p.s.json(
            Method::POST,
            "/api-keys",
            &p.owner,
            Some(json!({ "name": "no broker", "permissions": ["telemetry.listen"] })),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "broker_unavailable");
    assert_eq!(p.s.state.store.keys(p.org).unwrap().len(), before);
}

/// Disable, edit, enable: a key's new permissions replace its role's ACLs.
async fn change_permissions(p: &Plane, id: i64, permissions: &[&str]) {
    let (status, body) = p
        .key_action(Method::POST, &format!("/api-keys/{id}/disable"))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        p.s.json(
            Method::PUT,
            &format!("/api-keys/{id}/permissions"),
            &p.owner,
            Some(json!({ "permissions": permissions })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = p
        .key_action(Method::POST, &format!("/api-keys/{id}/enable"))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_reaches_a_live_connection_without_a_reconnect() {
    let p = start().await;
    let (_, username, secret) = p.new_key("live", &["telemetry.listen"]).await;
    let mut c = p.connect(&username, &secret).await.unwrap();
    assert!(granted(&c.subscribe(&p.topic("devices/+/telemetry")).await));
    let admin = p.admin().await;
    let topic = p.topic("devices/1/telemetry");
    admin.publish(&topic, "1").await;
    assert!(c.message(Duration::from_secs(2)).await.is_some());

    // The role loses telemetry (what a permission edit does): delivery stops at once, and the
    // connection stays up.
    let broker = p.s.state.broker().unwrap();
    broker.put_role(&username, &[]).await.unwrap();
    admin.publish(&topic, "2").await;
    assert!(
        c.message(Duration::from_millis(500)).await.is_none(),
        "delivered after removal"
    );
    // Given back: the same subscription delivers again, still without reconnecting.
    let acls = steward_platform::broker::keys::acls(
        &p.s.state,
        p.org,
        steward_model::PermSet::of([steward_model::Permission::TelemetryListen]),
        &[],
        &username["stw_".len()..],
    )
    .unwrap();
    broker.put_role(&username, &acls).await.unwrap();
    admin.publish(&topic, "3").await;
    let m = c.message(Duration::from_secs(2)).await.expect("delivered again");
    assert_eq!(&m.payload[..], b"3");
}

/// CVE-2021-34434 (Mosquitto 2.0.11): a durable client keeps a subscription whose ACL was
/// removed while it was offline. Default-deny receive plus a receive ACL per listen right
/// closes it: the old subscription delivers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_session_keeps_no_right_removed_while_it_was_offline() {
    let p = start().await;
    let (id, username, secret) = p.new_key("durable", &["telemetry.listen"]).await;
    let client_id = format!("durable-{}", rand_suffix());
    let mut c = p.connect_as(&client_id, false, &username, &secret).await.unwrap();
    assert!(granted(&c.subscribe(&p.topic("devices/+/telemetry")).await));
    c.client.disconnect().await.unwrap();
    assert!(c.dropped_within(Duration::from_secs(2)).await.is_some());

    change_permissions(&p, id, &["presence.listen"]).await;

    let mut c = p.connect_as(&client_id, false, &username, &secret).await.unwrap();
    assert!(
        c.session_present,
        "the durable session (and its subscription) was not resumed"
    );
    let admin = p.admin().await;
    admin
        .publish(&p.topic("devices/1/telemetry"), "secret reading")
        .await;
    assert!(
        c.message(Duration::from_millis(700)).await.is_none(),
        "the durable session still receives a revoked topic"
    );
    // Its new right works.
    assert!(granted(&c.subscribe(&p.topic("devices/+/presence")).await));
    admin.publish(&p.topic("devices/1/presence"), "online").await;
    let m = c
        .message(Duration::from_secs(2))
        .await
        .expect("presence delivered");
    assert_eq!(m.topic, p.topic("devices/1/presence"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_dies_is_restarted_and_keys_work_again() {
    let p = start().await;
    let (_, username, secret) = p.new_key("survivor", &["telemetry.listen"]).await;
    let pid = std::fs::read_to_string(p.s.dir.path().join("broker/mosquitto.pid")).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(status.success());
    // Back on the same port, with the same clients (the dynsec file survives).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        match p.connect(&username, &secret).await {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the broker did not come back: {e}"),
        }
    };
    assert!(granted(&c.subscribe(&p.topic("devices/+/telemetry")).await));
    // The control connection came back too: key writes reach the broker again.
    let (_, later, later_secret) = p.new_key("after restart", &["alerts.listen"]).await;
    let mut c = p.connect(&later, &later_secret).await.unwrap();
    assert!(granted(&c.subscribe(&p.topic("alerts/+")).await));
}

/// A `stewardd serve` process: its ready line, and its stderr lines as they come.
struct Daemon {
    child: std::process::Child,
    ready: Value,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &std::path::Path, demo: bool) -> Daemon {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stewardd"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if demo {
        cmd.arg("--demo");
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = ready_tx.send(line);
    });
    let line = ready_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    Daemon {
        child,
        ready: serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line {line:?}: {e}")),
        stderr: rx,
    }
}

/// True once the process is gone (or a zombie nobody reaps).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(status) => status.lines().any(|l| l.starts_with("State:") && l.contains('Z')),
    }
}

async fn mqtt_connects(url: &str, username: &str, password: &str) -> Result<(), String> {
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut options = MqttOptions::new(format!("p-{}", rand_suffix()), "127.0.0.1", port);
    options.set_credentials(username, password);
    let (_client, mut eventloop) = AsyncClient::new(options, 4);
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .map_err(|_| "no CONNACK".to_owned())?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stewardd_runs_its_broker_stops_it_even_when_killed_and_keeps_keys_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = serve(dir.path(), true);
    let mqtt = daemon.ready["mqtt"].as_str().unwrap().to_owned();
    assert!(mqtt.starts_with("mqtt://127.0.0.1:"), "{}", daemon.ready);
    let demo: Value = loop {
        let line = daemon.stderr.recv_timeout(Duration::from_secs(10)).unwrap();
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v.get("demo").is_some() {
                break v;
            }
        }
    };
    let scada = demo["demo"]["keys"]["scada"].as_str().unwrap().to_owned();
    let username = format!("stw_{}", secrets::api_key_prefix(&scada).unwrap());
    mqtt_connects(&mqtt, &username, &scada).await.unwrap();
    assert!(mqtt_connects(&mqtt, &username, "stw_not_it").await.is_err());
    let broker_dir = dir.path().join("broker");
    let mode = |name: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(broker_dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("admin.sealed"), 0o600);
    // Sealed: the admin password is not in the file (the ready line does not give it either, so
    // check that the file is not JSON and holds no printable run as long as a password).
    let sealed = std::fs::read(broker_dir.join("admin.sealed")).unwrap();
    assert!(serde_json::from_slice::<Value>(&sealed).is_err());
    assert!(
        !sealed
            .windows(12)
            .any(|w| w.iter().all(u8::is_ascii_alphanumeric))
    );
    assert!(!broker_dir.join("admin.json").exists());
    assert_eq!(mode("dynsec.json"), 0o600);

    // kill -9: the kernel's parent-death signal stops Mosquitto too.
    let pid = std::fs::read_to_string(broker_dir.join("mosquitto.pid")).unwrap();
    let pid = pid.trim().to_owned();
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while !gone(&pid) {
        assert!(
            Instant::now() < deadline,
            "mosquitto {pid} outlived a killed stewardd"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Restarted on the same data: the key's broker client (and password) is still there.
    let again = serve(dir.path(), false);
    let mqtt = again.ready["mqtt"].as_str().unwrap().to_owned();
    mqtt_connects(&mqtt, &username, &scada).await.unwrap();
}

#[test]
fn no_broker_serves_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd_dir = dir.path().to_path_buf();
    cmd_dir.push("data");
    let mut daemon = {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stewardd"))
            .args(["serve", "--listen", "127.0.0.1:0", "--no-broker", "--data-dir"])
            .arg(&cmd_dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        (child, line)
    };
    let ready: Value = serde_json::from_str(&daemon.1).unwrap();
    assert!(
        ready.get("api").is_some() && ready.get("mqtt").is_none(),
        "{ready}"
    );
    assert!(!cmd_dir.join("broker").exists());
    daemon.0.kill().unwrap();
    daemon.0.wait().unwrap();
}

/// A console session's broker credential: listen rights only, ends with its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_session_gets_listen_rights_that_end_with_the_session() {
    let p = start().await;
    let tech = p.s.sign_in(TECH).await;
    let (status, cred) = p.s.json(Method::POST, "/session/broker", &tech, None).await;
    assert_eq!(status, 200, "{cred}");
    assert_eq!(cred["url"], format!("mqtt://127.0.0.1:{}", p.port()));
    let (user, password) = (
        cred["username"].as_str().unwrap(),
        cred["password"].as_str().unwrap(),
    );
    assert!(user.starts_with("ses_"), "{cred}");

    let mut conn = p.connect(user, password).await.unwrap();
    assert!(granted(&conn.subscribe(&p.topic("devices/+/presence")).await));
    assert!(granted(&conn.subscribe(&p.topic("alerts/+")).await));
    // No right beyond listening: not the broker's control topics, and no publishing (the
    // technician may call RPC over REST, but the session credential may not publish it).
    assert!(!granted(&conn.subscribe("$CONTROL/dynamic-security/#").await));
    let mut admin = p.admin().await;
    assert!(granted(&admin.subscribe(&p.topic("devices/+/rpc/request")).await));
    conn.publish(&p.topic("devices/1/rpc/request"), "{}").await;
    assert!(admin.message(Duration::from_millis(500)).await.is_none());

    // A second issue replaces the first: the old password no longer connects.
    let (_, again) = p.s.json(Method::POST, "/session/broker", &tech, None).await;
    assert!(conn.dropped_within(Duration::from_secs(2)).await.is_some());
    assert!(p.connect(user, password).await.is_err());
    let mut conn = p
        .connect(user, again["password"].as_str().unwrap())
        .await
        .unwrap();

    // Signing out withdraws it at once.
    let (status, _) = p.s.json(Method::DELETE, "/session", &tech, None).await;
    assert_eq!(status, 204);
    let dropped = conn.dropped_within(Duration::from_secs(1)).await;
    assert!(dropped.is_some(), "still connected after sign-out");

    // Deactivating the user ends the session, and the sweeper drops the credential.
    let carmen = p.s.sign_in(CARMEN).await;
    let (_, cred) = p.s.json(Method::POST, "/session/broker", &carmen, None).await;
    let mut conn = p
        .connect(
            cred["username"].as_str().unwrap(),
            cred["password"].as_str().unwrap(),
        )
        .await
        .unwrap();
    let (_, users) = p.s.json(Method::GET, "/users", &p.owner, None).await;
    let carmen_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == CARMEN)
        .unwrap()["id"]
        .clone();
    let (status, body) =
        p.s.json(
            Method::PATCH,
            &format!("/users/{carmen_id}"),
            &p.owner,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let dropped = conn.dropped_within(Duration::from_secs(5)).await;
    assert!(
        dropped.is_some(),
        "a deactivated user's console kept its broker connection"
    );

    // An API key has no session, so no session credential.
    let (status, body) =
        p.s.json(Method::POST, "/session/broker", &p.s.scada_key(), None)
            .await;
    assert_eq!(status, 403, "{body}");
}
