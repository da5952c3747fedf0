//! stewardd's own Mosquitto: configuration and dynamic-security file generated in
//! `<data-dir>/broker/`, a free loopback port, restarted with backoff when it exits, killed when
//! stewardd stops (the child is killed when its handle is dropped).
//!
//! The admin credential is generated on first start and kept sealed (XChaCha20-Poly1305 under a
//! key derived from `token.key`) in `broker/admin.sealed`, mode 0600: a copy of the broker
//! directory alone does not give the broker away.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::unavailable;
use crate::auth::secrets::TokenKey;
use crate::error::{ApiError, ApiResult};

/// Debian's path; `STEWARD_DYNSEC_PLUGIN` overrides it.
const PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";
const ADMIN_USER: &str = "steward-admin";

#[derive(Serialize, Deserialize)]
struct Admin {
    username: String,
    password: String,
}

pub struct Supervisor {
    port: u16,
    admin: Admin,
    task: JoinHandle<()>,
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // Dropping the task drops the child, which kills it (kill_on_drop).
        self.task.abort();
    }
}

fn io(what: &str, e: std::io::Error) -> ApiError {
    ApiError::Internal(format!("broker: {what}: {e}"))
}

fn write_private(path: &Path, bytes: &[u8]) -> ApiResult<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(|e| io("write", e))?;
    file.write_all(bytes).map_err(|e| io("write", e))?;
    file.sync_all().map_err(|e| io("sync", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("rename", e))
}

/// The admin credential, and a dynsec file holding it; both created on first start.
const SEAL_PURPOSE: &str = "broker-admin";

fn ensure_admin(dir: &Path, dynsec: &Path, key: &TokenKey) -> ApiResult<Admin> {
    let path = dir.join("admin.sealed");
    // Earlier versions kept it in clear: seal it and remove the clear copy.
    let clear = dir.join("admin.json");
    if let Ok(text) = std::fs::read(&clear) {
        write_private(&path, &key.seal(SEAL_PURPOSE, &text)?)?;
        std::fs::remove_file(&clear).map_err(|e| io("remove admin.json", e))?;
    }
    if let (Ok(sealed), true) = (std::fs::read(&path), dynsec.exists()) {
        if let Some(json) = key.open(SEAL_PURPOSE, &sealed)? {
            return serde_json::from_slice(&json)
                .map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())));
        }
        tracing::warn!(
            "the broker admin credential does not open with this token.key; starting a fresh broker config"
        );
    }
    // Without its credential the old dynsec file is unusable: start a fresh one (reconciliation
    // puts the keys back).
    let _ = std::fs::remove_file(dynsec);
    let admin = Admin {
        username: ADMIN_USER.to_owned(),
        password: crate::auth::secrets::new_session_token()?,
    };
    // mosquitto_ctrl hashes the password the way the plugin expects. It takes it as an argument,
    // visible only to local processes for the moment it runs; it never reaches a log.
    let out = std::process::Command::new("mosquitto_ctrl")
        .arg("dynsec")
        .arg("init")
        .arg(dynsec)
        .arg(&admin.username)
        .arg(&admin.password)
        .output()
        .map_err(|e| io("mosquitto_ctrl (install mosquitto-clients)", e))?;
    if !out.status.success() {
        return Err(ApiError::Internal(format!(
            "broker: mosquitto_ctrl dynsec init failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // Default deny for every type from the first start (stewardd sets it again over the API),
    // and the admin may also publish on the platform's topics (presence, alerts, tests).
    let text = std::fs::read_to_string(dynsec).map_err(|e| io("read dynsec file", e))?;
    let mut doc: Value =
        serde_json::from_str(&text).map_err(|e| ApiError::Internal(format!("dynsec file: {e}")))?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "defaultACLAccess".into(),
            json!({
                "publishClientSend": false, "publishClientReceive": false, "subscribe": false, "unsubscribe": false
            }),
        );
    }
    if let Some(roles) = doc.get_mut("roles").and_then(Value::as_array_mut) {
        for role in roles.iter_mut().filter(|r| r["rolename"] == "admin") {
            if let Some(acls) = role.get_mut("acls").and_then(Value::as_array_mut) {
                acls.push(json!({ "acltype": "publishClientSend", "topic": "steward/#", "priority": 0, "allow": true }));
            }
        }
    }
    write_private(dynsec, doc.to_string().as_bytes())?;
    let json = serde_json::to_vec(&admin).map_err(|e| ApiError::Internal(e.to_string()))?;
    write_private(&path, &key.seal(SEAL_PURPOSE, &json)?)?;
    Ok(admin)
}

fn free_port() -> ApiResult<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| io("pick a port", e))?;
    Ok(listener.local_addr().map_err(|e| io("pick a port", e))?.port())
}

/// Mosquitto drops root privileges to the `mosquitto` user, which cannot write our data dir;
/// run it as ourselves instead.
fn running_as_root(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(dir).map(|m| m.uid() == 0).unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        false
    }
}

/// `max_queued_messages`: stewardd's own client receives every device's presence and telemetry;
/// with Mosquitto's default of 1,000 queued messages per client, 10,000 devices connecting at
/// once overflowed its queue and some `online` announcements were lost (broker_plane bench).
fn config(dir: &Path, port: u16, dynsec: &Path) -> String {
    let plugin = std::env::var("STEWARD_DYNSEC_PLUGIN").unwrap_or_else(|_| PLUGIN.to_owned());
    let user = if running_as_root(dir) { "user root\n" } else { "" };
    format!(
        "# Generated by stewardd at every start; edits are overwritten.\n\
         per_listener_settings true\n\
         persistence false\n\
         max_queued_messages 100000\n\
         {user}\
         pid_file {pid}\n\
         log_dest file {log}\n\
         listener {port} 127.0.0.1\n\
         allow_anonymous false\n\
         plugin {plugin}\n\
         plugin_opt_config_file {dynsec}\n",
        pid = dir.join("mosquitto.pid").display(),
        log = dir.join("mosquitto.log").display(),
        dynsec = dynsec.display(),
    )
}

/// A Mosquitto left running by a stewardd that was killed outright would hold the dynsec file:
/// stop it, but only if it runs our own config.
fn stop_stale(dir: &Path, conf: &Path) {
    let Ok(pid) = std::fs::read_to_string(dir.join("mosquitto.pid")) else {
        return;
    };
    let pid = pid.trim();
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let ours = String::from_utf8_lossy(&cmdline).contains(&conf.display().to_string());
    if ours {
        tracing::warn!(pid, "stopping a Mosquitto left over from an earlier stewardd");
        let _ = std::process::Command::new("kill").arg(pid).status();
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// util-linux's setpriv, which makes the kernel stop Mosquitto when stewardd dies, even by
/// `kill -9` (kill_on_drop covers only an orderly stop).
const SETPRIV: &str = "/usr/bin/setpriv";

fn spawn(conf: &Path) -> ApiResult<Child> {
    let mut command = if Path::new(SETPRIV).exists() {
        let mut c = Command::new(SETPRIV);
        c.args(["--pdeathsig", "TERM", "--", "mosquitto"]);
        c
    } else {
        Command::new("mosquitto")
    };
    command
        .arg("-c")
        .arg(conf)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| io("start mosquitto (install mosquitto)", e))
}

async fn wait_listening(port: u16, within: Duration) -> ApiResult<()> {
    let deadline = Instant::now() + within;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(unavailable("mosquitto did not start listening in time"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

impl Supervisor {
    /// Starts Mosquitto in `dir` and waits until it listens.
    pub async fn start(dir: &Path, key: &TokenKey, within: Duration) -> ApiResult<Supervisor> {
        std::fs::create_dir_all(dir).map_err(|e| io("create the broker dir", e))?;
        let dynsec = dir.join("dynsec.json");
        let conf = dir.join("mosquitto.conf");
        stop_stale(dir, &conf);
        let admin = ensure_admin(dir, &dynsec, key)?;
        let port = free_port()?;
        std::fs::write(&conf, config(dir, port, &dynsec)).map_err(|e| io("write mosquitto.conf", e))?;
        let child = spawn(&conf)?;
        wait_listening(port, within).await?;
        tracing::info!(port, dir = %dir.display(), "mosquitto started");
        let task = tokio::spawn(watch(child, conf, port));
        Ok(Supervisor { port, admin, task })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin username and password (never log the password).
    pub fn admin(&self) -> (&str, &str) {
        (&self.admin.username, &self.admin.password)
    }
}

/// Restarts Mosquitto whenever it exits, on the same port, waiting longer after each quick
/// failure (up to 5 s) so a broken config does not spin.
async fn watch(mut child: Child, conf: PathBuf, port: u16) {
    let mut backoff = Duration::from_millis(100);
    let mut started = Instant::now();
    loop {
        let status = child.wait().await;
        tracing::warn!(?status, port, "mosquitto exited; restarting");
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(100);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
        loop {
            match spawn(&conf) {
                Ok(c) => {
                    child = c;
                    started = Instant::now();
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot restart mosquitto");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
