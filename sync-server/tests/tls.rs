//! The path a firm deploys: the laptop reaches `wss://hub.lawyershub.test` through nginx
//! terminating TLS with a certificate from the firm's own CA (generated here with the openssl
//! command line), sometimes through a real corporate forward proxy (tinyproxy, HTTP CONNECT).
//! The real sync client and REST client of `hub-local` (rustls with the platform verifier) do the
//! talking. The firm CA is trusted the way the platform verifier reads the Linux trust store:
//! `SSL_CERT_FILE` names the bundle (rustls-native-certs honours it, as OpenSSL does).
//!
//! `hub.lawyershub.test` resolves to 127.0.0.1 through /etc/hosts (scripts/setup adds it), so
//! the certificate names a real host name, not an IP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

extern crate local as hub_local;

mod common;
#[path = "../../crates/local/tests/support/oidc.rs"]
mod oidc;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::*;
use local::{LocalError, StaticToken, SyncEvent};

const HOST: &str = "hub.lawyershub.test";
const WAIT: Duration = Duration::from_secs(20);

struct Certificates {
    dir: PathBuf,
}

impl Certificates {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (scripts/setup installs it)");
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

/// A self-signed CA: `{name}-ca.pem`, `{name}-ca.key`.
fn ca(dir: &Path, name: &str, subject: &str) {
    let (key, pem) = (format!("{name}-ca.key"), format!("{name}-ca.pem"));
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem,
            "-days", "30", "-subj", subject,
        ],
    );
}

/// A server certificate for `dns` signed by the CA `{ca_name}-ca.pem`: `{name}.pem`, `{name}.key`.
fn leaf(dir: &Path, name: &str, ca_name: &str, dns: &str) {
    let (key, csr, extensions) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.ext"),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={dns}"),
        ],
    );
    std::fs::write(
        dir.join(&extensions),
        format!(
            "subjectAltName=DNS:{dns}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
        ),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca_name}-ca.pem"),
            "-CAkey",
            &format!("{ca_name}-ca.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "30",
            "-extfile",
            &extensions,
        ],
    );
}

/// The firm's CA and certificates: made by the parent test (once per binary), read from
/// `HUB_TLS_CERTS` by the child that does the connecting.
fn certificates() -> &'static Certificates {
    static CERTIFICATES: OnceLock<Certificates> = OnceLock::new();
    CERTIFICATES.get_or_init(|| {
        if let Ok(dir) = std::env::var("HUB_TLS_CERTS") {
            return Certificates { dir: dir.into() };
        }
        let dir = tempfile::tempdir().unwrap().keep();
        // The firm's own CA, which IT installed on the laptop, and the hub's certificate.
        ca(
            &dir,
            "firm",
            "/O=Example LLP/CN=Example LLP Internal Root CA",
        );
        leaf(&dir, "firm", "firm", HOST);
        // A certificate for another name, from the same trusted CA.
        leaf(&dir, "other", "firm", "other.lawyershub.test");
        // A CA nobody installed (a hotel Wi-Fi's interception box, say).
        ca(
            &dir,
            "rogue",
            "/O=Intercepting Proxy/CN=Hotel WiFi Security CA",
        );
        leaf(&dir, "rogue", "rogue", HOST);
        Certificates { dir }
    })
}

/// Run the ignored test `child` in a child process of this binary whose trust store holds the
/// firm's CA (`SSL_CERT_FILE`, read by the platform verifier as by OpenSSL), as on a laptop whose
/// IT installed it. (This process's environment cannot be changed without unsafe code.)
fn run_child(child: &str) {
    let certificates = certificates();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            child,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SSL_CERT_FILE", certificates.path("firm-ca.pem"))
        .env("HUB_TLS_CERTS", &certificates.dir)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .status()
        .unwrap();
    assert!(status.success(), "{child} failed: {status}");
}

/// nginx terminating TLS with `certificate` in front of the sync server at `upstream`.
fn nginx_tls(
    dir: &Path,
    port: u16,
    upstream: std::net::SocketAddr,
    certificate: &str,
) -> ChildProcess {
    let certificates = certificates();
    let http = format!(
        r#"  server {{
    listen 127.0.0.1:{port} ssl;
    server_name {HOST};
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{
      proxy_pass http://{upstream};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Host $http_host;
      proxy_read_timeout 3600s;
    }}
  }}
"#,
        cert = certificates.path(&format!("{certificate}.pem")),
        key = certificates.path(&format!("{certificate}.key")),
    );
    nginx(dir, 256, &http)
}

/// tinyproxy on `port`, tunnelling CONNECT only to `allowed_port`.
fn tinyproxy(dir: &Path, port: u16, allowed_port: u16) -> ChildProcess {
    let config = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\nMaxClients 20\n\
         LogFile \"{dir}/tinyproxy.log\"\nLogLevel Connect\nConnectPort {allowed_port}\n\
         User nobody\nGroup nogroup\n",
        dir = dir.display()
    );
    let path = dir.join("tinyproxy.conf");
    std::fs::write(&path, config).unwrap();
    // The log file must be writable by the user tinyproxy drops to.
    std::fs::write(dir.join("tinyproxy.log"), "").unwrap();
    let _ = Command::new("chmod")
        .args(["a+rwx", &dir.display().to_string()])
        .status();
    let _ = Command::new("chmod")
        .args(["a+rw", &dir.join("tinyproxy.log").display().to_string()])
        .status();
    ChildProcess::spawn(
        Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "tinyproxy runs (scripts/setup installs it)",
    )
}

fn resolves() {
    use std::net::ToSocketAddrs;
    let resolved = (HOST, 443).to_socket_addrs().map(|mut addrs| addrs.next());
    assert!(
        matches!(resolved, Ok(Some(_))),
        "{HOST} must resolve to 127.0.0.1: scripts/setup adds it to /etc/hosts"
    );
}

/// The firm's service (one instance on a fresh database) behind nginx terminating TLS with one
/// of the certificates.
struct FirmBehindTls {
    firm: Firm,
    /// One nginx per instance, in the order of `firm.instances`.
    _nginx: Vec<ChildProcess>,
    ports: Vec<u16>,
}

impl FirmBehindTls {
    async fn start(certificate: &str) -> Self {
        Self::in_front_of(Firm::one_instance().await, certificate).await
    }

    /// Two instances sharing `redis`, each behind its own nginx with the "firm" certificate.
    async fn two_instances(redis: &PrivateRedis) -> Self {
        Self::in_front_of(Firm::two_instances_with_redis(&redis.url()).await, "firm").await
    }

    /// An nginx with `certificate` in front of each of `firm`'s instances.
    async fn in_front_of(firm: Firm, certificate: &str) -> Self {
        certificates();
        resolves();
        let mut nginx = Vec::new();
        let mut ports = Vec::new();
        for (index, instance) in firm.instances.iter().enumerate() {
            let dir = firm.dir.path().join(format!("nginx-{index}"));
            std::fs::create_dir_all(&dir).unwrap();
            let port = free_port();
            nginx.push(nginx_tls(&dir, port, instance.addr, certificate));
            wait_for_port(port, "nginx").await;
            ports.push(port);
        }
        Self {
            firm,
            _nginx: nginx,
            ports,
        }
    }

    /// The sync address of the first (or only) instance.
    fn wss(&self) -> String {
        self.wss_of(0)
    }

    fn wss_of(&self, instance: usize) -> String {
        format!("wss://{HOST}:{}/api/v1/sync", self.ports[instance])
    }
}

/// The real sync client over wss:// with the firm's CA: writes, syncs, and a second laptop
/// receives it; the REST client works through the same TLS.
async fn syncs_and_calls_rest(firm: &FirmBehindTls) {
    let dir = tempfile::tempdir().unwrap();
    let case = new_case();
    let doc = draft_name(&case);
    let ada = token("ada", "firm-a");
    let mut laptop = Laptop::online(&dir.path().join("a.db"), &firm.wss(), &ada);
    laptop
        .write_and_sync(&doc, "Settlement terms, over TLS. ", WAIT)
        .await;
    assert!(firm.firm.stored_body(&doc).await.contains("over TLS"));
    let mut second = Laptop::online(&dir.path().join("b.db"), &firm.wss(), &ada);
    second.open(&doc);
    second
        .wait_until("the draft arrives", WAIT, body_contains(&doc, "over TLS"))
        .await;
    let rest = local::firm::FirmServer::new(&firm.wss(), Arc::new(StaticToken(ada))).unwrap();
    let members = rest.members(&doc.case_id()).await.unwrap();
    assert!(
        format!("{members:?}").contains("ada"),
        "members over https: {members:?}"
    );
    laptop.disconnect().await;
    second.disconnect().await;
}

/// Connect once with the sync client and return the reason it gives up with.
async fn refusal(url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("x.db"));
    let (handle, mut events) = local::SyncClient::start(
        store,
        local::SyncConfig {
            url: url.to_owned(),
            token: Arc::new(StaticToken(token("ada", "firm-a"))),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        },
    );
    let reason = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Some(SyncEvent::Problem(reason)) => return reason,
                Some(_) => {}
                None => panic!("client stopped"),
            }
        }
    })
    .await
    .expect("a clear error, not a hang");
    handle.shutdown().await;
    reason
}

#[test]
fn the_laptop_syncs_over_wss_with_the_firms_own_ca() {
    run_child("child_syncs_over_wss");
}

#[test]
fn through_a_corporate_proxy_and_a_clear_error_when_it_refuses() {
    run_child("child_through_a_proxy");
}

#[test]
fn an_untrusted_or_misnamed_certificate_is_a_clear_error_never_a_hang() {
    run_child("child_refuses_bad_certificates");
}

#[test]
fn sign_in_works_over_tls_with_the_firms_ca_and_through_the_proxy() {
    run_child("child_signs_in_over_tls");
}

#[ignore = "run by sign_in_works_over_tls_with_the_firms_ca_and_through_the_proxy"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_signs_in_over_tls() {
    certificates();
    resolves();
    // The identity provider behind nginx with the firm-CA certificate, at an https:// issuer.
    let tls_port = free_port();
    let port = free_port();
    let issuer = format!("https://{HOST}:{tls_port}");
    let provider = oidc::start_provider_with(
        300,
        &[("OIDC_PORT", &port.to_string()), ("OIDC_ISSUER", &issuer)],
    )
    .await;
    assert_eq!(provider.issuer, issuer);
    let dir = tempfile::tempdir().unwrap();
    let _nginx = nginx_tls(
        dir.path(),
        tls_port,
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        "firm",
    );
    wait_for_port(tls_port, "nginx").await;
    // ... and the laptop behind the firm's proxy.
    let proxy_port = free_port();
    let proxy_dir = tempfile::tempdir().unwrap();
    let _proxy = tinyproxy(proxy_dir.path(), proxy_port, tls_port);
    wait_for_port(proxy_port, "tinyproxy").await;
    local::net::set_proxy(Some(format!("http://127.0.0.1:{proxy_port}"))).unwrap();

    let kept = Arc::new(local::MemoryTokenStore::new());
    let sign_in = oidc::discover(&provider, kept.clone()).await;
    let (signed_in, _visit) = oidc::sign_in_headless(&sign_in).await;
    let signed_in = signed_in.expect("signed in over TLS");
    assert!(!local::TokenSource::token(&signed_in).unwrap().is_empty());
    // The app restarts: the kept sign-in is restored (a refresh over TLS, no browser).
    let again = oidc::discover(&provider, kept).await;
    let restored = match again.restore().await {
        local::Restored::SignedIn(restored) => restored,
        other => panic!("not restored over TLS: {other:?}"),
    };
    assert!(!local::TokenSource::token(&restored).unwrap().is_empty());
    let log = std::fs::read_to_string(proxy_dir.path().join("tinyproxy.log")).unwrap();
    assert!(log.contains(HOST), "sign-in went through the proxy: {log}");
}

/// A large draft crosses TLS and two instances whole: written by a laptop behind nginx (TLS,
/// the firm's CA) in front of one instance, it reaches a laptop behind another nginx in front of
/// the other instance while both are connected (through Redis), and a third laptop that opens it
/// later there (its first sync, sent in fragments through TLS).
#[test]
fn a_large_draft_crosses_tls_and_two_instances_whole() {
    run_child("child_large_draft_over_wss_two_instances");
}

#[ignore = "run by a_large_draft_crosses_tls_and_two_instances_whole"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_large_draft_over_wss_two_instances() {
    const LARGE_WAIT: Duration = Duration::from_secs(120);
    let redis = PrivateRedis::start().await;
    let firm = FirmBehindTls::two_instances(&redis).await;
    let doc = draft_name(&new_case());
    let ada = token("ada", "firm-a");
    let stores = tempfile::tempdir().unwrap();
    let mut writer = Laptop::online(&stores.path().join("a.db"), &firm.wss_of(0), &ada);
    writer.write_and_sync(&doc, "Heads of terms. ", WAIT).await;
    let mut reader = Laptop::online(&stores.path().join("b.db"), &firm.wss_of(1), &ada);
    reader.open(&doc);
    reader
        .wait_until(
            "the draft opens on the other instance",
            WAIT,
            body_contains(&doc, "Heads of terms."),
        )
        .await;
    // 5 MB in one edit (a paste of a long agreement): 20 of the server's 256 KiB fragments.
    let clause = "The supplier shall indemnify the client against losses arising from breach. ";
    let pasted = clause.repeat(5 * 1024 * 1024 / clause.len());
    writer.write_and_sync(&doc, &pasted, LARGE_WAIT).await;
    let whole = format!("Heads of terms. {pasted}");
    let arrived = |store: &local::Store| store.text(&doc, "body").unwrap().len() == whole.len();
    reader
        .wait_until(
            "the large edit arrives through Redis and TLS",
            LARGE_WAIT,
            arrived,
        )
        .await;
    assert_eq!(reader.body(&doc), whole);
    let mut late = Laptop::online(&stores.path().join("c.db"), &firm.wss_of(1), &ada);
    late.open(&doc);
    late.wait_until(
        "a first sync of the large draft over TLS",
        LARGE_WAIT,
        arrived,
    )
    .await;
    assert_eq!(late.body(&doc), whole);
    assert_eq!(firm.firm.stored_body(&doc).await, whole);
    writer.disconnect().await;
    reader.disconnect().await;
    late.disconnect().await;
}

/// A burst of keystrokes, stored a row per lawyer per commit (`persist::pack`) through one
/// instance behind TLS, loads whole from Postgres on the other instance, behind its own nginx.
#[test]
fn keystrokes_stored_together_load_whole_on_the_other_instance_over_tls() {
    run_child("child_packed_rows_over_wss_two_instances");
}

#[ignore = "run by keystrokes_stored_together_load_whole_on_the_other_instance_over_tls"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_packed_rows_over_wss_two_instances() {
    let redis = PrivateRedis::start().await;
    let firm = FirmBehindTls::two_instances(&redis).await;
    let doc = draft_name(&new_case());
    let ada = token("ada", "firm-a");
    let stores = tempfile::tempdir().unwrap();
    let mut writer = Laptop::online(&stores.path().join("a.db"), &firm.wss_of(0), &ada);
    writer.open(&doc);
    for i in 0..300 {
        writer.type_text(&doc, &format!("{} ", i % 10));
    }
    writer.wait_synced(WAIT).await;
    let pool = sqlx::PgPool::connect(&firm.firm.database).await.unwrap();
    let (rows, updates): (i64, i64) =
        sqlx::query_as("SELECT count(*), sum(parts)::bigint FROM doc_updates WHERE doc_id = $1")
            .bind(doc_id(&pool, doc.as_str()).await)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        rows < updates,
        "{updates} updates in {rows} rows: nothing was packed"
    );
    // The other instance has never loaded the draft: it reads the packed rows from Postgres.
    let mut reader = Laptop::online(&stores.path().join("b.db"), &firm.wss_of(1), &ada);
    reader.open(&doc);
    let whole = writer.body(&doc);
    reader
        .wait_until("the draft loads on the other instance", WAIT, |store| {
            store.text(&doc, "body").unwrap() == whole
        })
        .await;
    assert_eq!(firm.firm.stored_body(&doc).await, whole);
    writer.disconnect().await;
    reader.disconnect().await;
}

#[ignore = "run by the_laptop_syncs_over_wss_with_the_firms_own_ca"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_syncs_over_wss() {
    let firm = FirmBehindTls::start("firm").await;
    syncs_and_calls_rest(&firm).await;
}

#[ignore = "run by through_a_corporate_proxy_and_a_clear_error_when_it_refuses"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_through_a_proxy() {
    let firm = FirmBehindTls::start("firm").await;
    let proxy_port = free_port();
    let proxy_dir = tempfile::tempdir().unwrap();
    let _proxy = tinyproxy(proxy_dir.path(), proxy_port, firm.ports[0]);
    wait_for_port(proxy_port, "tinyproxy").await;
    local::net::set_proxy(Some(format!("http://127.0.0.1:{proxy_port}"))).unwrap();
    syncs_and_calls_rest(&firm).await;
    let log = std::fs::read_to_string(proxy_dir.path().join("tinyproxy.log")).unwrap();
    assert!(
        log.contains(HOST),
        "the connections went through the proxy: {log}"
    );

    // A proxy that does not allow the server's port: the lawyer is told, not left waiting.
    let strict_port = free_port();
    let strict_dir = tempfile::tempdir().unwrap();
    let _strict = tinyproxy(strict_dir.path(), strict_port, 443);
    wait_for_port(strict_port, "tinyproxy").await;
    local::net::set_proxy(Some(format!("http://127.0.0.1:{strict_port}"))).unwrap();
    let reason = refusal(&firm.wss()).await;
    local::net::set_proxy(None).unwrap();
    assert!(
        reason.contains("proxy") && reason.contains("refused"),
        "{reason}"
    );
}

#[ignore = "run by an_untrusted_or_misnamed_certificate_is_a_clear_error_never_a_hang"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_refuses_bad_certificates() {
    // The certificate of a CA this computer does not trust: its issuer is named.
    let rogue = FirmBehindTls::start("rogue").await;
    let reason = refusal(&rogue.wss()).await;
    assert!(
        reason.contains("Hotel WiFi Security CA") && reason.contains("does not trust"),
        "{reason}"
    );
    let rest =
        local::firm::FirmServer::new(&rogue.wss(), Arc::new(StaticToken(token("ada", "firm-a"))))
            .unwrap();
    match rest
        .members(&local::CaseId::parse(&new_case()).unwrap())
        .await
    {
        Err(LocalError::Connection(reason)) => {
            assert!(reason.contains("Hotel WiFi Security CA"), "REST: {reason}")
        }
        other => panic!("REST over an untrusted certificate: {other:?}"),
    }
    // A trusted CA, but the certificate is for another host name.
    let misnamed = FirmBehindTls::start("other").await;
    let reason = refusal(&misnamed.wss()).await;
    assert!(reason.contains("another name"), "{reason}");
}
