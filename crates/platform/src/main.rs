//! `stewardd`: see `stewardd --help`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use steward_platform::clock::SystemClock;
use steward_platform::config::{AuditCommand, CatalogFormat, Cli, Command, LogFormat};
use steward_platform::store::{Actor, WriteCtx};
use steward_platform::{Limits, serve};
use tracing_subscriber::EnvFilter;

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("STEWARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Catalog { format } => {
            match format {
                CatalogFormat::Json => {
                    match serde_json::to_string_pretty(&steward_model::docs::catalog_document()) {
                        Ok(json) => println!("{json}"),
                        Err(e) => {
                            eprintln!("error: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                CatalogFormat::Markdown => print!("{}", steward_model::docs::permissions_markdown()),
            }
            ExitCode::SUCCESS
        }
        Command::Audit {
            command: AuditCommand::Verify { data_dir },
        } => {
            let state = match serve::open(&data_dir, Arc::new(SystemClock), Limits::default()) {
                Ok(state) => state,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            match state.store.audit_verify() {
                Ok(check) => {
                    println!("{}", serde_json::to_string(&check).unwrap_or_default());
                    if check.ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Bootstrap {
            data_dir,
            org,
            owner_email,
        } => {
            let result = (|| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
                let state = serve::open(&data_dir, Arc::new(SystemClock), Limits::default())?;
                let now = state.clock.now_ms();
                let ctx = WriteCtx {
                    org: 0,
                    actor: Actor::System,
                    source: "bootstrap".into(),
                    now,
                    idempotency: None,
                    status: 201,
                };
                let org_id = state.store.create_org(&ctx, &org)?;
                let token = steward_platform::auth::secrets::new_invite_token()?;
                let ctx = WriteCtx { org: org_id, ..ctx };
                let invite = state.store.create_invite(
                    &ctx,
                    &owner_email,
                    steward_model::OrgRole::Owner,
                    &state.tokens.hash(&token),
                    now + state.limits.invite_ttl_ms,
                )?;
                Ok(serde_json::json!({ "org": org_id, "invite": invite, "token": token }))
            })();
            match result {
                Ok(v) => {
                    println!("{v}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve(args) => {
            let cfg = match args.resolve() {
                Ok(cfg) => cfg,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            init_logging(cfg.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve::run(cfg)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "stewardd stopped");
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
