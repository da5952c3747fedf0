//! Profiles: one per (platform URL, user), each in its own folder with its encrypted cache and
//! its wrapped cache key. The list of profiles holds no secrets.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::error::{CoreError, CoreResult};
use crate::vault::WrappedKey;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, TS)]
#[ts(export)]
pub struct Profile {
    /// Stable id derived from URL and email.
    pub id: String,
    pub platform_url: String,
    pub email: String,
    pub display_name: String,
    pub org_name: String,
}

impl Profile {
    pub fn id_for(platform_url: &str, email: &str) -> String {
        let mut h = Sha256::new();
        h.update(platform_url.trim_end_matches('/').as_bytes());
        h.update([0]);
        h.update(email.trim().to_lowercase().as_bytes());
        hex::encode(h.finalize()).chars().take(16).collect()
    }
}

/// The folder holding every profile.
pub struct Profiles {
    root: PathBuf,
}

impl Profiles {
    pub fn new(root: impl Into<PathBuf>) -> Profiles {
        Profiles { root: root.into() }
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join("profiles").join(id)
    }

    pub fn cache_path(&self, id: &str) -> PathBuf {
        self.dir(id).join("cache.sqlite")
    }

    pub fn list(&self) -> CoreResult<Vec<Profile>> {
        let dir = self.root.join("profiles");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(vec![]);
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path().join("profile.json")) {
                if let Ok(p) = serde_json::from_str::<Profile>(&text) {
                    out.push(p);
                }
            }
        }
        out.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(out)
    }

    pub fn get(&self, id: &str) -> CoreResult<Profile> {
        let text = std::fs::read_to_string(self.dir(id).join("profile.json"))
            .map_err(|_| CoreError::UnknownProfile)?;
        serde_json::from_str(&text).map_err(|_| CoreError::UnknownProfile)
    }

    pub fn save(&self, profile: &Profile, key: &WrappedKey) -> CoreResult<()> {
        let dir = self.dir(&profile.id);
        std::fs::create_dir_all(&dir).map_err(io)?;
        write_private(&dir.join("profile.json"), &serde_json::to_vec_pretty(profile)?)?;
        write_private(&dir.join("cache.key.json"), &serde_json::to_vec(key)?)?;
        Ok(())
    }

    pub fn wrapped_key(&self, id: &str) -> CoreResult<Option<WrappedKey>> {
        match std::fs::read_to_string(self.dir(id).join("cache.key.json")) {
            Ok(text) => Ok(Some(serde_json::from_str(&text)?)),
            Err(_) => Ok(None),
        }
    }

    /// "Sign out and forget": the profile's folder (cache, wrapped key) goes.
    pub fn remove(&self, id: &str) -> CoreResult<()> {
        let dir = self.dir(id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io)?;
        }
        Ok(())
    }
}

fn io(e: std::io::Error) -> CoreError {
    CoreError::Cache(e.to_string())
}

fn write_private(path: &Path, bytes: &[u8]) -> CoreResult<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}
