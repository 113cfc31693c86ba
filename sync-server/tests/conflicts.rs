//! The conflict-of-interest check over REST against real Postgres: matters made on a real
//! laptop reach the firm's party index from the write path; `POST /api/v1/conflicts/check`
//! matches across legal forms, accents and typos, hides walled matters behind "ask someone", and
//! is audited and recorded on the matter opened after it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{FIRM, Firm, Laptop, SECRET, rest, token};
use local::store::matter_record::CaseFields;
use local::{CaseId, DocName};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use sync_server::auth::{DevAuth, DevToken};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A token for `user` with a firm role and a name (the name reaches the firm directory).
fn token_with(user: &str, role: Option<&str>, name: Option<&str>) -> String {
    DevAuth::new(SECRET)
        .mint_token(&DevToken {
            user,
            firm: FIRM,
            role,
            name,
            ttl_secs: 3600,
            ..DevToken::default()
        })
        .unwrap()
}

/// `laptop` opens a matter with these parties and waits until the server holds it and has
/// indexed its parties.
async fn open_matter(
    firm: &Firm,
    laptop: &mut Laptop,
    fields: CaseFields,
    parties: &[(&str, &str)],
) -> CaseId {
    let parties: Vec<(String, String)> = parties
        .iter()
        .map(|(role, name)| (role.to_string(), name.to_string()))
        .collect();
    let case = laptop
        .store
        .create_case_with_parties(&fields, &parties)
        .unwrap();
    laptop.open(&DocName::case(&case));
    laptop.wait_synced(TIMEOUT).await;
    let expected = parties.len() as i64 + i64::from(!fields.client.is_empty())
        - parties.iter().filter(|(role, _)| role == "court").count() as i64;
    let pool = PgPool::connect(&firm.database).await.unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let indexed: i64 =
            sqlx::query_scalar("SELECT count(*) FROM case_parties WHERE case_id = $1")
                .bind(uuid::Uuid::parse_str(case.as_str()).unwrap())
                .fetch_one(&pool)
                .await
                .unwrap();
        if indexed >= expected {
            return case;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server did not index the matter's parties ({indexed} of {expected})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn matter(title: &str, client: &str) -> CaseFields {
    CaseFields {
        title: title.into(),
        client: client.into(),
        ..CaseFields::default()
    }
}

async fn check(firm: &Firm, token: &str, request: Value) -> Value {
    let (status, body) = rest(
        firm.server(),
        Method::POST,
        "/api/v1/conflicts/check",
        token,
        Some(request),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn hits(body: &Value) -> &Vec<Value> {
    body["hits"].as_array().unwrap()
}

#[tokio::test]
async fn names_match_across_legal_forms_accents_and_typos_and_others_do_not() {
    let firm = Firm::one_instance().await;
    let mut ada = firm.laptop("ada");
    let case = open_matter(
        &firm,
        &mut ada,
        matter("Acme v. Société Générale", "Acme Corp."),
        &[
            ("opposing_party", "Société Générale"),
            ("related", "Globex Corporation"),
            ("court", "High Court of Justice"),
        ],
    )
    .await;
    let ada_token = token("ada", FIRM);

    for (request, party, kind, rule) in [
        (
            json!({"client": "ACME Corporation"}),
            "Acme Corp.",
            "client",
            "same_name",
        ),
        (
            json!({"client": "Acme, Inc."}),
            "Acme Corp.",
            "client",
            "same_name",
        ),
        (
            json!({"adverse": ["Societe Generale S.A."]}),
            "Société Générale",
            "adverse",
            "same_name",
        ),
        (
            json!({"related": ["Glubex Ltd"]}),
            "Globex Corporation",
            "related",
            "spelling_differs",
        ),
        (
            json!({"client": "Globex Holdings"}),
            "Globex Corporation",
            "related",
            "name_contained",
        ),
    ] {
        let body = check(&firm, &ada_token, request.clone()).await;
        let hits = hits(&body);
        assert_eq!(hits.len(), 1, "{request} → {body}");
        let hit = &hits[0];
        assert_eq!(hit["visibility"], "detail");
        assert_eq!(hit["case_id"], case.as_str());
        assert_eq!(hit["title"], "Acme v. Société Générale");
        assert_eq!(hit["party"], party, "{request}");
        assert_eq!(hit["party_kind"], kind);
        assert_eq!(hit["rule"], rule, "{request}");
    }

    // Different companies, a short name one letter off, and a court: nothing.
    for request in [
        json!({"client": "Initech LLC", "adverse": ["Umbrella Corp"]}),
        json!({"client": "Acne Corp."}),
        json!({"related": ["High Court of Justice"]}),
    ] {
        let body = check(&firm, &ada_token, request.clone()).await;
        assert!(hits(&body).is_empty(), "{request} → {body}");
        assert_eq!(body["total"], 0);
    }

    // Ranked: the exact name before the contained one.
    let body = check(
        &firm,
        &ada_token,
        json!({"client": "Acme", "adverse": ["Acme Corp"]}),
    )
    .await;
    let scores: Vec<f64> = hits(&body)
        .iter()
        .map(|hit| hit["score"].as_f64().unwrap())
        .collect();
    assert!(!scores.is_empty());
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );
}

#[tokio::test]
async fn a_hit_on_a_walled_matter_reveals_only_that_it_exists_and_whom_to_ask() {
    let firm = Firm::one_instance().await;
    // Ada's name reaches the directory through a named token.
    let ada_named = token_with("ada", None, Some("Ada Lovelace"));
    rest(
        firm.server(),
        Method::GET,
        "/api/v1/cases",
        &ada_named,
        None,
    )
    .await;
    let mut ada = firm.laptop("ada");
    let title = "Project Nightingale: hostile bid";
    let case = open_matter(
        &firm,
        &mut ada,
        matter(title, "Nightingale Holdings"),
        &[
            ("opposing_party", "Acme Corp."),
            ("related", "Zebulon Ventures"),
        ],
    )
    .await;
    // Carol is walled off the matter.
    let (status, body) = rest(
        firm.server(),
        Method::PUT,
        &format!("/api/v1/cases/{case}/screens/carol"),
        &token("ada", FIRM),
        Some(json!({"reason": "acted for the bidder"})),
    )
    .await;
    assert_eq!(status, 204, "{body}");

    let request = json!({"client": "ACME Corporation", "related": ["Zebulon Ventures Ltd"]});
    let secrets = [
        title,
        "Nightingale",
        "Acme Corp.",
        "Zebulon Ventures\"",
        case.as_str(),
        "hostile",
    ];

    // Ben is not a member: one entry for the matter, naming its responsible lawyer.
    let body = check(&firm, &token("ben", FIRM), request.clone()).await;
    assert_eq!(
        body["hits"],
        json!([{
            "visibility": "restricted",
            "possible_conflict": true,
            "ask": {"role": "responsible_lawyer", "user_id": "ada", "name": "Ada Lovelace"}
        }]),
        "{body}"
    );
    let text = body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} leaked: {text}");
    }

    // Carol is screened: she is sent to the conflicts role, not across the wall.
    let body = check(&firm, &token("carol", FIRM), request.clone()).await;
    assert_eq!(
        body["hits"],
        json!([{"visibility": "restricted", "possible_conflict": true,
                "ask": {"role": "conflicts_role"}}]),
        "{body}"
    );
    let text = body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} leaked: {text}");
    }

    // The conflicts role sees everything: the matter, its title, each party that matched.
    let dora = token_with("dora", Some("conflicts"), None);
    let body = check(&firm, &dora, request.clone()).await;
    let hits = hits(&body);
    assert_eq!(hits.len(), 2, "{body}");
    for hit in hits {
        assert_eq!(hit["visibility"], "detail");
        assert_eq!(hit["case_id"], case.as_str());
        assert_eq!(hit["title"], title);
    }
    let mut parties: Vec<&str> = hits
        .iter()
        .map(|hit| hit["party"].as_str().unwrap())
        .collect();
    parties.sort();
    assert_eq!(parties, ["Acme Corp.", "Zebulon Ventures"]);
    assert_eq!(hits[0]["party_kind"], "adverse");
    assert_eq!(hits[0]["searched"], "ACME Corporation");
    assert_eq!(hits[0]["searched_kind"], "client");

    // The conflicts role does not cross a wall on its holder either: screened, she sees less.
    let (status, _) = rest(
        firm.server(),
        Method::PUT,
        &format!("/api/v1/cases/{case}/screens/dora"),
        &token("ada", FIRM),
        Some(json!({"reason": "family"})),
    )
    .await;
    assert_eq!(status, 204);
    let body = check(&firm, &dora, request).await;
    assert_eq!(body["hits"][0]["visibility"], "restricted", "{body}");
    assert!(!body.to_string().contains(title));
}

#[tokio::test]
async fn the_check_is_audited_and_recorded_on_the_matter_opened_after_it() {
    let firm = Firm::one_instance().await;
    let mut ada = firm.laptop("ada");
    open_matter(
        &firm,
        &mut ada,
        matter("Acme v. Globex", "Acme Corp."),
        &[("opposing_party", "Globex Corporation")],
    )
    .await;

    // Ben is asked to act for Globex against Acme.
    let ben_token = token("ben", FIRM);
    let body = check(
        &firm,
        &ben_token,
        json!({"client": "Globex Corp", "adverse": ["Acme Inc"]}),
    )
    .await;
    assert_eq!(body["total"], 1, "{body}");
    let check_id = body["check_id"].as_str().unwrap().to_owned();

    let pool = PgPool::connect(&firm.database).await.unwrap();
    let (user, detail): (String, Value) = sqlx::query_as(
        "SELECT user_id, detail FROM audit_log WHERE action = 'conflict_check' AND firm_id = $1",
    )
    .bind(FIRM)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(user, "ben");
    assert_eq!(detail["check_id"], check_id.as_str());
    assert_eq!(detail["hits"], 1);

    // He proceeds: the new matter names the check, and the server attaches it to the matter.
    let mut ben = firm.laptop("ben");
    let fields = CaseFields {
        conflict_check: check_id.clone(),
        conflict_decision: "proceeded".into(),
        ..matter("Globex v. Acme", "Globex Corp")
    };
    let case = open_matter(&firm, &mut ben, fields, &[("opposing_party", "Acme Inc")]).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let entry = loop {
        let (status, log) = rest(
            firm.server(),
            Method::GET,
            &format!("/api/v1/cases/{case}/audit"),
            &ben_token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{log}");
        if let Some(entry) = log
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["action"] == "conflict_check_recorded")
        {
            break entry.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not recorded: {log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(entry["detail"]["check_id"], check_id.as_str());
    assert_eq!(entry["detail"]["decision"], "proceeded");
    let (attached, decision): (Option<uuid::Uuid>, Option<String>) =
        sqlx::query_as("SELECT case_id, decision FROM conflict_checks WHERE id = $1::uuid")
            .bind(&check_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(attached.map(|id| id.to_string()), Some(case.to_string()));
    assert_eq!(decision.as_deref(), Some("proceeded"));
}

#[tokio::test]
async fn a_check_without_names_is_refused() {
    let firm = Firm::one_instance().await;
    let (status, body) = rest(
        firm.server(),
        Method::POST,
        "/api/v1/conflicts/check",
        &token("ada", FIRM),
        Some(json!({"client": " ", "adverse": ["Inc."]})),
    )
    .await;
    // "Inc." alone is a name (a legal form is only dropped when something is left).
    assert_eq!(status, 200, "{body}");
    let (status, body) = rest(
        firm.server(),
        Method::POST,
        "/api/v1/conflicts/check",
        &token("ada", FIRM),
        Some(json!({"client": " ", "adverse": [".,"]})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_parties"))
    );
}

/// Each instance searches its own in-memory copy of the party index: a party written through one
/// instance is found by the other, including by one that read its copy before the write, and a
/// party a matter no longer names is no longer found.
#[tokio::test]
async fn two_instances_find_what_either_indexed_and_forget_what_changed() {
    let firm = Firm::serving(common::fresh_database().await, 2, None).await;
    // A firm admin sees every hit in full.
    let admin = token_with("ivy", Some("admin"), None);
    let found = |body: &Value| -> Vec<String> {
        let mut parties: Vec<String> = hits(body)
            .iter()
            .map(|hit| hit["party"].as_str().unwrap_or_default().to_owned())
            .collect();
        parties.sort();
        parties
    };
    let ask = |instance: usize, request: Value| {
        rest(
            &firm.instances[instance],
            Method::POST,
            "/api/v1/conflicts/check",
            &admin,
            Some(request),
        )
    };

    // Through the first instance; the second reads its copy on its first check.
    let mut ada = firm.laptop_on(0, "ada");
    let acme = open_matter(&firm, &mut ada, matter("Acme v. Globex", "Acme Corp."), &[]).await;
    let (_, body) = ask(1, json!({"client": "ACME Corporation"})).await;
    assert_eq!(found(&body), ["Acme Corp."], "{body}");

    // Through the second instance; the first, which has not searched yet, and the second, whose
    // copy is older than the write, both find it.
    let mut ben = firm.laptop_on(1, "ben");
    open_matter(
        &firm,
        &mut ben,
        matter("Initech supply", "Initech Ltd"),
        &[],
    )
    .await;
    for instance in [0, 1] {
        let (_, body) = ask(instance, json!({"client": "Initech GmbH"})).await;
        assert_eq!(found(&body), ["Initech Ltd"], "{body}");
    }

    // The first matter's client changes: the old name is found nowhere, the new one everywhere.
    ada.store
        .update_case(
            &acme,
            &local::store::matter_record::CasePatch {
                client: Some("Umbrella plc".into()),
                ..Default::default()
            },
        )
        .unwrap();
    ada.wait_synced(TIMEOUT).await;
    let pool = PgPool::connect(&firm.database).await.unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM case_parties WHERE case_id = $1 AND name = 'Umbrella plc'",
    )
    .bind(uuid::Uuid::parse_str(acme.as_str()).unwrap())
    .fetch_one(&pool)
    .await
    .unwrap()
        == 0
    {
        assert!(tokio::time::Instant::now() < deadline, "not re-indexed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for instance in [0, 1] {
        let (_, body) = ask(instance, json!({"client": "Acme Corp"})).await;
        assert_eq!(body["total"], 0, "{body}");
        let (_, body) = ask(instance, json!({"client": "Umbrela"})).await;
        assert_eq!(found(&body), ["Umbrella plc"], "{body}");
    }
}
