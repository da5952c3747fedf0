//! The one error type of the platform, and how it reaches clients: `{code, message, details?}`
//! with a status that says whose mistake it was. A client's mistake is always 4xx.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use steward_model::ModelError;
use steward_wire::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
        details: Option<serde_json::Value>,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(self, details: serde_json::Value) -> ApiError {
        match self {
            ApiError::Client {
                status,
                code,
                message,
                ..
            } => ApiError::Client {
                status,
                code,
                message,
                details: Some(details),
            },
            other => other,
        }
    }

    /// The same error with another machine code.
    pub fn with_code(self, new_code: &'static str) -> ApiError {
        match self {
            ApiError::Client {
                status,
                message,
                details,
                ..
            } => ApiError::Client {
                status,
                code: new_code,
                message,
                details,
            },
            other => other,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    /// Well-formed but not acceptable (a name too long, an unknown reference, a bad bound).
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Client { code, .. } => code,
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Client { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> ApiError {
        let status = match e {
            ModelError::UnknownEntity { .. } => StatusCode::NOT_FOUND,
            ModelError::LastOwner { .. } | ModelError::HierarchyCycle { .. } => StatusCode::CONFLICT,
            ModelError::Escalation { .. } | ModelError::ScopeEscalation { .. } => StatusCode::FORBIDDEN,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let details = match &e {
            ModelError::Escalation { missing, .. } => Some(serde_json::json!({ "missing": missing })),
            _ => None,
        };
        ApiError::Client {
            status,
            code: e.code(),
            message: e.to_string(),
            details,
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::Internal(format!("database: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            ApiError::Client {
                code,
                message,
                details,
                ..
            } => ErrorBody {
                code: code.to_owned(),
                message,
                details,
            },
            ApiError::Internal(detail) => {
                // The detail goes to the log, not to the client.
                tracing::error!(%detail, "internal error");
                ErrorBody {
                    code: "internal".to_owned(),
                    message: "internal error; see the server log".to_owned(),
                    details: None,
                }
            }
        };
        (status, Json(body)).into_response()
    }
}
