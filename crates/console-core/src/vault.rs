//! The cache key, wrapped by the user's password. Each profile's cache is encrypted with a
//! random key; that key is stored only wrapped (XChaCha20-Poly1305) by a key derived from the
//! password (argon2id), so the owner unlocks it offline and nobody else at the desk can.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

/// A 256-bit cache key; only ever in memory.
pub struct CacheKey(pub(crate) [u8; 32]);

impl CacheKey {
    pub fn random() -> CoreResult<CacheKey> {
        Ok(CacheKey(random::<32>()?))
    }

    /// The SQLCipher raw-key form: `x'<hex>'`.
    pub(crate) fn pragma(&self) -> String {
        format!("\"x'{}'\"", hex::encode(self.0))
    }
}

fn random<const N: usize>() -> CoreResult<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| CoreError::Cache(format!("no randomness: {e}")))?;
    Ok(buf)
}

/// The wrapped key as stored beside the cache file.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct WrappedKey {
    salt: String,
    nonce: String,
    ciphertext: String,
}

fn kek(password: &str, salt: &[u8]) -> CoreResult<[u8; 32]> {
    let params = Params::new(19 * 1024, 2, 1, Some(32)).map_err(|e| CoreError::Cache(e.to_string()))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| CoreError::Cache(e.to_string()))?;
    Ok(out)
}

pub fn wrap(key: &CacheKey, password: &str) -> CoreResult<WrappedKey> {
    let salt = random::<16>()?;
    let nonce = random::<24>()?;
    let cipher = XChaCha20Poly1305::new(&kek(password, &salt)?.into());
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), key.0.as_slice())
        .map_err(|_| CoreError::Cache("could not wrap the cache key".into()))?;
    Ok(WrappedKey {
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    })
}

pub fn unwrap(wrapped: &WrappedKey, password: &str) -> CoreResult<CacheKey> {
    let decode =
        |s: &str| hex::decode(s).map_err(|_| CoreError::Cache("the wrapped key file is corrupt".into()));
    let salt = decode(&wrapped.salt)?;
    let nonce = decode(&wrapped.nonce)?;
    if nonce.len() != 24 {
        return Err(CoreError::Cache("the wrapped key file is corrupt".into()));
    }
    let cipher = XChaCha20Poly1305::new(&kek(password, &salt)?.into());
    let plain = cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            decode(&wrapped.ciphertext)?.as_slice(),
        )
        .map_err(|_| CoreError::WrongPassword)?;
    let key: [u8; 32] = plain
        .try_into()
        .map_err(|_| CoreError::Cache("the wrapped key has the wrong length".into()))?;
    Ok(CacheKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_key_opens_only_with_its_password() {
        let key = CacheKey::random().unwrap();
        let wrapped = wrap(&key, "correct horse battery").unwrap();
        assert_eq!(unwrap(&wrapped, "correct horse battery").unwrap().0, key.0);
        assert!(matches!(
            unwrap(&wrapped, "wrong horse battery"),
            Err(CoreError::WrongPassword)
        ));
    }
}
