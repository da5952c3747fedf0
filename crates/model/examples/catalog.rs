//! Prints the permission catalog and role matrices.
//!
//! `cargo run -q -p steward-model --example catalog -- --json` for clients and scripts,
//! `-- --markdown` for `docs/permissions.md`.

use std::process::ExitCode;

use steward_model::docs;

fn main() -> ExitCode {
    let format = std::env::args().nth(1).unwrap_or_else(|| "--json".to_owned());
    match format.as_str() {
        "--json" => match serde_json::to_string_pretty(&docs::catalog_document()) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: could not serialize the catalog: {e}");
                ExitCode::FAILURE
            }
        },
        "--markdown" => {
            print!("{}", docs::permissions_markdown());
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("error: unknown option `{other}`; use --json or --markdown");
            ExitCode::from(2)
        }
    }
}
