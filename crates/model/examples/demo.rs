//! The demo plant, asked the questions of the seed scenarios: who holds which role, and why
//! someone may or may not do something. `cargo xtask demo` runs this until stewardd and the
//! console exist.

use std::process::ExitCode;

use steward_model::demo::{self, ids};
use steward_model::*;

fn main() -> ExitCode {
    let plant = match demo::plant() {
        Ok(plant) => plant,
        Err(e) => {
            eprintln!("error: could not build the demo plant: {e}");
            return ExitCode::FAILURE;
        }
    };

    println!("Steward demo plant: North Plant\n");
    println!("People and their org roles (scenario 1):");
    for (id, user) in plant.users() {
        let perms = plant.org_permissions(Principal::User(id));
        println!(
            "  {:<18} {:<9} {:>2} permissions",
            user.name,
            user.org_role.name(),
            perms.len()
        );
    }

    println!("\nOrg role matrix (✓ = the role holds it):");
    print!("  {:<24}", "permission");
    for role in OrgRole::ALL {
        print!("{:>9}", role.name());
    }
    println!();
    for p in Permission::ALL {
        print!("  {:<24}", p.name());
        for role in OrgRole::ALL {
            print!(
                "{:>9}",
                if role.permissions().contains(*p) {
                    "✓"
                } else {
                    "·"
                }
            );
        }
        println!();
    }

    let name = |u: UserId| plant.user(u).map(|u| u.name.clone()).unwrap_or_default();
    let ask = |who: Principal, who_name: &str, action: Action, resource: Resource, what: &str| {
        let d = plant.decide(who, action, resource);
        let verdict = if d.allowed { "yes" } else { "no" };
        println!("\n  Can {who_name} {what}? {verdict}");
        for r in &d.reasons {
            println!("    - {}", plant.describe(r));
        }
    };

    println!("\nWhy / why not:");
    let tech = ids::TECHNICIANS[0];
    ask(
        Principal::User(tech),
        &name(tech),
        Permission::TasksManage.into(),
        Resource::Org,
        "manage tasks",
    );
    ask(
        Principal::User(tech),
        &name(tech),
        Permission::AgentsManage.into(),
        Resource::Org,
        "manage agents",
    );
    let henrik = ids::COORDINATORS[1];
    ask(
        Principal::User(henrik),
        &name(henrik),
        AssetAction::Run.into(),
        Resource::Asset(ids::HANDOVER_WORKFORCE),
        "run the Shift Handover workforce (scenario 4)",
    );
    ask(
        Principal::Key(ids::SCADA_KEY),
        "the SCADA North Plant key",
        Permission::EventsManage.into(),
        Resource::Org,
        "write events (scenario 2)",
    );
    ask(
        Principal::Key(ids::SCADA_KEY),
        "the SCADA North Plant key",
        Permission::SettingsManage.into(),
        Resource::Org,
        "change settings (scenario 2)",
    );

    println!("\nWho can run agent Vibration Analyst?");
    for (who, d) in plant.who_can(AssetAction::Run, Resource::Asset(ids::VIBRATION_AGENT)) {
        let label = match who {
            Principal::User(u) => name(u),
            Principal::Key(k) => format!("{k}"),
        };
        let why: Vec<String> = d.reasons.iter().map(|r| plant.describe(r)).collect();
        println!("  {label:<18} {}", why.join("; "));
    }

    println!(
        "\nThis is the permission model on its own. The platform server (stewardd), the desktop \
         console and the broker plane are built on it in the next steps."
    );
    ExitCode::SUCCESS
}
