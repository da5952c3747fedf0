//! Configuration: command-line flags, then `STEWARD_*` environment variables, then a TOML file
//! (`--config`), then defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

use crate::broker::BrokerMode;

#[derive(Parser, Debug)]
#[command(name = "stewardd", version, about = "Steward's platform server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Print the permission catalog.
    Catalog {
        #[arg(long, value_enum, default_value_t = CatalogFormat::Json)]
        format: CatalogFormat,
    },
    /// Audit-trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Create an organization and print a single-use invite for its first owner.
    Bootstrap {
        #[arg(long, env = "STEWARD_DATA_DIR")]
        data_dir: PathBuf,
        #[arg(long)]
        org: String,
        #[arg(long)]
        owner_email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the audit chain; exits 1 when a record was edited or deleted.
    Verify {
        #[arg(long, env = "STEWARD_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CatalogFormat {
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (flags and environment win).
    #[arg(long, env = "STEWARD_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "STEWARD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one (the ready line says which).
    #[arg(long, env = "STEWARD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Seed the demo plant into an empty database (loopback only).
    #[arg(long)]
    pub demo: bool,
    #[arg(long, env = "STEWARD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, env = "STEWARD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address.
    #[arg(long)]
    pub insecure_http: bool,
    #[arg(long, env = "STEWARD_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Run without a broker: API keys work over REST only.
    #[arg(long, conflicts_with = "broker")]
    pub no_broker: bool,
    /// Use an external Mosquitto (with the dynamic-security plugin) at mqtt://host:port instead
    /// of starting one; its admin credential comes from STEWARD_BROKER_ADMIN_USERNAME and
    /// STEWARD_BROKER_ADMIN_PASSWORD.
    #[arg(long, env = "STEWARD_BROKER")]
    pub broker: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    insecure_http: Option<bool>,
    log_format: Option<LogFormat>,
}

/// The settings `serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub demo: bool,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub log_format: LogFormat,
    pub broker: BrokerMode,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: String, message: String },
    #[error("--data-dir (or STEWARD_DATA_DIR, or data_dir in the config file) is required")]
    NoDataDir,
    #[error("--tls-cert and --tls-key go together")]
    HalfTls,
    #[error("{0} is not a loopback address: serve it with --tls-cert/--tls-key, or pass --insecure-http")]
    InsecureNonLoopback(SocketAddr),
    #[error("--demo serves only on a loopback address")]
    DemoNotLoopback,
    #[error("--broker takes mqtt://host:port, not {0}")]
    BrokerUrl(String),
    #[error("--broker needs STEWARD_BROKER_ADMIN_USERNAME and STEWARD_BROKER_ADMIN_PASSWORD")]
    BrokerCredential,
}

/// `mqtt://host:port` (the port defaults to 1883).
fn parse_broker_url(url: &str) -> Result<(String, u16), ConfigError> {
    let bad = || ConfigError::BrokerUrl(url.to_owned());
    let rest = url.strip_prefix("mqtt://").ok_or_else(bad)?.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (rest, 1883),
    };
    if host.is_empty() || host.contains(['/', '@']) {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

fn broker_mode(no_broker: bool, url: Option<String>) -> Result<BrokerMode, ConfigError> {
    if no_broker {
        return Ok(BrokerMode::Off);
    }
    let Some(url) = url else {
        return Ok(BrokerMode::Supervised);
    };
    let (host, port) = parse_broker_url(&url)?;
    let username =
        std::env::var("STEWARD_BROKER_ADMIN_USERNAME").map_err(|_| ConfigError::BrokerCredential)?;
    let password =
        std::env::var("STEWARD_BROKER_ADMIN_PASSWORD").map_err(|_| ConfigError::BrokerCredential)?;
    Ok(BrokerMode::External {
        host,
        port,
        username,
        password,
    })
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

impl ServeArgs {
    pub fn resolve(self) -> Result<ServeConfig, ConfigError> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = self.data_dir.or(file.data_dir).ok_or(ConfigError::NoDataDir)?;
        let listen = self
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8443)));
        let tls = match (self.tls_cert.or(file.tls_cert), self.tls_key.or(file.tls_key)) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err(ConfigError::HalfTls),
        };
        let insecure = self.insecure_http || file.insecure_http.unwrap_or(false);
        if tls.is_none() && !listen.ip().is_loopback() && !insecure {
            return Err(ConfigError::InsecureNonLoopback(listen));
        }
        if self.demo && !listen.ip().is_loopback() {
            return Err(ConfigError::DemoNotLoopback);
        }
        let broker = broker_mode(self.no_broker, self.broker)?;
        Ok(ServeConfig {
            broker,
            data_dir,
            listen,
            demo: self.demo,
            tls,
            log_format: self.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(listen: &str) -> ServeArgs {
        ServeArgs {
            data_dir: Some(PathBuf::from("/tmp/x")),
            listen: Some(listen.parse().unwrap()),
            ..ServeArgs::default()
        }
    }

    #[test]
    fn plain_http_only_on_loopback_unless_insecure_is_explicit() {
        assert!(args("127.0.0.1:0").resolve().is_ok());
        assert!(matches!(
            args("0.0.0.0:80").resolve(),
            Err(ConfigError::InsecureNonLoopback(_))
        ));
        let mut a = args("0.0.0.0:80");
        a.insecure_http = true;
        assert!(a.resolve().is_ok());
        let mut demo = args("0.0.0.0:80");
        demo.insecure_http = true;
        demo.demo = true;
        assert!(matches!(demo.resolve(), Err(ConfigError::DemoNotLoopback)));
    }

    #[test]
    fn broker_urls() {
        assert_eq!(
            parse_broker_url("mqtt://127.0.0.1:1884").unwrap(),
            ("127.0.0.1".into(), 1884)
        );
        assert_eq!(
            parse_broker_url("mqtt://broker").unwrap(),
            ("broker".into(), 1883)
        );
        assert!(parse_broker_url("http://broker:1").is_err());
        assert!(parse_broker_url("mqtt://u:p@broker:1").is_err());
        let mut a = args("127.0.0.1:0");
        a.no_broker = true;
        assert!(matches!(a.resolve().unwrap().broker, BrokerMode::Off));
        assert!(matches!(
            args("127.0.0.1:0").resolve().unwrap().broker,
            BrokerMode::Supervised
        ));
    }

    #[test]
    fn the_file_fills_in_what_flags_leave_out() {
        let dir = std::env::temp_dir().join(format!("stewardd-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stewardd.toml");
        std::fs::write(
            &path,
            "data_dir = \"/var/lib/steward\"\nlisten = \"127.0.0.1:9000\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let cfg = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("/var/lib/steward"));
        assert_eq!(cfg.listen.port(), 9000);
        assert_eq!(cfg.log_format, LogFormat::Json);
        std::fs::write(&path, "listen = 5").unwrap();
        assert!(matches!(
            ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            }
            .resolve(),
            Err(ConfigError::Parse { .. })
        ));
    }
}
