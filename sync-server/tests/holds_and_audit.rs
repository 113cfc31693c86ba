//! Legal holds (placed and lifted by firm admins, with a reason; nothing of a held matter is
//! deleted or compacted) and the firm-wide audit log with its CSV export.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::*;
use common::*;
use protocol::{Frame, Message, SyncMessage};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use yrs::{Doc, Map, Transact};

const WAIT: Duration = Duration::from_secs(20);

fn admin(user: &str) -> String {
    sync_server::auth::DevAuth::new(SECRET)
        .mint_with_role(user, FIRM, Some("admin"), 3600)
        .unwrap()
}

fn set_meta(doc: &Doc, key: &str, value: impl Into<yrs::Any>) -> Vec<u8> {
    let meta = doc.get_or_insert_map("meta");
    let mut txn = doc.transact_mut();
    meta.insert(&mut txn, key, value.into());
    txn.encode_update_v1()
}

/// Ada creates a draft (and so its matter, which she owns) with a title.
async fn ada_drafts(url: &str, ydoc: &Doc) -> (Socket, local::DocName) {
    let name = draft_name(&new_case());
    let (mut socket, _) = open(url, name.as_str(), &token("ada", FIRM)).await;
    send(
        &mut socket,
        Frame::new(
            name.as_str(),
            Message::Sync(SyncMessage::Update(set_meta(ydoc, "title", "Lease"))),
        ),
    )
    .await;
    assert_eq!(
        next(&mut socket).await.unwrap().message,
        Message::SyncStatus(true)
    );
    (socket, name)
}

/// `meta.deleted` of a draft as the server stores it (snapshot + update rows).
async fn stored_deleted(database: &str, doc: &local::DocName) -> Option<bool> {
    let pool = PgPool::connect(database).await.unwrap();
    let id = doc_id(&pool, doc.as_str()).await;
    let mut conn = pool.acquire().await.unwrap();
    let stored = sync_server::db::sync::load_document(&mut conn, id)
        .await
        .unwrap();
    let state = sync_server::hub::rebuild_state(&stored).unwrap();
    let ydoc = Doc::new();
    {
        use yrs::updates::decoder::Decode;
        let mut txn = ydoc.transact_mut();
        txn.apply_update(yrs::Update::decode_v1(&state).unwrap())
            .unwrap();
    }
    let meta = ydoc.get_or_insert_map("meta");
    let txn = ydoc.transact();
    match meta.get(&txn, "deleted") {
        Some(yrs::Out::Any(yrs::Any::Bool(deleted))) => Some(deleted),
        _ => None,
    }
}

async fn hold(
    server: &sync_server::app::Running,
    case: &str,
    token: &str,
    put: bool,
    reason: &str,
) -> (u16, Value) {
    let method = if put { Method::PUT } else { Method::DELETE };
    rest(
        server,
        method,
        &format!("/api/v1/cases/{case}/hold"),
        token,
        Some(json!({ "reason": reason })),
    )
    .await
}

fn actions(entries: &Value) -> Vec<String> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_firm_admins_place_and_lift_a_hold_with_a_reason_audited_and_listed() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let ydoc = Doc::new();
    let (_socket, name) = ada_drafts(&firm.url(), &ydoc).await;
    let case = name.case_id().to_string();
    let (ada, root) = (token("ada", FIRM), admin("root"));

    // The matter's owner is not a firm admin: refused.
    let (status, body) = hold(server, &case, &ada, true, "Smith v. Jones").await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    // Another firm's admin: the matter does not exist.
    let outsider = sync_server::auth::DevAuth::new(SECRET)
        .mint_with_role("mallory", "firm-other", Some("admin"), 3600)
        .unwrap();
    let (status, _) = hold(server, &case, &outsider, true, "x").await;
    assert_eq!(status, 404);
    // A reason is required.
    let (status, body) = hold(server, &case, &root, true, "  ").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("hold_reason_required"))
    );

    let (status, body) = hold(server, &case, &root, true, "Smith v. Jones, litigation").await;
    assert_eq!(status, 204, "{body}");
    let (_, listing) = rest(server, Method::GET, "/api/v1/cases", &ada, None).await;
    let matter = &listing.as_array().unwrap()[0];
    assert_eq!(matter["legal_hold"], true);
    assert_eq!(matter["hold_reason"], "Smith v. Jones, litigation");
    assert_eq!(matter["hold_by"], "root");
    assert!(matter["hold_at"].is_string());

    // Lifting: admins only, with a reason.
    let (status, _) = hold(server, &case, &ada, false, "settled").await;
    assert_eq!(status, 403);
    let (status, body) = rest(
        server,
        Method::DELETE,
        &format!("/api/v1/cases/{case}/hold"),
        &root,
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("hold_reason_required"))
    );
    let (status, _) = hold(server, &case, &root, false, "Settled on 2026-12-01").await;
    assert_eq!(status, 204);
    let (status, body) = hold(server, &case, &root, false, "again").await;
    assert_eq!((status, body["code"].as_str()), (409, Some("not_on_hold")));
    let (_, listing) = rest(server, Method::GET, "/api/v1/cases", &ada, None).await;
    assert_eq!(listing[0]["legal_hold"], false);
    assert_eq!(listing[0]["hold_reason"], Value::Null);

    // Both are in the matter's audit, with who and why.
    let (_, log) = rest(
        server,
        Method::GET,
        &format!("/api/v1/cases/{case}/audit"),
        &ada,
        None,
    )
    .await;
    let entries = log.as_array().unwrap();
    let placed = entries
        .iter()
        .find(|e| e["action"] == "legal_hold_placed")
        .unwrap();
    assert_eq!(
        (
            placed["user_id"].as_str(),
            placed["detail"]["reason"].as_str()
        ),
        (Some("root"), Some("Smith v. Jones, litigation"))
    );
    let lifted = entries
        .iter()
        .find(|e| e["action"] == "legal_hold_lifted")
        .unwrap();
    assert_eq!(lifted["detail"]["reason"], "Settled on 2026-12-01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_a_held_matters_draft_and_says_why() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let ydoc = Doc::new();
    let (mut socket, name) = ada_drafts(&firm.url(), &ydoc).await;
    let case = name.case_id().to_string();
    let (status, _) = hold(
        server,
        &case,
        &admin("root"),
        true,
        "Regulator's investigation",
    )
    .await;
    assert_eq!(status, 204);

    // Ada's laptop deletes the draft anyway (an old app): the server undoes it, tells her why
    // and acks, so her outbox does not resend it.
    send(
        &mut socket,
        Frame::new(
            name.as_str(),
            Message::Sync(SyncMessage::Update(set_meta(&ydoc, "deleted", true))),
        ),
    )
    .await;
    let (mut acked, mut undo, mut notice) = (false, None, None);
    while !(acked && undo.is_some() && notice.is_some()) {
        match next_within(&mut socket, WAIT).await.unwrap().message {
            Message::SyncStatus(true) => acked = true,
            Message::Sync(SyncMessage::Update(update)) => undo = Some(update),
            Message::Stateless(text) => {
                notice = Some(serde_json::from_str::<Value>(&text).unwrap())
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let notice = notice.unwrap();
    assert_eq!(notice["code"], "legal_hold");
    assert!(
        notice["message"]
            .as_str()
            .unwrap()
            .contains("Regulator's investigation"),
        "{notice}"
    );
    {
        use yrs::updates::decoder::Decode;
        ydoc.transact_mut()
            .apply_update(yrs::Update::decode_v1(&undo.unwrap()).unwrap())
            .unwrap();
    }
    let meta = ydoc.get_or_insert_map("meta");
    assert_eq!(
        meta.get(&ydoc.transact(), "deleted"),
        Some(yrs::Out::Any(yrs::Any::Bool(false)))
    );
    assert_eq!(stored_deleted(&firm.database, &name).await, Some(false));

    // Whatever deletes rows, Postgres refuses on a held matter.
    let pool = PgPool::connect(&firm.database).await.unwrap();
    for statement in [
        "DELETE FROM cases WHERE id = $1::uuid",
        "DELETE FROM documents WHERE case_id = $1::uuid",
        "DELETE FROM doc_updates WHERE doc_id IN (SELECT id FROM documents WHERE case_id = $1::uuid)",
    ] {
        let error = sqlx::query(statement)
            .bind(&case)
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("legal hold"),
            "{statement}: {error}"
        );
    }

    let (_, log) = rest(
        server,
        Method::GET,
        &format!("/api/v1/cases/{case}/audit"),
        &token("ada", FIRM),
        None,
    )
    .await;
    assert!(actions(&log).contains(&"deletion_refused_legal_hold".to_owned()));

    // Lifted: the same deletion goes through.
    let (status, _) = hold(server, &case, &admin("root"), false, "Investigation closed").await;
    assert_eq!(status, 204);
    send(
        &mut socket,
        Frame::new(
            name.as_str(),
            Message::Sync(SyncMessage::Update(set_meta(&ydoc, "deleted", true))),
        ),
    )
    .await;
    assert_eq!(
        next_within(&mut socket, WAIT).await.unwrap().message,
        Message::SyncStatus(true)
    );
    assert_eq!(stored_deleted(&firm.database, &name).await, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_every_update_of_a_held_matter() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let ydoc = Doc::new();
    let (mut socket, name) = ada_drafts(&firm.url(), &ydoc).await;
    let case = name.case_id().to_string();
    assert_eq!(
        hold(server, &case, &admin("root"), true, "Litigation")
            .await
            .0,
        204
    );
    for i in 0..30 {
        send(
            &mut socket,
            Frame::new(
                name.as_str(),
                Message::Sync(SyncMessage::Update(set_meta(
                    &ydoc,
                    "title",
                    format!("Lease {i}"),
                ))),
            ),
        )
        .await;
        assert_eq!(
            next_within(&mut socket, WAIT).await.unwrap().message,
            Message::SyncStatus(true)
        );
    }
    let pool = PgPool::connect(&firm.database).await.unwrap();
    let doc_id = doc_id(&pool, name.as_str()).await;
    let rows = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM doc_updates WHERE doc_id = $1")
            .bind(doc_id)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(rows(pool.clone()).await, 31);
    let rebuild =
        |stored: &sync_server::db::sync::StoredDocument| sync_server::hub::rebuild_state(stored);
    let folded = sync_server::db::sync::compact_document(&pool, doc_id, rebuild)
        .await
        .unwrap();
    assert_eq!(folded.rows, 0, "a held matter is not compacted");
    assert_eq!(rows(pool.clone()).await, 31);

    assert_eq!(
        hold(server, &case, &admin("root"), false, "Settled")
            .await
            .0,
        204
    );
    let folded = sync_server::db::sync::compact_document(&pool, doc_id, rebuild)
        .await
        .unwrap();
    assert_eq!((folded.rows, folded.updates), (31, 31));
    assert_eq!(rows(pool).await, 0);
}

async fn csv(
    server: &sync_server::app::Running,
    query: &str,
    token: &str,
) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .get(format!("http://{}/api/v1/audit.csv{query}", server.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_firm_audit_filters_and_hides_the_matters_an_admin_is_walled_from() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let url = firm.url();
    let (ada, root, rita) = (token("ada", FIRM), admin("root"), admin("rita"));
    let (_a, open_matter) = ada_drafts(&url, &Doc::new()).await;
    let (_b, walled) = ada_drafts(&url, &Doc::new()).await;
    let (open_case, walled_case) = (
        open_matter.case_id().to_string(),
        walled.case_id().to_string(),
    );
    grant(server, &ada, &open_matter, "ben", "editor").await;
    // Rita, a firm admin, is walled off the second matter (Ada owns it and screens her).
    let (status, _) = rest(
        server,
        Method::PUT,
        &format!("/api/v1/cases/{walled_case}/screens/rita"),
        &ada,
        Some(json!({"reason": "acted for the other side"})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        hold(server, &walled_case, &root, true, "Litigation")
            .await
            .0,
        204
    );
    assert_eq!(hold(server, &open_case, &root, true, "Audit").await.0, 204);

    // Root sees the whole firm: both matters, sign-ins, access changes, walls, holds.
    let (status, all) = rest(server, Method::GET, "/api/v1/audit", &root, None).await;
    assert_eq!(status, 200, "{all}");
    let seen = actions(&all);
    for action in [
        "case_created",
        "access_granted",
        "screen_added",
        "legal_hold_placed",
        "sign_in_seen",
    ] {
        assert!(seen.contains(&action.to_owned()), "{action} in {seen:?}");
    }
    let ids: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "newest first");
    let cases = |entries: &Value| -> Vec<String> {
        entries
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["case_id"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(cases(&all).contains(&walled_case));

    // Filters: matter, person, action, dates, pages.
    let (_, one) = rest(
        server,
        Method::GET,
        &format!("/api/v1/audit?case={open_case}"),
        &root,
        None,
    )
    .await;
    assert!(!cases(&one).is_empty() && cases(&one).iter().all(|case| *case == open_case));
    let (_, by_root) = rest(server, Method::GET, "/api/v1/audit?actor=root", &root, None).await;
    assert!(
        by_root
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] == "root")
    );
    assert_eq!(
        actions(&by_root)
            .iter()
            .filter(|a| *a == "legal_hold_placed")
            .count(),
        2
    );
    let (_, holds) = rest(
        server,
        Method::GET,
        "/api/v1/audit?action=legal_hold_placed",
        &root,
        None,
    )
    .await;
    assert_eq!(actions(&holds), ["legal_hold_placed", "legal_hold_placed"]);
    let today = chrono::Utc::now().date_naive();
    let (_, later) = rest(
        server,
        Method::GET,
        &format!("/api/v1/audit?from={}", today.succ_opt().unwrap()),
        &root,
        None,
    )
    .await;
    assert_eq!(later, json!([]));
    let (_, earlier) = rest(
        server,
        Method::GET,
        &format!("/api/v1/audit?to={}", today.pred_opt().unwrap()),
        &root,
        None,
    )
    .await;
    assert_eq!(earlier, json!([]));
    let (_, within) = rest(
        server,
        Method::GET,
        &format!("/api/v1/audit?from={today}&to={today}"),
        &root,
        None,
    )
    .await;
    assert_eq!(within.as_array().unwrap().len(), ids.len());
    let (_, first) = rest(server, Method::GET, "/api/v1/audit?limit=1", &root, None).await;
    let (_, second) = rest(
        server,
        Method::GET,
        &format!("/api/v1/audit?limit=1&before={}", ids[0]),
        &root,
        None,
    )
    .await;
    assert_eq!(
        (first[0]["id"].as_i64(), second[0]["id"].as_i64()),
        (Some(ids[0]), Some(ids[1]))
    );
    let (status, body) = rest(
        server,
        Method::GET,
        "/api/v1/audit?from=yesterday",
        &root,
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_date")));

    // Rita, an admin walled off one matter, sees nothing of it: not in the list, not by filter,
    // not in the CSV.
    let (status, hers) = rest(server, Method::GET, "/api/v1/audit?limit=1000", &rita, None).await;
    assert_eq!(status, 200);
    assert!(!cases(&hers).contains(&walled_case), "{hers}");
    assert!(cases(&hers).contains(&open_case));
    let (_, filtered) = rest(
        server,
        Method::GET,
        &format!("/api/v1/audit?case={walled_case}"),
        &rita,
        None,
    )
    .await;
    assert_eq!(filtered, json!([]));
    let (status, _, text) = csv(server, "", &rita).await;
    assert_eq!(status, 200);
    assert!(!text.contains(&walled_case), "{text}");
    assert!(text.contains(&open_case));

    // Others: the firm log is for admins; an owner sees their own matter's entries.
    let (status, _) = rest(server, Method::GET, "/api/v1/audit", &ada, None).await;
    assert_eq!(status, 403);
    let (status, owned) = rest(
        server,
        Method::GET,
        &format!("/api/v1/audit?case={open_case}"),
        &ada,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(cases(&owned).iter().all(|case| *case == open_case) && !cases(&owned).is_empty());
    let (status, _) = rest(
        server,
        Method::GET,
        &format!("/api/v1/audit?case={open_case}"),
        &token("ben", FIRM),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = csv(server, "", &token("ben", FIRM)).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_quotes_cells_and_defuses_formulas() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let (_socket, name) = ada_drafts(&firm.url(), &Doc::new()).await;
    let case = name.case_id().to_string();
    let pool = PgPool::connect(&firm.database).await.unwrap();
    sqlx::query("UPDATE cases SET title = $2 WHERE id = $1::uuid")
        .bind(&case)
        .bind("=HYPERLINK(\"http://evil.example\",\"x\"), \"quoted\"")
        .execute(&pool)
        .await
        .unwrap();
    let root = admin("root");
    assert_eq!(
        hold(server, &case, &root, true, "-1+1, \"a\"\nb").await.0,
        204
    );

    let (status, kind, text) = csv(server, &format!("?case={case}"), &root).await;
    assert_eq!(status, 200);
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(text.starts_with("id,at,matter,matter_title,user,user_name,action,detail\r\n"));
    assert!(text.ends_with("\r\n"));
    assert!(
        text.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\"), \"\"quoted\"\"\","),
        "{text}"
    );
    // The hold's reason is inside the JSON detail, quoted as one cell.
    assert!(
        text.contains(
            ",legal_hold_placed,\"{\"\"reason\"\":\"\"-1+1, \\\"\"a\\\"\"\\nb\"\"}\"\r\n"
        ),
        "{text}"
    );
    // Every line has the header's eight cells (a quoted comma or line break splits nothing).
    let mut records = 0;
    let (mut quoted, mut cells) = (false, 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells += 1,
            '\r' if !quoted => {
                assert_eq!(chars.next(), Some('\n'));
                assert_eq!(cells, 8, "record {records}");
                records += 1;
                cells = 1;
            }
            _ => {}
        }
    }
    assert!(records >= 3, "{text}");
    // The export itself is audited.
    let (_, log) = rest(
        server,
        Method::GET,
        "/api/v1/audit?action=audit_exported",
        &root,
        None,
    )
    .await;
    assert_eq!(log.as_array().unwrap().len(), 1);
}
