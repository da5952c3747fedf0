//! Starting the server: open the data directory, bind, print the ready line, serve.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::auth::secrets::{TokenKey, random_bytes};
use crate::clock::{Clock, SystemClock};
use crate::config::ServeConfig;
use crate::error::ApiError;
use crate::state::{AppState, Limits, SharedState};
use crate::store::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("TLS: {0}")]
    Tls(String),
}

/// The key that hashes tokens and key secrets: 32 random bytes in the data directory, created
/// on first start, readable by the server's user only.
pub fn token_key(data_dir: &Path) -> Result<TokenKey, ServeError> {
    let path = data_dir.join("token.key");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| std::io::Error::other(format!("{} is not 32 bytes", path.display())))?;
            Ok(TokenKey::from_bytes(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = random_bytes::<32>()?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            Ok(TokenKey::from_bytes(bytes))
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens (creating if needed) the data directory's database and key.
pub fn open(data_dir: &Path, clock: Arc<dyn Clock>, limits: Limits) -> Result<SharedState, ServeError> {
    std::fs::create_dir_all(data_dir)?;
    let store = SqliteStore::open(&data_dir.join("steward.db"))?;
    Ok(Arc::new(AppState::new(
        Arc::new(store),
        clock,
        token_key(data_dir)?,
        limits,
    )))
}

/// Runs the server until it is stopped.
pub async fn run(cfg: ServeConfig) -> Result<(), ServeError> {
    let state = open(&cfg.data_dir, Arc::new(SystemClock), Limits::default())?;
    let mut secrets = std::collections::HashMap::new();
    if cfg.demo {
        if let Some(credentials) = crate::demo::seed_if_empty(&state)? {
            secrets = demo_key_secrets(&credentials);
            // The demo's logins, once, on stderr (the ready line owns stdout).
            eprintln!("{}", serde_json::json!({ "demo": credentials }));
        }
    }
    // Held until the server stops; dropping it stops stewardd's own Mosquitto.
    let broker = crate::broker::start(&cfg.broker, &cfg.data_dir, &state, &secrets).await?;
    let listener = std::net::TcpListener::bind(cfg.listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let app = crate::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    let ready = match &broker {
        Some(broker) => serde_json::json!({ "api": format!("{scheme}://{addr}"), "mqtt": broker.url }),
        None => serde_json::json!({ "api": format!("{scheme}://{addr}") }),
    };
    println!("{ready}");
    std::io::stdout().flush()?;
    tracing::info!(%addr, scheme, "stewardd ready");
    match cfg.tls {
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| ServeError::Tls(e.to_string()))?;
            axum_server::from_tcp_rustls(listener, tls).serve(app).await?;
        }
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await?;
        }
    }
    Ok(())
}

/// The demo's fresh key secrets by prefix (the broker needs them as passwords).
pub fn demo_key_secrets(credentials: &serde_json::Value) -> std::collections::HashMap<String, String> {
    credentials
        .get("keys")
        .and_then(serde_json::Value::as_object)
        .into_iter()
        .flat_map(|keys| keys.values())
        .filter_map(serde_json::Value::as_str)
        .filter_map(|secret| {
            crate::auth::secrets::api_key_prefix(secret).map(|p| (p.to_owned(), secret.to_owned()))
        })
        .collect()
}

/// Ctrl-C or SIGTERM: stop serving, so the broker handle is dropped and its Mosquitto killed.
async fn shutdown() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
