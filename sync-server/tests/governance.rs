//! The people who manage a firm: the firm-wide list of ethical walls (firm admins and the
//! conflicts/risk role, `HUB_CONFLICTS_VALUE`), and copilot usage by month and as CSV.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::*;
use common::*;
use protocol::{DocName, Frame, Message, SyncMessage};
use reqwest::Method;
use yrs::{Doc, Map, Transact};

fn with_role(user: &str, role: &str) -> String {
    sync_server::auth::DevAuth::new(SECRET)
        .mint_with_role(user, FIRM, Some(role), 3600)
        .unwrap()
}

/// A matter owned by `owner`, with its title set through the sync socket.
async fn matter(firm: &Firm, owner: &str, title: &str) -> DocName {
    let record = DocName::case(&local::CaseId::parse(&new_case()).unwrap());
    let (mut socket, _) = open(&firm.url(), record.as_str(), &token(owner, FIRM)).await;
    let doc = Doc::new();
    let case = doc.get_or_insert_map("case");
    let update = {
        let mut txn = doc.transact_mut();
        case.insert(&mut txn, "title", title);
        txn.encode_update_v1()
    };
    send(
        &mut socket,
        Frame::new(record.as_str(), Message::Sync(SyncMessage::Update(update))),
    )
    .await;
    loop {
        if let Message::SyncStatus(ok) = next(&mut socket).await.unwrap().message {
            assert!(ok);
            break;
        }
    }
    // The title is read off the write path: wait for it.
    let pool = sqlx::PgPool::connect(&firm.database).await.unwrap();
    let case_id = uuid::Uuid::parse_str(record.case_id().as_str()).unwrap();
    for _ in 0..200 {
        let stored: Option<String> = sqlx::query_scalar("SELECT title FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        if stored.as_deref() == Some(title) {
            return record;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the title never reached the cases table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_firm_wide_walls_list_is_for_admins_and_the_risk_role_only() {
    let firm = Firm::one_instance_with(|settings| {
        settings.identity.conflicts_values = vec!["risk".into()];
    })
    .await;
    let server = firm.server();
    let acme = matter(&firm, "ada", "Acme v Widget").await;
    let other = matter(&firm, "ada", "Smith v Jones").await;
    let (admin, risk) = (with_role("root", "admin"), with_role("rita", "org:risk"));

    // The risk role walls Ben off Acme though she is no member of it.
    let (status, body) = rest(
        server,
        Method::PUT,
        &format!("/api/v1/cases/{}/screens/ben", acme.case_id()),
        &risk,
        Some(serde_json::json!({"reason": "acted for Widget"})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    // Rita herself is walled off Smith v Jones by an admin.
    let (status, _) = rest(
        server,
        Method::PUT,
        &format!("/api/v1/cases/{}/screens/rita", other.case_id()),
        &admin,
        Some(serde_json::json!({"reason": "family ties"})),
    )
    .await;
    assert_eq!(status, 204);

    let (status, walls) = rest(server, Method::GET, "/api/v1/screens", &admin, None).await;
    assert_eq!(status, 200);
    let listed: Vec<(&str, &str, &str)> = walls
        .as_array()
        .unwrap()
        .iter()
        .map(|wall| {
            (
                wall["case_title"].as_str().unwrap(),
                wall["user_id"].as_str().unwrap(),
                wall["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("Smith v Jones", "rita", "family ties"),
            ("Acme v Widget", "ben", "acted for Widget")
        ]
    );
    // The risk officer sees every wall but those of the matter she is walled off.
    let (status, walls) = rest(server, Method::GET, "/api/v1/screens", &risk, None).await;
    assert_eq!(status, 200);
    assert_eq!(walls.as_array().unwrap().len(), 1);
    assert_eq!(walls[0]["user_id"], "ben");
    let (_, matters) = rest(server, Method::GET, "/api/v1/matters", &risk, None).await;
    assert_eq!(matters.as_array().unwrap().len(), 1);
    assert_eq!(matters[0]["title"], "Acme v Widget");
    let (_, me) = rest(server, Method::GET, "/api/v1/me", &risk, None).await;
    assert_eq!(
        (
            me["firm_admin"].as_bool(),
            me["conflicts_officer"].as_bool()
        ),
        (Some(false), Some(true))
    );

    // An owner, a plain member and another role see no firm-wide list.
    for caller in [token("ada", FIRM), with_role("carl", "org:member")] {
        for path in ["/api/v1/screens", "/api/v1/matters"] {
            let (status, body) = rest(server, Method::GET, path, &caller, None).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("forbidden")),
                "{path}"
            );
        }
    }
    // The risk role lifts the wall; the risk role changes nothing else (members).
    let (status, _) = rest(
        server,
        Method::DELETE,
        &format!("/api/v1/cases/{}/screens/ben", acme.case_id()),
        &risk,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = rest(
        server,
        Method::PUT,
        &format!("/api/v1/cases/{}/members/ben", acme.case_id()),
        &risk,
        Some(serde_json::json!({"role": "editor"})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copilot_usage_is_grouped_by_month_and_exported_as_csv() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let acme = matter(&firm, "ada", "=Acme, \"Widget\"").await;
    let case_id = uuid::Uuid::parse_str(acme.case_id().as_str()).unwrap();
    let pool = sqlx::PgPool::connect(&firm.database).await.unwrap();
    for (at, user, prompt, answer, outcome) in [
        ("2026-10-03T10:00:00Z", "ada", 100, 50, "ok"),
        ("2026-10-20T10:00:00Z", "ada", 10, 5, "error"),
        ("2026-11-02T10:00:00Z", "ben", 7, 3, "ok"),
    ] {
        sqlx::query(
            "INSERT INTO copilot_usage (firm_id, user_id, case_id, action, model, prompt_tokens,
                 completion_tokens, tokens_estimated, latency_ms, outcome, at)
             VALUES ($1, $2, $3, 'summarize', 'm', $4, $5, false, 10, $6, $7::timestamptz)",
        )
        .bind(FIRM)
        .bind(user)
        .bind(case_id)
        .bind(prompt as i64)
        .bind(answer as i64)
        .bind(outcome)
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
    }
    let admin = with_role("root", "admin");
    let range = "since=2026-10-01T00:00:00Z&until=2026-12-01T00:00:00Z";
    let (status, report) = rest(
        server,
        Method::GET,
        &format!("/api/v1/copilot/usage?{range}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let months: Vec<(&str, i64)> = report["by_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["month"].as_str().unwrap(), m["calls"].as_i64().unwrap()))
        .collect();
    assert_eq!(months, vec![("2026-10", 2), ("2026-11", 1)]);
    assert_eq!(report["by_case"][0]["calls"], 3);
    assert_eq!(report["by_case"][0]["title"], "=Acme, \"Widget\"");

    let response = reqwest::Client::new()
        .get(format!(
            "http://{}/api/v1/copilot/usage.csv?{range}",
            server.addr
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    let title = "\"'=Acme, \"\"Widget\"\"\"";
    assert_eq!(
        csv,
        format!(
            "month,user_id,user_name,case_id,case_title,calls,errors,prompt_tokens,completion_tokens\r\n\
             \"2026-10\",\"ada\",\"\",{case_id},{title},2,1,110,55\r\n\
             \"2026-11\",\"ben\",\"\",{case_id},{title},1,0,7,3\r\n"
        )
    );
    // Only firm admins read usage.
    let (status, _) = rest(
        server,
        Method::GET,
        "/api/v1/copilot/usage.csv",
        &token("ada", FIRM),
        None,
    )
    .await;
    assert_eq!(status, 403);
}
