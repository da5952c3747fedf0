//! The platform client. Network failures are `Offline` (the console then works from the
//! cache); the platform's own errors keep their `code`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use steward_wire::{AuditEntry, BrokerCredential, CreateKey, CreatedKey, LegacyReviewRow};
use steward_wire::{ChangesBody, ErrorBody, SignIn, SignedIn, TotpConfirm, TotpEnrolment, UserRow, WhoAmI};
use steward_wire::{DeviceRow, LogicalGroupRow, NodeBody, PresenceBody};
use url::Url;

use crate::cache::FeedPage;
use crate::error::{CoreError, CoreResult};

/// Plain `http://` is allowed only to this machine.
pub fn check_platform_url(url: &str) -> CoreResult<Url> {
    let parsed = Url::parse(url).map_err(|e| CoreError::Invalid(format!("`{url}` is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback {
                Ok(parsed)
            } else {
                Err(CoreError::InsecureUrl)
            }
        }
        other => Err(CoreError::Invalid(format!("unsupported scheme `{other}`"))),
    }
}

#[derive(Clone)]
pub struct ApiClient {
    base: Url,
    http: reqwest::Client,
    token: Option<String>,
}

/// A response: status, body, and the headers the outbox cares about.
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiClient {
    pub fn new(base: Url) -> CoreResult<ApiClient> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        Ok(ApiClient {
            base,
            http,
            token: None,
        })
    }

    pub fn with_token(mut self, token: String) -> ApiClient {
        self.token = Some(token);
        self
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> CoreResult<Url> {
        self.base
            .join(&format!("api/v1{path}"))
            .map_err(|e| CoreError::Invalid(e.to_string()))
    }

    /// Sends a request; any answer from the platform is a `Reply`, no answer is `Offline`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> CoreResult<Reply> {
        let (status, text) = self.send_text(method, path, body, headers).await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply { status, body })
    }

    /// `send`, with the answer's body as text.
    async fn send_text(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> CoreResult<(StatusCode, String)> {
        let mut req = self.http.request(method, self.url(path)?);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| CoreError::Offline(short(&e)))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| CoreError::Offline(short(&e)))?;
        Ok((status, text))
    }

    /// Sends and decodes a success, or turns the platform's error body into `Api`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> CoreResult<T> {
        let reply = self.send(method, path, body, &[]).await?;
        into_result(reply)
    }

    pub async fn sign_in(&self, email: &str, password: &str, totp: Option<String>) -> CoreResult<SignedIn> {
        let body = to_value(&SignIn {
            email: email.to_owned(),
            password: password.to_owned(),
            totp,
        })?;
        self.call(Method::POST, "/session", Some(&body)).await
    }

    pub async fn whoami(&self) -> CoreResult<WhoAmI> {
        self.call(Method::GET, "/session", None).await
    }

    pub async fn sign_out(&self) -> CoreResult<()> {
        let reply = self.send(Method::DELETE, "/session", None, &[]).await?;
        into_result::<Value>(reply).map(drop)
    }

    /// `POST /api-keys`: the answer carries the key's secret, this once.
    pub async fn create_key(&self, body: &CreateKey) -> CoreResult<CreatedKey> {
        self.call(Method::POST, "/api-keys", Some(&to_value(body)?)).await
    }

    /// `GET /audit?…`: one page, newest first; `query` is already URL-encoded.
    pub async fn audit(&self, query: &str) -> CoreResult<Vec<AuditEntry>> {
        self.call(Method::GET, &format!("/audit?{query}"), None).await
    }

    /// `GET /legacy-review`: the migrated legacy viewers to review.
    pub async fn legacy_review(&self) -> CoreResult<Vec<LegacyReviewRow>> {
        self.call(Method::GET, "/legacy-review", None).await
    }

    pub async fn changes(&self, since: i64, limit: u32) -> CoreResult<ChangesBody> {
        self.call(
            Method::GET,
            &format!("/changes?since={since}&limit={limit}"),
            None,
        )
        .await
    }

    /// `GET /changes` decoded once, straight from the text, each row's body kept as the JSON
    /// text received: the cache stores it as is (a first sync is a million of them).
    pub async fn feed_page(&self, since: i64, limit: u32) -> CoreResult<FeedPage> {
        let path = format!("/changes?since={since}&limit={limit}");
        let (status, text) = self.send_text(Method::GET, &path, None, &[]).await?;
        if !status.is_success() {
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Err(api_error(Reply { status, body }));
        }
        serde_json::from_str(&text).map_err(|e| CoreError::Invalid(format!("unexpected answer: {e}")))
    }

    /// `GET /devices` (devices.list).
    pub async fn devices(&self) -> CoreResult<Vec<DeviceRow>> {
        self.call(Method::GET, "/devices", None).await
    }

    /// `GET /logical-groups` (logical_group.list).
    pub async fn logical_groups(&self) -> CoreResult<Vec<LogicalGroupRow>> {
        self.call(Method::GET, "/logical-groups", None).await
    }

    /// `GET /hierarchy` (hierarchy_group.list): the tree's nodes with their parents.
    pub async fn hierarchy(&self) -> CoreResult<Vec<NodeBody>> {
        self.call(Method::GET, "/hierarchy", None).await
    }

    /// `GET /presence?logical_group=&node=` (presence.listen): every device's presence as
    /// stewardd's tracker holds it, with the roll-ups per group.
    pub async fn presence(&self, logical_group: Option<i64>, node: Option<i64>) -> CoreResult<PresenceBody> {
        let mut query = Vec::new();
        if let Some(g) = logical_group {
            query.push(format!("logical_group={g}"));
        }
        if let Some(n) = node {
            query.push(format!("node={n}"));
        }
        let path = if query.is_empty() {
            "/presence".to_owned()
        } else {
            format!("/presence?{}", query.join("&"))
        };
        self.call(Method::GET, &path, None).await
    }

    /// `POST /session/broker`: a short-lived MQTT credential with the user's listen rights
    /// only. Its password is kept in memory by the caller and never stored or logged; 409
    /// `no_broker` when the platform runs without one.
    pub async fn broker_credential(&self) -> CoreResult<BrokerCredential> {
        self.call(Method::POST, "/session/broker", None).await
    }

    /// Starts TOTP enrolment for the signed-in person: the authenticator's `otpauth://` URI.
    pub async fn totp_enrol(&self) -> CoreResult<TotpEnrolment> {
        self.call(Method::POST, "/session/totp", None).await
    }

    /// Confirms enrolment with a first code; an enrolment-only session becomes a full one.
    pub async fn totp_confirm(&self, code: &str) -> CoreResult<UserRow> {
        let body = to_value(&TotpConfirm {
            code: code.to_owned(),
        })?;
        self.call(Method::POST, "/session/totp/confirm", Some(&body))
            .await
    }
}

fn short(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string()
    }
}

pub(crate) fn to_value<T: Serialize>(v: &T) -> CoreResult<Value> {
    serde_json::to_value(v).map_err(|e| CoreError::Invalid(e.to_string()))
}

pub(crate) fn into_result<T: DeserializeOwned>(reply: Reply) -> CoreResult<T> {
    if reply.status.is_success() {
        let body = if reply.body.is_null() {
            Value::Null
        } else {
            reply.body
        };
        return serde_json::from_value(body)
            .map_err(|e| CoreError::Invalid(format!("unexpected answer: {e}")));
    }
    Err(api_error(reply))
}

pub(crate) fn api_error(reply: Reply) -> CoreError {
    match serde_json::from_value::<ErrorBody>(reply.body.clone()) {
        Ok(e) => CoreError::Api {
            status: reply.status.as_u16(),
            code: e.code,
            message: e.message,
            details: e.details,
        },
        Err(_) => CoreError::Api {
            status: reply.status.as_u16(),
            code: "unexpected".into(),
            message: format!("the platform answered {}", reply.status),
            details: Some(reply.body),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_platform_url("http://127.0.0.1:8443").is_ok());
        assert!(check_platform_url("http://localhost:8443").is_ok());
        assert!(check_platform_url("http://[::1]:8443").is_ok());
        assert!(check_platform_url("https://steward.plant.example").is_ok());
        assert!(matches!(
            check_platform_url("http://10.0.0.5:8443"),
            Err(CoreError::InsecureUrl)
        ));
        assert!(matches!(
            check_platform_url("ftp://x"),
            Err(CoreError::Invalid(_))
        ));
        assert!(matches!(
            check_platform_url("not a url"),
            Err(CoreError::Invalid(_))
        ));
    }
}
