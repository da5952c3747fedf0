//! `POST /batch`: changes the console queued offline, replayed in order in one request.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most items one batch may carry.
pub const MAX_BATCH_ITEMS: usize = 1000;

/// One change, as it would be sent on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// `PATCH`, `PUT` or `DELETE`.
    pub method: String,
    /// The route's full path, e.g. `/api/v1/users/7`.
    pub path: String,
    /// The record version the change is based on (the single request's `If-Match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_match: Option<i64>,
    /// The single request's `Idempotency-Key`; a key already used answers with the stored result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The single request's JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub items: Vec<BatchItem>,
}

/// One item's outcome: the status and body the single request would have answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub status: u16,
    pub body: Value,
    /// The stored answer of an earlier request with the same idempotency key.
    #[serde(default)]
    pub replayed: bool,
}

/// The results, one per item, in the items' order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchResponse {
    pub results: Vec<BatchResult>,
}
