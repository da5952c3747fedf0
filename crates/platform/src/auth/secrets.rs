//! Random secrets and how they are stored: session tokens and API-key secrets are kept only as
//! a keyed hash (HMAC-SHA-256 with the server's own key), passwords as argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub fn random_bytes<const N: usize>() -> ApiResult<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(buf)
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
fn random_string(alphabet: &[u8], len: usize) -> ApiResult<String> {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>()? {
            if (b as usize) < limit && out.len() < len {
                if let Some(c) = alphabet.get(b as usize % alphabet.len()) {
                    out.push(char::from(*c));
                }
            }
        }
    }
    Ok(out)
}

/// A new broker password (devices, console sessions, stewardd's own client): 40 base62
/// characters, ~238 bits; shown once, never stored in clear.
pub fn new_broker_password() -> ApiResult<String> {
    random_string(BASE62, 40)
}

/// A new session token (`sts_` + 43 base62 characters, ~256 bits).
pub fn new_session_token() -> ApiResult<String> {
    Ok(format!("sts_{}", random_string(BASE62, 43)?))
}

/// A new invite token (single-use link).
pub fn new_invite_token() -> ApiResult<String> {
    Ok(format!("sti_{}", random_string(BASE62, 43)?))
}

/// A new API key: `stw_<prefix>_<secret>`; the prefix (8 lowercase letters or digits) stays
/// visible, the whole string is the secret.
pub fn new_api_key() -> ApiResult<(String, String)> {
    let prefix = random_string(LOWER_ALNUM, 8)?;
    let secret = format!("stw_{prefix}_{}", random_string(BASE62, 40)?);
    Ok((prefix, secret))
}

/// Splits `stw_<prefix>_<random>` into its prefix, or None when it is not of that shape.
pub fn api_key_prefix(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix("stw_")?;
    let (prefix, random) = rest.split_once('_')?;
    let ok = prefix.len() == 8
        && prefix.bytes().all(|b| LOWER_ALNUM.contains(&b))
        && random.len() >= 32
        && random.bytes().all(|b| BASE62.contains(&b));
    ok.then_some(prefix)
}

/// The server's key for hashing tokens.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn from_bytes(bytes: [u8; 32]) -> TokenKey {
        TokenKey(bytes)
    }

    pub fn hash(&self, token: &str) -> String {
        // HMAC accepts keys of any length, so this never fails; were it to, the empty hash
        // matches nothing stored.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(token.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn matches(&self, token: &str, stored_hash: &str) -> bool {
        self.hash(token).as_bytes().ct_eq(stored_hash.as_bytes()).into()
    }

    /// A key for one purpose, derived from the server key, so sealing never reuses the hashing
    /// key as is and each purpose's ciphertexts open only for that purpose.
    fn subkey(&self, purpose: &str) -> ApiResult<chacha20poly1305::Key> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .map_err(|e| ApiError::Internal(format!("key derivation: {e}")))?;
        mac.update(b"steward seal v1:");
        mac.update(purpose.as_bytes());
        Ok(mac.finalize().into_bytes())
    }

    /// Encrypts a secret kept on disk (XChaCha20-Poly1305; nonce first).
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> ApiResult<Vec<u8>> {
        use chacha20poly1305::aead::{Aead, KeyInit};
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(&self.subkey(purpose)?);
        let nonce = random_bytes::<24>()?;
        let mut out = nonce.to_vec();
        out.extend(
            cipher
                .encrypt(&nonce.into(), plaintext)
                .map_err(|_| ApiError::Internal("sealing failed".to_owned()))?,
        );
        Ok(out)
    }

    /// Decrypts what `seal` wrote for the same purpose; None if it was altered or sealed with
    /// another key.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> ApiResult<Option<Vec<u8>>> {
        use chacha20poly1305::aead::{Aead, KeyInit};
        let Some((nonce, body)) = sealed.split_at_checked(24) else {
            return Ok(None);
        };
        let nonce: [u8; 24] = nonce
            .try_into()
            .map_err(|_| ApiError::Internal("nonce length".to_owned()))?;
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(&self.subkey(purpose)?);
        Ok(cipher.decrypt(&nonce.into(), body).ok())
    }
}

fn argon2() -> ApiResult<Argon2<'static>> {
    // OWASP / ASVS: argon2id, m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash_password(password: &str) -> ApiResult<String> {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .to_string())
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A password policy a plant would accept: long enough, not absurdly long.
pub fn check_password_policy(password: &str) -> ApiResult<()> {
    let chars = password.chars().count();
    if chars < 12 {
        return Err(ApiError::bad_request(
            "weak_password",
            "passwords need at least 12 characters",
        ));
    }
    if chars > 256 {
        return Err(ApiError::bad_request(
            "invalid_password",
            "passwords are at most 256 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_the_documented_shape_and_parse_back() {
        let (prefix, secret) = new_api_key().unwrap();
        assert_eq!(prefix.len(), 8);
        assert!(secret.starts_with(&format!("stw_{prefix}_")));
        assert_eq!(api_key_prefix(&secret), Some(prefix.as_str()));
        assert_eq!(
            api_key_prefix("stw_ABCDEFGH_0123456789012345678901234567890123"),
            None
        );
        assert_eq!(api_key_prefix("stw_abcdefgh_short"), None);
        assert_eq!(
            api_key_prefix("sts_abcdefgh_0123456789012345678901234567890123"),
            None
        );
    }

    #[test]
    fn token_hashes_are_keyed() {
        let a = TokenKey::from_bytes([1; 32]);
        let sealed = a.seal("broker-admin", b"hunter2").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(a.open("broker-admin", &sealed).unwrap().unwrap(), b"hunter2");
        assert_eq!(a.open("other", &sealed).unwrap(), None);
        assert_eq!(
            TokenKey::from_bytes([2; 32])
                .open("broker-admin", &sealed)
                .unwrap(),
            None
        );
        assert_eq!(a.open("broker-admin", &sealed[..10]).unwrap(), None);
        let b = TokenKey::from_bytes([2; 32]);
        assert_ne!(a.hash("t"), b.hash("t"));
        assert!(a.matches("t", &a.hash("t")));
        assert!(!a.matches("u", &a.hash("t")));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
