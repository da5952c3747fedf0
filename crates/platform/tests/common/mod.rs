//! Starts a real stewardd app on 127.0.0.1:0 (in this process, so the clock can be moved) with
//! the demo plant, and talks to it over real HTTP.

// Test helpers: a failed setup is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code
)]

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Client, Method, Response};
use serde_json::Value;
use steward_platform::clock::ManualClock;
use steward_platform::{Limits, SharedState};

pub struct Server {
    pub base: String,
    pub state: SharedState,
    pub clock: ManualClock,
    pub demo: Value,
    pub http: Client,
    pub dir: tempfile::TempDir,
}

/// 2026-11-23 10:00 UTC, a moment for the manual clock.
pub const T0: i64 = 1_795_428_000_000;

pub async fn start() -> Server {
    start_with(Limits::default()).await
}

pub async fn start_with(limits: Limits) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_at(T0);
    let state = steward_platform::serve::open(dir.path(), Arc::new(clock.clone()), limits).unwrap();
    let demo = steward_platform::demo::seed_if_empty(&state).unwrap().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = steward_platform::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        state,
        clock,
        demo,
        http: Client::new(),
        dir,
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// The demo login of the user with this name.
    pub fn login_of(&self, name: &str) -> (String, String) {
        let user = self.demo["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap_or_else(|| panic!("no demo user {name}"));
        (
            user["email"].as_str().unwrap().to_owned(),
            user["password"].as_str().unwrap().to_owned(),
        )
    }

    pub fn scada_key(&self) -> String {
        self.demo["keys"]["scada"].as_str().unwrap().to_owned()
    }

    /// Signs in as a demo user; returns the session token.
    pub async fn sign_in(&self, name: &str) -> String {
        let (email, password) = self.login_of(name);
        let r = self
            .http
            .post(self.url("/session"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "sign in as {name}: {}", r.text().await.unwrap());
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    /// Calls and returns (status, JSON body or Null).
    pub async fn json(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let r = self.call(method, path, token, body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// Names of the demo people.
pub const OWNER: &str = "Olivia Owner";
pub const MANAGER: &str = "Marco Manager";
pub const CARMEN: &str = "Carmen Diaz";
pub const HENRIK: &str = "Henrik Larsen";
pub const TECH: &str = "Tomás Ortega";
pub const MANAGEMENT: &str = "Sofia Management";

/// A stewardd with its own supervised Mosquitto (the real broker, in the server's temp dir),
/// signed in as the owner. Each test file adds the MQTT helpers it needs in its own `impl`.
pub struct Plane {
    pub s: Server,
    pub broker: steward_platform::broker::BrokerHandle,
    pub org: i64,
    pub owner: String,
}

pub async fn start_plane() -> Plane {
    use steward_platform::broker::{self, BrokerMode};
    let s = start().await;
    let known = steward_platform::serve::demo_key_secrets(&s.demo);
    let broker = broker::start(&BrokerMode::Supervised, s.dir.path(), &s.state, &known)
        .await
        .unwrap()
        .unwrap();
    let org = s.state.store.orgs().unwrap()[0];
    let owner = s.sign_in(OWNER).await;
    Plane {
        s,
        broker,
        org,
        owner,
    }
}
