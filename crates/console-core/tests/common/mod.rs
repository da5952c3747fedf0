//! A real stewardd for console-core's tests: the demo plant on 127.0.0.1, on a port chosen
//! once so it can be stopped and brought back at the same address.

// Each test file uses its own part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use serde_json::Value;
use steward_console_core::Console;
use steward_console_core::secrets::MemoryStore;
use steward_platform::clock::SystemClock;
use steward_platform::{Limits, SharedState};
use tokio::task::JoinHandle;

pub struct Platform {
    pub state: SharedState,
    pub addr: SocketAddr,
    task: JoinHandle<()>,
    pub demo: Value,
    _dir: tempfile::TempDir,
}

async fn serve(state: SharedState, addr: SocketAddr) -> JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let app = steward_platform::app(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

/// stewardd with the demo plant, serving.
pub async fn platform() -> Platform {
    let dir = tempfile::tempdir().unwrap();
    let state = steward_platform::serve::open(dir.path(), Arc::new(SystemClock), Limits::default()).unwrap();
    let demo = steward_platform::demo::seed_if_empty(&state).unwrap().unwrap();
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let task = serve(state.clone(), addr).await;
    Platform {
        state,
        addr,
        task,
        demo,
        _dir: dir,
    }
}

impl Platform {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The demo login (email, password) of the person called `name`.
    pub fn login(&self, name: &str) -> (String, String) {
        let u = self.demo["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap();
        (
            u["email"].as_str().unwrap().to_owned(),
            u["password"].as_str().unwrap().to_owned(),
        )
    }

    /// A console with its profiles in `dir`, signed in as `name`.
    pub async fn console_as(&self, dir: &Path, name: &str) -> Console {
        let c = Console::new(dir, Arc::new(MemoryStore::default()));
        let (email, password) = self.login(name);
        c.sign_in(&self.url(), &email, &password, None).await.unwrap();
        c
    }

    /// The platform goes away (its socket closes).
    pub fn stop(&self) {
        self.task.abort();
    }

    /// The platform comes back at the same address.
    pub async fn restart(&mut self) {
        // The aborted server's socket closes when its task is dropped; retry briefly.
        for _ in 0..50 {
            if let Ok(listener) = tokio::net::TcpListener::bind(self.addr).await {
                drop(listener);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.task = serve(self.state.clone(), self.addr).await;
    }
}

/// stewardd with its own supervised Mosquitto (the real broker, in the platform's temp dir), as
/// the platform's own tests start it. The broker goes first when this drops.
pub struct Plane {
    pub broker: steward_platform::broker::BrokerHandle,
    pub p: Platform,
}

pub async fn plane() -> Plane {
    use steward_platform::broker::{self, BrokerMode};
    let p = platform().await;
    let known = steward_platform::serve::demo_key_secrets(&p.demo);
    let broker = broker::start(&BrokerMode::Supervised, p._dir.path(), &p.state, &known)
        .await
        .unwrap()
        .unwrap();
    Plane { broker, p }
}

impl Plane {
    /// The org's id (its topics live under `steward/{org}/`).
    pub fn org(&self) -> i64 {
        self.p.state.store.orgs().unwrap()[0]
    }

    /// The broker's loopback port.
    pub fn mqtt_port(&self) -> u16 {
        self.broker.supervisor.as_ref().unwrap().port()
    }
}

impl Platform {
    /// Signs in over REST as `name`; the session token.
    pub async fn token(&self, name: &str) -> String {
        let (email, password) = self.login(name);
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/session", self.url()))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A REST call with `token`; the answer's JSON, after checking its status.
    pub async fn rest(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}/api/v1{path}", self.url()))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(got, status, "{path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// A device's MQTT connection, with its events in a channel.
pub async fn device_connection(port: u16, username: &str, password: &str) -> AsyncClient {
    let mut options = MqttOptions::new(username, "127.0.0.1", port);
    options.set_credentials(username, password);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let e = eventloop.poll().await;
            let end = e.is_err();
            let _ = tx.send(e.map_err(|e| e.to_string()));
            if end {
                return;
            }
        }
    });
    loop {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(Ok(Event::Incoming(Packet::ConnAck(_))))) => break,
            Ok(Some(Ok(_))) => {}
            other => panic!("the device did not connect: {other:?}"),
        }
    }
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    client
}
