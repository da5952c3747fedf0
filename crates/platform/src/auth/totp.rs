//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s). Each code works once: the last used
//! time step is stored and only later steps are accepted.

use totp_rs::{Algorithm, TOTP};

use super::secrets::random_bytes;
use crate::error::{ApiError, ApiResult};

const STEP_SECONDS: u64 = 30;

fn totp(secret: &[u8], account: &str) -> ApiResult<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS,
        secret.to_vec(),
        Some("Steward".to_owned()),
        account.to_owned(),
    )
    .map_err(|e| ApiError::Internal(format!("totp: {e}")))
}

/// A new secret, hex-encoded for storage.
pub fn new_secret() -> ApiResult<String> {
    Ok(hex::encode(random_bytes::<20>()?))
}

fn decode(secret_hex: &str) -> ApiResult<Vec<u8>> {
    hex::decode(secret_hex).map_err(|_| ApiError::Internal("stored TOTP secret is corrupt".into()))
}

/// The `otpauth://` URI an authenticator app enrols from.
pub fn otpauth_uri(secret_hex: &str, account: &str) -> ApiResult<String> {
    Ok(totp(&decode(secret_hex)?, account)?.get_url())
}

/// The code for a moment, for tests and the demo.
pub fn code_at(secret_hex: &str, now_ms: i64) -> ApiResult<String> {
    let secs = u64::try_from(now_ms / 1000).unwrap_or(0);
    Ok(totp(&decode(secret_hex)?, "x")?.generate(secs))
}

/// The time step a code belongs to (current, one before or one after), if it is valid.
pub fn matching_step(secret_hex: &str, code: &str, now_ms: i64) -> ApiResult<Option<i64>> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(&decode(secret_hex)?, "x")?;
    let current = now_ms / 1000 / STEP_SECONDS as i64;
    for step in [current - 1, current, current + 1] {
        let at = u64::try_from(step).unwrap_or(0) * STEP_SECONDS;
        if totp.generate(at) == code {
            return Ok(Some(step));
        }
    }
    Ok(None)
}
