//! The directory views and the generic change path against a real stewardd on 127.0.0.1:
//! sharing an asset (scenario 4's missing agent), group and project changes queued offline and
//! marked in the views, invites online only, bad input refused before the outbox, CSV exports.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::sync::Arc;

use steward_console_core::secrets::MemoryStore;
use steward_console_core::{ChangeRequest, Console, GranteeRef, OutboxState};
use steward_model::demo::ids;

mod common;
use common::{Platform, platform};

async fn signed_in(p: &Platform, dir: &Path) -> Console {
    let c = Console::new(dir, Arc::new(MemoryStore::default()));
    let (email, password) = p.login("Marco Manager");
    c.sign_in(&p.url(), &email, &password, None).await.unwrap();
    c
}

fn henrik() -> u32 {
    ids::COORDINATORS[1].0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_the_missing_agent_makes_the_workforce_runnable() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = signed_in(&p, dir.path()).await;

    // Scenario 4: the readiness view names the agent Henrik is missing.
    let handover = c
        .workforces()
        .unwrap()
        .into_iter()
        .find(|w| w.id == ids::HANDOVER_WORKFORCE.0)
        .unwrap();
    let blocked = handover.blocked.iter().find(|b| b.id == henrik()).unwrap();
    assert_eq!(blocked.missing_agents, ["Thermal Inspector"]);

    let share = ChangeRequest::SetAssetRole {
        grantee: GranteeRef::User(henrik()),
        asset: ids::THERMAL_AGENT.0,
        role: Some("member".into()),
    };
    let preview = c.preview_change(&share).unwrap();
    assert!(
        preview.iter().any(|l| l.gained
            && l.principal == "Henrik Larsen"
            && l.text.contains("asset.run on Thermal Inspector")),
        "{preview:?}"
    );
    // The workforce run is gained too: the missing agent was all that stood in the way.
    assert!(
        preview
            .iter()
            .any(|l| l.gained && l.text.contains("asset.run on Shift Handover")),
        "{preview:?}"
    );
    c.submit_change(&share).await.unwrap();
    assert!(c.outbox().unwrap().is_empty(), "accepted at once");

    let thermal = c
        .asset_rows()
        .unwrap()
        .into_iter()
        .find(|a| a.id == ids::THERMAL_AGENT.0)
        .unwrap();
    let grant = thermal
        .grants
        .iter()
        .find(|g| g.grantee == GranteeRef::User(henrik()))
        .unwrap();
    assert_eq!(grant.role, "member");
    assert!(!grant.pending && !thermal.pending);
    let handover = c
        .workforces()
        .unwrap()
        .into_iter()
        .find(|w| w.id == ids::HANDOVER_WORKFORCE.0)
        .unwrap();
    assert!(handover.ready.iter().any(|r| r.id == henrik()));
    assert!(handover.blocked.iter().all(|b| b.id != henrik()));

    // The platform holds it: a fresh console sees it after its first sync.
    let other = tempfile::tempdir().unwrap();
    let fresh = signed_in(&p, other.path()).await;
    let thermal = fresh
        .asset_rows()
        .unwrap()
        .into_iter()
        .find(|a| a.id == ids::THERMAL_AGENT.0)
        .unwrap();
    assert!(
        thermal
            .grants
            .iter()
            .any(|g| g.grantee == GranteeRef::User(henrik()) && g.role == "member")
    );

    // Removing the grant goes through the same path.
    let remove = ChangeRequest::SetAssetRole {
        grantee: GranteeRef::User(henrik()),
        asset: ids::THERMAL_AGENT.0,
        role: None,
    };
    let preview = c.preview_change(&remove).unwrap();
    assert!(preview.iter().all(|l| !l.gained), "{preview:?}");
    c.submit_change(&remove).await.unwrap();
    let thermal = c
        .asset_rows()
        .unwrap()
        .into_iter()
        .find(|a| a.id == ids::THERMAL_AGENT.0)
        .unwrap();
    assert!(
        thermal
            .grants
            .iter()
            .all(|g| g.grantee != GranteeRef::User(henrik()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_group_and_project_changes_are_queued_marked_and_replayed() {
    let mut p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = signed_in(&p, dir.path()).await;
    p.stop();

    let tech = ids::TECHNICIANS[5].0;
    let join = ChangeRequest::SetGroupMember {
        group: ids::SHIFT_A.0,
        user: tech,
        member: true,
    };
    // Joining Shift A brings its project chat role and its grant on the vibration agent.
    let preview = c.preview_change(&join).unwrap();
    assert!(preview.iter().any(|l| l.gained), "{preview:?}");
    let item = c.submit_change(&join).await.unwrap();
    assert_eq!(item.state, OutboxState::Pending);

    let viewer_role = ChangeRequest::SetProjectRole {
        grantee: GranteeRef::User(ids::MANAGEMENT_2.0),
        project: ids::RELIABILITY.0,
        role: Some("viewer".into()),
    };
    assert_eq!(
        c.submit_change(&viewer_role).await.unwrap().state,
        OutboxState::Pending
    );

    let deactivate = ChangeRequest::SetUserActive {
        user: ids::TECHNICIANS[7].0,
        active: false,
    };
    let preview = c.preview_change(&deactivate).unwrap();
    assert!(preview.iter().all(|l| !l.gained) && !preview.is_empty());
    assert_eq!(
        c.submit_change(&deactivate).await.unwrap().state,
        OutboxState::Pending
    );

    // Every view shows the queued state, marked.
    let shift_a = c
        .groups()
        .unwrap()
        .into_iter()
        .find(|g| g.id == ids::SHIFT_A.0)
        .unwrap();
    assert!(shift_a.pending);
    let member = shift_a.members.iter().find(|m| m.id == tech).unwrap();
    assert!(member.pending);
    assert!(
        shift_a
            .members
            .iter()
            .filter(|m| m.id != tech)
            .all(|m| !m.pending)
    );
    let project = c
        .project_rows()
        .unwrap()
        .into_iter()
        .find(|r| r.id == ids::RELIABILITY.0)
        .unwrap();
    assert!(project.pending);
    let bernd = project
        .grants
        .iter()
        .find(|g| g.grantee == GranteeRef::User(ids::MANAGEMENT_2.0))
        .unwrap();
    assert_eq!((bernd.role.as_str(), bernd.pending), ("viewer", true));
    let shift_grant = project
        .grants
        .iter()
        .find(|g| g.grantee == GranteeRef::Group(ids::SHIFT_A.0))
        .unwrap();
    assert_eq!((shift_grant.people, shift_grant.pending), (5, false));
    assert!(
        c.people()
            .unwrap()
            .iter()
            .any(|u| u.id == ids::TECHNICIANS[7].0 && !u.active)
    );

    // Inviting needs the platform: it is a secret the platform mints, never queued.
    let e = c.invite("new.tech@north.example", "operator").await.unwrap_err();
    assert_eq!(e.code(), "offline");
    assert_eq!(c.outbox().unwrap().len(), 3);

    p.restart().await;
    let report = c.replay().await.unwrap();
    assert_eq!(report.accepted, 3, "{report:?}");
    let shift_a = c
        .groups()
        .unwrap()
        .into_iter()
        .find(|g| g.id == ids::SHIFT_A.0)
        .unwrap();
    assert!(!shift_a.pending);
    assert!(shift_a.members.iter().any(|m| m.id == tech && !m.pending));
    let plant = p.state.plant(1).unwrap();
    assert!(!plant.user(ids::TECHNICIANS[7]).unwrap().active);
    assert!(
        plant
            .group(ids::SHIFT_A)
            .unwrap()
            .members()
            .contains(&ids::TECHNICIANS[5])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_invalid_input_and_never_queued() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = signed_in(&p, dir.path()).await;
    let bad = [
        ChangeRequest::SetAssetRole {
            grantee: GranteeRef::User(henrik()),
            asset: ids::THERMAL_AGENT.0,
            role: Some("editor".into()),
        },
        ChangeRequest::SetGroupMember {
            group: 99,
            user: henrik(),
            member: true,
        },
        ChangeRequest::SetProjectRole {
            grantee: GranteeRef::Group(ids::SHIFT_A.0),
            project: 42,
            role: Some("member".into()),
        },
    ];
    for request in bad {
        assert_eq!(c.preview_change(&request).unwrap_err().code(), "invalid_input");
        assert_eq!(
            c.submit_change(&request).await.unwrap_err().code(),
            "invalid_input"
        );
    }
    assert!(c.outbox().unwrap().is_empty());
    assert_eq!(
        c.invite("not an address", "viewer").await.unwrap_err().code(),
        "invalid_input"
    );
    assert_eq!(
        c.invite("a@b.example", "emperor").await.unwrap_err().code(),
        "invalid_input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_online_returns_its_token_once_and_exports_are_csv() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = signed_in(&p, dir.path()).await;
    let invitation = c.invite("new.tech@north.example", "operator").await.unwrap();
    assert_eq!(invitation.email, "new.tech@north.example");
    assert_eq!(invitation.role, "operator");
    assert!(!invitation.token.is_empty());
    // The token never shows in debug output (logs).
    assert!(!format!("{invitation:?}").contains(&invitation.token));

    let roles = c.export_role_assignments().unwrap();
    assert!(roles.starts_with("user,org role,active,groups,project roles,asset roles\r\n"));
    assert_eq!(roles.lines().count(), 1 + 15);
    let matrix = c.export_effective_matrix().unwrap();
    assert!(matrix.lines().nth(1).unwrap().contains(",x"));
}
