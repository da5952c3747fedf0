//! The one error type of the console core. Every error has a stable `code` the UI branches on;
//! the message is for people.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("the platform cannot be reached ({0}); working from the cache")]
    Offline(String),
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        details: Option<serde_json::Value>,
    },
    #[error("wrong password for this profile's cache")]
    WrongPassword,
    #[error("no keyring is available ({0}); Steward keeps sign-in tokens only in the system keyring")]
    KeyringUnavailable(String),
    #[error("the local cache failed: {0}")]
    Cache(String),
    #[error("{0}")]
    Model(#[from] steward_model::ModelError),
    #[error("no such profile")]
    UnknownProfile,
    #[error("sign in first")]
    NotSignedIn,
    #[error("the console is locked; enter your password")]
    Locked,
    #[error("{0}")]
    Invalid(String),
    #[error("plain http:// is only allowed to this machine (loopback); use https://")]
    InsecureUrl,
    #[error("no pending change with id {0}")]
    UnknownChange(i64),
    #[error(
        "this organization requires two-step verification: set up an authenticator app to finish signing in"
    )]
    TotpEnrolmentRequired,
}

impl CoreError {
    pub fn code(&self) -> String {
        match self {
            CoreError::Offline(_) => "offline".into(),
            CoreError::Api { code, .. } => code.clone(),
            CoreError::WrongPassword => "wrong_password".into(),
            CoreError::KeyringUnavailable(_) => "keyring_unavailable".into(),
            CoreError::Cache(_) => "cache_error".into(),
            CoreError::Model(e) => e.code().into(),
            CoreError::UnknownProfile => "unknown_profile".into(),
            CoreError::NotSignedIn => "not_signed_in".into(),
            CoreError::Locked => "locked".into(),
            CoreError::Invalid(_) => "invalid_input".into(),
            CoreError::InsecureUrl => "insecure_url".into(),
            CoreError::UnknownChange(_) => "unknown_change".into(),
            CoreError::TotpEnrolmentRequired => "totp_enrolment_required".into(),
        }
    }
}

impl From<rusqlite::Error> for CoreError {
    fn from(e: rusqlite::Error) -> CoreError {
        CoreError::Cache(e.to_string())
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> CoreError {
        CoreError::Cache(format!("bad cached JSON: {e}"))
    }
}

pub type CoreResult<T> = Result<T, CoreError>;

/// An error as it crosses IPC: the UI branches on `code`, never on `message`.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl From<CoreError> for IpcError {
    fn from(e: CoreError) -> IpcError {
        IpcError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}
