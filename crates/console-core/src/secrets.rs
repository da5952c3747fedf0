//! Where sign-in tokens live: the OS keyring (Secret Service on Linux), never SQLite, logs or
//! UI state. Tests use an in-memory store.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{CoreError, CoreResult};

pub trait SecretStore: Send + Sync {
    fn get(&self, profile: &str, name: &str) -> CoreResult<Option<String>>;
    fn set(&self, profile: &str, name: &str, value: &str) -> CoreResult<()>;
    fn delete(&self, profile: &str, name: &str) -> CoreResult<()>;
}

const SERVICE: &str = "steward-console";

/// The system keyring.
pub struct KeyringStore;

fn entry(profile: &str, name: &str) -> CoreResult<keyring::Entry> {
    keyring::Entry::new(SERVICE, &format!("{profile}/{name}"))
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))
}

impl KeyringStore {
    /// Checks the keyring answers, so the console can say so at start rather than at sign-in.
    pub fn probe() -> CoreResult<()> {
        match entry("probe", "probe")?.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(CoreError::KeyringUnavailable(e.to_string())),
        }
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, profile: &str, name: &str) -> CoreResult<Option<String>> {
        match entry(profile, name)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(CoreError::KeyringUnavailable(e.to_string())),
        }
    }

    fn set(&self, profile: &str, name: &str, value: &str) -> CoreResult<()> {
        entry(profile, name)?
            .set_password(value)
            .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))
    }

    fn delete(&self, profile: &str, name: &str) -> CoreResult<()> {
        match entry(profile, name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(CoreError::KeyringUnavailable(e.to_string())),
        }
    }
}

/// For tests and headless runs without a keyring: secrets live only as long as the process.
#[derive(Default)]
pub struct MemoryStore(Mutex<HashMap<String, String>>);

impl SecretStore for MemoryStore {
    fn get(&self, profile: &str, name: &str) -> CoreResult<Option<String>> {
        let map = self
            .0
            .lock()
            .map_err(|_| CoreError::Cache("secret store poisoned".into()))?;
        Ok(map.get(&format!("{profile}/{name}")).cloned())
    }

    fn set(&self, profile: &str, name: &str, value: &str) -> CoreResult<()> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| CoreError::Cache("secret store poisoned".into()))?;
        map.insert(format!("{profile}/{name}"), value.to_owned());
        Ok(())
    }

    fn delete(&self, profile: &str, name: &str) -> CoreResult<()> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| CoreError::Cache("secret store poisoned".into()))?;
        map.remove(&format!("{profile}/{name}"));
        Ok(())
    }
}
