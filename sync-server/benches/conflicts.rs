//! The conflict-of-interest check against a firm of 100,000 indexed parties: p50/p99 of one
//! check (`conflicts::check`: bringing the instance's copy of the party index up to date, the
//! candidates and the matching rules, the caller's standing on each matter hit, and the stored,
//! audited record of the check). Every tenth check follows a change of one matter's parties
//! through the write path. The first check, which reads the whole index, is reported apart.
//!
//! ```sh
//! cargo bench -p sync-server --bench conflicts -- [--parties 100000] [--checks 1000]
//! ```
//!
//! A fresh Postgres database (`HUB_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432`)
//! named `hub_bench_conflicts_<pid>`, dropped after. Parties are made-up company and person
//! names (syllables, with legal forms), four per matter (a client, two adverse, one related),
//! indexed as the write path indexes them. Each check names four parties as the new-matter form
//! does: a mix of stored names with another legal form, stored names with a typo, and new names.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Instant;

use clap::Parser;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use sync_server::auth::{Principal, Profile};
use sync_server::conflicts::{self, CheckRequest, matching::normalise};
use sync_server::db::conflicts::{IndexedParty, replace_parties};

const FIRM: &str = "firm-bench";

#[derive(Parser)]
struct Options {
    /// Parties in the firm's index.
    #[arg(long, default_value_t = 100_000)]
    parties: usize,
    /// Checks measured (after 50 not counted).
    #[arg(long, default_value_t = 1_000)]
    checks: usize,
    /// Accepted for `cargo bench` compatibility.
    #[arg(long, hide = true)]
    bench: bool,
}

const SYLLABLES: &[&str] = &[
    "ac", "me", "glo", "bex", "ini", "tech", "um", "brel", "la", "vor", "tan", "kel", "dor", "fin",
    "mar", "quo", "zen", "tra", "lux", "pol", "ner", "sol", "vix", "ran", "ter", "ob", "ex", "cal",
    "dia", "mon", "sur", "pen", "hal", "gar", "ith", "os",
];
const WORDS: &[&str] = &[
    "holdings",
    "capital",
    "partners",
    "group",
    "trust",
    "bank",
    "energy",
    "systems",
    "logistics",
    "pharma",
    "foods",
    "media",
    "estates",
    "ventures",
    "insurance",
    "mining",
];
const FORMS: &[&str] = &[
    "Ltd",
    "Limited",
    "Inc.",
    "Corp.",
    "Corporation",
    "LLC",
    "GmbH",
    "AG",
    "S.A.",
    "B.V.",
    "plc",
    "LLP",
    "& Co.",
    "",
];
const GIVEN: &[&str] = &[
    "John",
    "Maria",
    "Ahmed",
    "Chen",
    "Sofia",
    "Lukas",
    "Amélie",
    "Oluwaseun",
    "Priya",
    "Jürgen",
];

fn word(rng: &mut StdRng) -> String {
    let count = rng.random_range(2..=3);
    let mut text: String = (0..count)
        .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
        .collect();
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

fn name(rng: &mut StdRng) -> String {
    if rng.random_bool(0.3) {
        return format!("{} {}", GIVEN[rng.random_range(0..GIVEN.len())], word(rng));
    }
    let mut name = word(rng);
    if rng.random_bool(0.5) {
        name.push(' ');
        name.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    let form = FORMS[rng.random_range(0..FORMS.len())];
    if !form.is_empty() {
        name.push(' ');
        name.push_str(form);
    }
    name
}

/// A one-letter typo (substitution) somewhere after the first letter.
fn typo(rng: &mut StdRng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() > 2 {
        let at = rng.random_range(1..chars.len());
        chars[at] = if chars[at] == 'x' { 'y' } else { 'x' };
    }
    chars.into_iter().collect()
}

async fn load(pool: &PgPool, rng: &mut StdRng, parties: usize) -> Vec<String> {
    sqlx::query("INSERT INTO firms (id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(FIRM)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO users (id, firm_id) VALUES ('owner', $1) ON CONFLICT DO NOTHING")
        .bind(FIRM)
        .execute(pool)
        .await
        .unwrap();
    let matters = parties.div_ceil(4);
    let mut names = Vec::with_capacity(parties);
    for chunk in 0..matters.div_ceil(1000) {
        let count = 1000.min(matters - chunk * 1000);
        let ids: Vec<uuid::Uuid> = (0..count).map(|_| uuid::Uuid::new_v4()).collect();
        sqlx::query(
            "INSERT INTO cases (id, firm_id, created_by, title)
             SELECT id, $2, 'owner', 'Matter ' || id FROM unnest($1::uuid[]) AS t(id)",
        )
        .bind(&ids)
        .bind(FIRM)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO case_members (case_id, user_id, role, added_by)
             SELECT id, 'owner', 'owner', 'owner' FROM unnest($1::uuid[]) AS t(id)",
        )
        .bind(&ids)
        .execute(pool)
        .await
        .unwrap();
        let (mut cases, mut kinds, mut party_names, mut keys) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for id in &ids {
            for kind in ["client", "adverse", "adverse", "related"] {
                if names.len() >= parties {
                    break;
                }
                let party = name(rng);
                cases.push(*id);
                kinds.push(kind);
                keys.push(normalise(&party).key());
                party_names.push(party.clone());
                names.push(party);
            }
        }
        sqlx::query(
            "INSERT INTO case_parties (case_id, firm_id, kind, name, key)
             SELECT c, $2, k, n, y FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[])
                 AS t(c, k, n, y)
             ON CONFLICT DO NOTHING",
        )
        .bind(&cases)
        .bind(FIRM)
        .bind(&kinds)
        .bind(&party_names)
        .bind(&keys)
        .execute(pool)
        .await
        .unwrap();
        // As the write path marks a matter whose parties it indexed.
        sqlx::query(
            "UPDATE cases SET parties_seq = nextval('case_parties_seq') WHERE id = ANY($1)",
        )
        .bind(&ids)
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query("ANALYZE case_parties")
        .execute(pool)
        .await
        .unwrap();
    names
}

fn request(rng: &mut StdRng, stored: &[String]) -> CheckRequest {
    let pick = |rng: &mut StdRng| -> String {
        let known = stored[rng.random_range(0..stored.len())].clone();
        match rng.random_range(0..3) {
            0 => {
                // The same party with another legal form.
                let base = normalise(&known).key();
                format!("{base} {}", FORMS[rng.random_range(0..FORMS.len())])
            }
            1 => typo(rng, &known),
            _ => name(rng),
        }
    };
    CheckRequest {
        client: pick(rng),
        adverse: vec![pick(rng), pick(rng)],
        related: vec![pick(rng)],
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let base = std::env::var("HUB_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let database = format!("hub_bench_conflicts_{}", std::process::id());
    let admin = PgPool::connect(&format!("{base}/postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&admin)
        .await
        .unwrap();
    let pool = PgPool::connect(&format!("{base}/{database}"))
        .await
        .unwrap();
    sync_server::migrate::up(&pool, None).await.unwrap();

    let mut rng = StdRng::seed_from_u64(16);
    let started = Instant::now();
    let stored = load(&pool, &mut rng, options.parties).await;
    println!(
        "loaded {} parties in {:.1} s",
        stored.len(),
        started.elapsed().as_secs_f64()
    );

    let caller = Principal {
        user_id: "lawyer".into(),
        firm_id: FIRM.into(),
        expires_at: i64::MAX,
        firm_admin: false,
        conflicts_officer: false,
        profile: Profile::default(),
    };
    let index = conflicts::search::PartyIndex::default();
    let mut histogram = Histogram::<u64>::new(3).unwrap();
    let mut hits = 0usize;
    let mut first_check = None;
    let matters: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM cases")
        .fetch_all(&pool)
        .await
        .unwrap();
    for round in 0..options.checks + 50 {
        if round % 10 == 9 {
            // Lawyers keep editing matters' parties between checks: one matter's parties are
            // replaced through the write path's own function, which this instance then reads.
            let case_id = matters[rng.random_range(0..matters.len())];
            let parties: Vec<IndexedParty> = ["client", "adverse"]
                .into_iter()
                .map(|kind| {
                    let party = name(&mut rng);
                    IndexedParty {
                        kind,
                        key: normalise(&party).key(),
                        name: party,
                    }
                })
                .collect();
            replace_parties(&pool, case_id, &parties).await.unwrap();
        }
        let request = request(&mut rng, &stored);
        let started = Instant::now();
        let result = conflicts::check(&pool, &index, &caller, &request)
            .await
            .unwrap();
        let elapsed = started.elapsed();
        first_check.get_or_insert(elapsed);
        if round >= 50 {
            histogram.record(elapsed.as_micros() as u64).unwrap();
            hits += result.total;
        }
    }
    if let Some(first) = first_check {
        println!(
            "first check (reads the firm's {} parties into memory): {:.0} ms",
            stored.len(),
            first.as_secs_f64() * 1000.0
        );
    }
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
    println!(
        "{} checks of 4 names against {} parties: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         ({:.1} hits per check)",
        options.checks,
        stored.len(),
        ms(0.5),
        ms(0.99),
        histogram.max() as f64 / 1000.0,
        hits as f64 / options.checks as f64
    );

    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {database}")))
        .execute(&admin)
        .await
        .unwrap();
}
