//! The SPEC's scenarios 1–4 over real HTTP against a real stewardd on 127.0.0.1:0.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn scenario_1_each_role_sees_exactly_what_it_allows() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let coordinator = s.sign_in(CARMEN).await;
    let manager = s.sign_in(MANAGER).await;
    let management = s.sign_in(MANAGEMENT).await;

    // Technicians (operator) update tasks and events, not agents or users.
    let (status, task) = s
        .json(
            Method::POST,
            "/tasks",
            &tech,
            Some(json!({"title": "Replace FL-301 seal"})),
        )
        .await;
    assert_eq!(status, 201, "{task}");
    let (status, _) = s
        .json(
            Method::PATCH,
            &format!("/tasks/{}", task["id"]),
            &tech,
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        s.json(Method::POST, "/events", &tech, Some(json!({"title": "Leak"})))
            .await
            .0,
        201
    );
    assert_eq!(
        s.json(Method::POST, "/equipment", &tech, Some(json!({"title": "Pump"})))
            .await
            .0,
        403
    );
    assert_eq!(s.json(Method::GET, "/users", &tech, None).await.0, 200);
    assert_eq!(
        s.json(
            Method::POST,
            "/invites",
            &tech,
            Some(json!({"email": "x@y.example"}))
        )
        .await
        .0,
        403
    );

    // Coordinators (member) manage equipment but not users.
    assert_eq!(
        s.json(
            Method::POST,
            "/equipment",
            &coordinator,
            Some(json!({"title": "Pump P-7"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        s.json(
            Method::PUT,
            "/settings",
            &coordinator,
            Some(json!({"idle_timeout_minutes": 10}))
        )
        .await
        .0,
        403
    );

    // The manager (admin) manages users and settings.
    let (status, invited) = s
        .json(
            Method::POST,
            "/invites",
            &manager,
            Some(json!({"email": "new.tech@northplant.example", "role": "operator"})),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(
        s.json(
            Method::PUT,
            "/settings",
            &manager,
            Some(json!({"idle_timeout_minutes": 20}))
        )
        .await
        .0,
        200
    );

    // Management (viewer) reads everything and changes nothing.
    assert_eq!(s.json(Method::GET, "/tasks", &management, None).await.0, 200);
    assert_eq!(s.json(Method::GET, "/audit", &management, None).await.0, 200);
    let (status, denied) = s
        .json(Method::POST, "/tasks", &management, Some(json!({"title": "x"})))
        .await;
    assert_eq!(status, 403);
    assert_eq!(denied["code"], "forbidden");
    assert_eq!(
        denied["details"]["decision"]["reasons"][0]["reason"],
        "org_role_lacks"
    );

    // Each one's own view of their permissions is the role's row of the matrix.
    for (token, role) in [
        (&tech, "operator"),
        (&coordinator, "member"),
        (&manager, "admin"),
        (&management, "viewer"),
    ] {
        let (_, me) = s.json(Method::GET, "/session", token, None).await;
        let (_, catalog) = s.json(Method::GET, "/catalog", token, None).await;
        assert_eq!(me["permissions"], catalog["roles"][role], "{role}");
    }
}

#[tokio::test]
async fn scenario_2_scada_key_writes_events_reads_equipment_and_nothing_else() {
    let s = start().await;
    let key = s.scada_key();
    assert_eq!(
        s.json(Method::POST, "/events", &key, Some(json!({"title": "Alarm 42"})))
            .await
            .0,
        201
    );
    assert_eq!(s.json(Method::GET, "/equipment", &key, None).await.0, 200);
    for (method, path) in [
        (Method::POST, "/equipment"),
        (Method::GET, "/users"),
        (Method::GET, "/tasks"),
        (Method::PUT, "/settings"),
        (Method::GET, "/api-keys"),
    ] {
        let body = (method != Method::GET).then(|| json!({"title": "x"}));
        assert_eq!(
            s.json(method.clone(), path, &key, body).await.0,
            403,
            "{method} {path}"
        );
    }
    // Keys never reach project or asset actions.
    assert_eq!(s.json(Method::GET, "/projects/1", &key, None).await.0, 403);
    let (_, projects) = s.json(Method::GET, "/projects", &key, None).await;
    assert_eq!(projects, json!([]));
}

#[tokio::test]
async fn scenario_3_a_deactivated_technician_cannot_sign_in_sessions_end_records_stay() {
    let s = start().await;
    let tech = s.sign_in(TECH).await;
    let (_, task) = s
        .json(
            Method::POST,
            "/tasks",
            &tech,
            Some(json!({"title": "Greasing round"})),
        )
        .await;
    let manager = s.sign_in(MANAGER).await;
    let (_, users) = s.json(Method::GET, "/users", &manager, None).await;
    let tech_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == TECH)
        .unwrap()["id"]
        .clone();

    let (status, user) = s
        .json(
            Method::PATCH,
            &format!("/users/{tech_id}"),
            &manager,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["active"], false);

    // The live session ends at once.
    let (status, err) = s.json(Method::GET, "/tasks", &tech, None).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "session_ended");
    // Signing in again fails.
    let (email, password) = s.login_of(TECH);
    let r = s
        .http
        .post(s.url("/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "user_deactivated"
    );
    // Every record stays, with its author.
    let (_, kept) = s
        .json(Method::GET, &format!("/tasks/{}", task["id"]), &manager, None)
        .await;
    assert_eq!(kept["created_by"], format!("user:{tech_id}"));
    let (_, user) = s
        .json(Method::GET, &format!("/users/{tech_id}"), &manager, None)
        .await;
    assert_eq!(user["name"], TECH);
    // Reactivation restores sign-in.
    assert_eq!(
        s.json(
            Method::PATCH,
            &format!("/users/{tech_id}"),
            &manager,
            Some(json!({"active": true}))
        )
        .await
        .0,
        200
    );
    s.sign_in(TECH).await;
}

#[tokio::test]
async fn scenario_4_workforce_names_the_missing_agent_until_it_is_granted() {
    let s = start().await;
    let henrik = s.sign_in(HENRIK).await;
    let carmen = s.sign_in(CARMEN).await;
    let (_, assets) = s.json(Method::GET, "/projects/1/assets", &carmen, None).await;
    let find = |name: &str| {
        assets
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let workforce = find("Shift Handover");
    let thermal = find("Thermal Inspector");

    let (status, denied) = s
        .json(Method::POST, &format!("/assets/{workforce}/run"), &henrik, None)
        .await;
    assert_eq!(status, 403, "{denied}");
    let reasons = &denied["details"]["decision"]["reasons"];
    assert_eq!(reasons[0]["reason"], "cannot_run_agent");
    assert_eq!(reasons[0]["message"], "cannot run agent Thermal Inspector");

    // Carmen is editor of the project, so asset admin of the agent: she may share it.
    let (_, users) = s.json(Method::GET, "/users", &carmen, None).await;
    let henrik_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == HENRIK)
        .unwrap()["id"]
        .clone();
    let (status, body) = s
        .json(
            Method::PUT,
            &format!("/assets/{thermal}/roles"),
            &carmen,
            Some(json!({"grantee": {"kind": "user", "id": henrik_id}, "role": "member"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, task) = s
        .json(
            Method::POST,
            &format!("/assets/{workforce}/run"),
            &henrik,
            Some(json!({"input": {"shift": "B"}})),
        )
        .await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["asset_id"], workforce);
}

#[tokio::test]
async fn sign_in_attempts_are_in_the_audit_trail_with_their_outcome() {
    let s = start().await;
    let (email, _) = s.login_of(TECH);
    let r = s
        .http
        .post(s.url("/session"))
        .json(&json!({"email": email, "password": "wrong password!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.sign_in(TECH).await;
    let manager = s.sign_in(MANAGER).await;
    let (_, audit) = s
        .json(
            Method::GET,
            "/audit?action=session.sign_in&limit=50",
            &manager,
            None,
        )
        .await;
    let for_tech: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["after"]["email"] == email)
        .map(|e| {
            (
                e["outcome"].as_str().unwrap().to_owned(),
                e["after"]["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Newest first.
    assert_eq!(
        for_tech,
        vec![
            ("ok".to_owned(), "signed_in".to_owned()),
            ("denied".to_owned(), "wrong_password".to_owned())
        ]
    );
}
