//! The desktop update feed over real HTTP: what a laptop on version N is offered, the bundle it
//! downloads byte for byte, 204 for a laptop that is current (or a server with no releases),
//! and nothing but listed bundles ever served from the releases directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Firm;
use sync_server::releases::{Index, Release};

fn listed(version: &str, file: &str, bytes: u64) -> Release {
    Release {
        version: version.into(),
        target: "linux".into(),
        arch: "x86_64".into(),
        bundle: "deb".into(),
        channel: "stable".into(),
        file: file.into(),
        signature: format!("signature-of-{version}"),
        sha256: String::new(),
        bytes,
        notes: format!("Release {version}"),
        added_at: "2026-12-07T00:00:00Z".into(),
        rollout_percent: 100,
    }
}

fn check_url(base: &str, current: &str) -> String {
    format!("{base}/api/v1/desktop/updates/linux/x86_64/{current}?bundle=deb&channel=stable")
}

#[tokio::test]
async fn a_laptop_on_n_is_offered_n_plus_1_and_downloads_exactly_the_listed_bundle() {
    let root = tempfile::tempdir().unwrap();
    let releases = root.path().join("releases");
    std::fs::create_dir_all(&releases).unwrap();
    let bundle: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();
    let name = "Lawyers Hub_1.0.1_amd64.deb";
    std::fs::write(releases.join(name), &bundle).unwrap();
    std::fs::write(releases.join("Lawyers Hub_1.0.0_amd64.deb"), b"old").unwrap();
    // Beside the directory: what a path-traversal request would try to read.
    std::fs::write(root.path().join("secret.txt"), b"not for laptops").unwrap();
    Index {
        releases: vec![
            listed("1.0.0", "Lawyers Hub_1.0.0_amd64.deb", 3),
            listed("1.0.1", name, bundle.len() as u64),
        ],
        ..Index::default()
    }
    .save(&releases)
    .unwrap();
    let firm = Firm::one_instance_with(|settings| {
        settings.ops.releases_dir = Some(releases.clone());
        settings.ops.public_url = None;
    })
    .await;
    let base = format!("http://{}", firm.server().addr);
    let client = reqwest::Client::new();

    let offered = client
        .get(check_url(&base, "1.0.0"))
        .header("x-hub-install-id", "0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(offered.status(), 200);
    let manifest: serde_json::Value = offered.json().await.unwrap();
    assert_eq!(manifest["version"], "1.0.1");
    assert_eq!(manifest["signature"], "signature-of-1.0.1");
    assert_eq!(manifest["notes"], "Release 1.0.1");
    let url = manifest["url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("{base}/api/v1/desktop/releases/Lawyers%20Hub_1.0.1_amd64.deb")
    );
    let downloaded = client.get(url).send().await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(
        downloaded.headers()["content-length"],
        bundle.len().to_string().as_str()
    );
    assert_eq!(
        downloaded.bytes().await.unwrap().as_ref(),
        bundle.as_slice()
    );

    // Current already, another kind of installation, another architecture: nothing.
    for url in [
        check_url(&base, "1.0.1"),
        check_url(&base, "1.0.0").replace("bundle=deb", "bundle=rpm"),
        check_url(&base, "1.0.0").replace("x86_64", "aarch64"),
    ] {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 204, "{url}");
    }

    // Only listed bundles are served: never the index, never a path out of the directory.
    for attack in [
        "releases.json",
        "..%2Fsecret.txt",
        "%2E%2E%2Fsecret.txt",
        "..%5Csecret.txt",
        "%2Fetc%2Fpasswd",
    ] {
        let response = client
            .get(format!("{base}/api/v1/desktop/releases/{attack}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{attack}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("not for laptops"), "{attack}: {body}");
    }
}

#[tokio::test]
async fn a_server_without_releases_tells_every_laptop_to_stay() {
    let firm = Firm::one_instance().await;
    let base = format!("http://{}", firm.server().addr);
    let response = reqwest::get(check_url(&base, "0.1.0")).await.unwrap();
    assert_eq!(response.status(), 204);
    let response = reqwest::get(format!("{base}/api/v1/desktop/releases/anything.deb"))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// `sync-server releases …` as IT runs it: add (version from the signature), list, a staged
/// rollout, a pin, a rollback, and refusals that say what to do.
#[test]
fn it_adds_stages_pins_and_rolls_back_releases_from_the_command_line() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let cli = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .arg("releases")
            .arg("--dir")
            .arg(&releases)
            .args(args)
            .env_remove("HUB_UPDATE_PUBKEY")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    for version in ["1.0.0", "1.0.1"] {
        let bundle = dir.path().join(format!("Lawyers Hub_{version}_amd64.deb"));
        std::fs::write(&bundle, format!("bundle {version}")).unwrap();
        // The shape the Tauri CLI writes: base64 of a minisign signature with the version in
        // its trusted comment.
        let signature = format!(
            "untrusted comment: signature from tauri secret key\nRUQ=\ntrusted comment: \
             timestamp:1765000000\tfile:Lawyers Hub_{version}_amd64.deb\tversion:{version}\nAA==\n"
        );
        let sig = dir.path().join(format!("{version}.sig"));
        std::fs::write(
            &sig,
            base64::engine::general_purpose::STANDARD.encode(signature),
        )
        .unwrap();
        let (ok, out, err) = cli(&[
            "add",
            bundle.to_str().unwrap(),
            "--sig",
            sig.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        assert!(
            out.contains(&format!(
                "added Lawyers Hub_{version}_amd64.deb: {version} for linux/x86_64 (deb) on stable"
            )),
            "{out}"
        );
        assert!(
            releases
                .join(format!("Lawyers Hub_{version}_amd64.deb"))
                .exists()
        );
        // The same release twice is refused.
        let (ok, _, err) = cli(&[
            "add",
            bundle.to_str().unwrap(),
            "--sig",
            sig.to_str().unwrap(),
        ]);
        assert!(
            !ok && err.contains("already on the stable channel"),
            "{err}"
        );
    }
    let (ok, out, _) = cli(&["rollout", "25"]);
    assert!(
        ok && out.contains("stable: 1.0.1 now reaches 25% of installations")
            && out.contains(" 25% "),
        "{out}"
    );
    let (ok, out, _) = cli(&["rollback"]);
    assert!(
        ok && out.contains("every installation now runs 1.0.0") && out.contains("pinned to 1.0.0"),
        "{out}"
    );
    // Nothing before 1.0.0: a second rollback says so.
    let (ok, _, err) = cli(&["rollback"]);
    assert!(!ok && err.contains("no release before 1.0.0"), "{err}");
    let (ok, _, err) = cli(&["pin", "2.0.0"]);
    assert!(
        !ok && err.contains("2.0.0 is not a release on the stable channel"),
        "{err}"
    );
    let (ok, out, _) = cli(&["unpin"]);
    assert!(ok && out.contains("whose rollout includes it"), "{out}");
    // Another bundle under a listed file name (on another channel) never replaces it.
    let other = dir.path().join("other").join("Lawyers Hub_1.0.1_amd64.deb");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(&other, "rebuilt 1.0.1").unwrap();
    let sig = dir.path().join("1.0.1.sig");
    let (ok, _, err) = cli(&[
        "add",
        other.to_str().unwrap(),
        "--sig",
        sig.to_str().unwrap(),
        "--channel",
        "pilot",
    ]);
    assert!(
        !ok && err.contains("already listed for 1.0.1 on the stable channel"),
        "{err}"
    );
    let (ok, out, _) = cli(&["list"]);
    assert!(
        ok && out.contains("1.0.0") && out.contains("1.0.1"),
        "{out}"
    );
    // Not a bundle the updater installs; a signature without a version.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "x").unwrap();
    let (ok, _, err) = cli(&[
        "add",
        notes.to_str().unwrap(),
        "--sig",
        notes.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("not a bundle the updater installs"),
        "{err}"
    );
}
