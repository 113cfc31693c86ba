//! A deterministic fuzz run of every decoder over millions of hostile inputs: random bytes and
//! mutations of valid frames (including real Yjs updates). Any panic aborts with a non-zero exit.
//! Every input that passes `validate_update` is also integrated into a document holding real
//! content through `integrate_update` (as the server does before storing an update), with its
//! refusals, yrs's errors and panics counted: the server must survive whatever a client can make
//! yrs do. A watchdog fails the run, printing the input, when one integration takes over 5 s.
//!
//! `cargo run --release -p hub-protocol --example fuzz -- 2000000 [seed]`
//!
//! Without a seed, the CI seed runs all the cases and each of [`REGRESSION_SEEDS`] a fifth. A
//! hang is only the visible end of memory corruption; to see the corruption itself, run the fuzz
//! under AddressSanitizer (nightly): `RUSTFLAGS=-Zsanitizer=address cargo +nightly run --release
//! --target x86_64-unknown-linux-gnu -p hub-protocol --example fuzz -- 1000000 4`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_protocol::{
    AuthMessage, AwarenessEntry, AwarenessUpdate, Frame, IntegrateError, Message, SyncMessage,
    Wire, integrate_update, validate_update,
};
use yrs::{Doc, Text, Transact};

/// The seed CI has always run.
const CI_SEED: u64 = 0x5eed_1a3d;
/// Seeds that made yrs 0.28.1 use freed memory and loop (within their first million cases)
/// before `integrate_update` refused malformed changes.
const REGRESSION_SEEDS: [u64; 3] = [1, 4, 5];
/// One integration taking longer than this fails the run.
const HANG: Duration = Duration::from_secs(5);

/// xorshift64*: small, fast and reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Valid frames and updates to mutate. `client` fixes the Yjs client id, so a run is
/// reproducible from its seed (a random client id changes every encoded update).
fn seeds(client: u64) -> Vec<Vec<u8>> {
    let doc = Doc::with_client_id(client);
    let text = doc.get_or_insert_text("body");
    let mut updates = Vec::new();
    for i in 0..8 {
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, &format!("clause {i} — é ✓"));
        if i % 3 == 2 {
            text.remove_range(&mut txn, 1, 3);
        }
        updates.push(txn.encode_update_v1());
    }
    let awareness = AwarenessUpdate {
        entries: vec![AwarenessEntry {
            client_id: 42,
            clock: 7,
            state: r#"{"user":{"name":"Ada"}}"#.into(),
        }],
    }
    .encode();
    let name =
        "cases/0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b/drafts/1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
    let mut frames: Vec<Vec<u8>> = updates
        .iter()
        .map(|update| Frame::new(name, Message::Sync(SyncMessage::Update(update.clone()))).encode())
        .collect();
    frames.push(Frame::new(name, Message::Sync(SyncMessage::Step1(vec![1, 42, 9]))).encode());
    frames.push(Frame::new(name, Message::Awareness(awareness.clone())).encode());
    frames.push(
        Frame::new(
            name,
            Message::Auth(AuthMessage::Token {
                token: "t".repeat(40),
                provider_version: Some("4.8.0".into()),
            }),
        )
        .encode(),
    );
    frames.push(
        Frame::new(
            "$hub",
            Message::Stateless(r#"{"type":"changes","since":7}"#.into()),
        )
        .encode(),
    );
    frames.push(Frame::new(name, Message::SyncStatus(true)).encode());
    frames.extend(updates);
    frames.push(awareness);
    // Nested types (a map in a map, an XML element with children): items with parent ids.
    let nested = Doc::with_client_id(3);
    {
        let root = nested.get_or_insert_map("case");
        let mut txn = nested.transact_mut();
        let parties = yrs::Map::insert(&root, &mut txn, "parties", yrs::MapPrelim::default());
        yrs::Map::insert(&parties, &mut txn, "client", "Acme");
        frames.push(txn.encode_update_v1());
    }
    frames
}

/// The document fuzzed updates are integrated into: real text from a known client.
fn target() -> Doc {
    let doc = Doc::with_client_id(1);
    let text = doc.get_or_insert_text("body");
    text.insert(&mut doc.transact_mut(), 0, "The parties agree as follows.");
    doc
}

static CAUGHT_PANICS: AtomicU64 = AtomicU64::new(0);

/// The input being integrated, and when that began (ms since the run started; 0: none).
struct Watched {
    seed: AtomicU64,
    input: Mutex<Vec<u8>>,
    since_ms: AtomicU64,
}

/// An integration that runs for seconds is a hang (yrs looping on a hostile update): print the
/// input so it can be replayed, and fail the run.
fn start_watchdog(watched: Arc<Watched>, started: Instant) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let since = watched.since_ms.load(Ordering::Acquire);
            if since != 0 && started.elapsed().as_millis() as u64 - since > HANG.as_millis() as u64
            {
                let input = watched
                    .input
                    .lock()
                    .map(|input| input.clone())
                    .unwrap_or_default();
                let hex: String = input.iter().map(|byte| format!("{byte:02x}")).collect();
                let seed = watched.seed.load(Ordering::Acquire);
                eprintln!(
                    "fuzz: yrs has been integrating one update for over {} s (seed {seed:#x}): {hex}",
                    HANG.as_secs()
                );
                std::process::exit(2);
            }
        }
    });
}

fn run(seed: u64, cases: u64, watched: &Watched, started_at: Instant) {
    let started = Instant::now();
    watched.seed.store(seed, Ordering::Release);
    let mut rng = Rng(seed | 1);
    let seeds = seeds(2 + seed % 1_000);
    let (mut decoded, mut refused, mut updates_ok) = (0u64, 0u64, 0u64);
    let (mut integrated, mut malformed) = (0u64, 0u64);
    let (mut integration_errors, mut integration_panics) = (0u64, 0u64);
    let mut doc = target();
    let mut input = Vec::with_capacity(512);
    for case in 0..cases {
        input.clear();
        if case % 2 == 0 {
            let len = rng.below(256);
            input.extend((0..len).map(|_| rng.next() as u8));
        } else {
            input.extend_from_slice(&seeds[rng.below(seeds.len())]);
            for _ in 0..=rng.below(4) {
                if input.is_empty() {
                    break;
                }
                let at = rng.below(input.len());
                match rng.below(4) {
                    0 => input[at] = rng.next() as u8,
                    1 => input[at] ^= 1 << rng.below(8),
                    2 => input.truncate(at),
                    _ => input.insert(at, rng.next() as u8),
                }
            }
        }
        match Wire::decode(&input) {
            Ok(wire) => {
                decoded += 1;
                // Whatever decodes must survive a round trip unchanged.
                let again = Wire::decode(&wire.encode());
                assert_eq!(again.as_ref(), Ok(&wire), "round trip changed a frame");
            }
            Err(error) => {
                refused += 1;
                let _ = error.code();
            }
        }
        if validate_update(&input).is_ok() {
            updates_ok += 1;
            if let Ok(mut slot) = watched.input.lock() {
                slot.clear();
                slot.extend_from_slice(&input);
            }
            watched.since_ms.store(
                (started_at.elapsed().as_millis() as u64).max(1),
                Ordering::Release,
            );
            let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                integrate_update(&mut doc.transact_mut(), &input)
            }));
            watched.since_ms.store(0, Ordering::Release);
            let reset = match applied {
                Ok(Ok(())) => {
                    integrated += 1;
                    // A long run must not grow one document without bound.
                    integrated % 1_000 == 0
                }
                // Refused before yrs saw it: the document is unchanged.
                Ok(Err(IntegrateError::Refused(_))) => {
                    malformed += 1;
                    false
                }
                // yrs may have integrated part of it, or panicked half-way (the server reloads
                // such a document).
                Ok(Err(IntegrateError::Integration(_))) => {
                    integration_errors += 1;
                    true
                }
                Err(_) => {
                    integration_panics += 1;
                    true
                }
            };
            if reset {
                doc = target();
            }
        }
        let _ = AwarenessUpdate::decode(&input);
    }
    println!(
        "fuzz: {cases} cases (seed {seed:#x}): {decoded} frames decoded and round-tripped, {refused} refused with an error, \
         {updates_ok} inputs were valid Yjs updates ({integrated} integrated, {malformed} refused as malformed changes, \
         {integration_errors} refused by yrs, {integration_panics} yrs panics while integrating caught), {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    // validate_update catches panics inside yrs; count them instead of printing each one.
    std::panic::set_hook(Box::new(|_| {
        CAUGHT_PANICS.fetch_add(1, Ordering::Relaxed);
    }));
    let mut args = std::env::args().skip(1);
    let cases: u64 = args
        .next()
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(1_000_000);
    // One seed if given; else all the cases with the CI seed, then a fifth of them with each
    // regression seed (each reached the yrs defect within its first million cases).
    let runs: Vec<(u64, u64)> = match args.next().and_then(|arg| arg.parse().ok()) {
        Some(seed) => vec![(seed, cases)],
        None => std::iter::once((CI_SEED, cases))
            .chain(REGRESSION_SEEDS.iter().map(|&seed| (seed, cases / 5)))
            .collect(),
    };
    let watched = Arc::new(Watched {
        seed: AtomicU64::new(0),
        input: Mutex::new(Vec::new()),
        since_ms: AtomicU64::new(0),
    });
    let started_at = Instant::now();
    start_watchdog(watched.clone(), started_at);
    for (seed, cases) in runs {
        run(seed, cases, &watched, started_at);
    }
    println!(
        "fuzz: {} yrs panics caught in all, {:.1} s",
        CAUGHT_PANICS.load(Ordering::Relaxed),
        started_at.elapsed().as_secs_f64()
    );
}
