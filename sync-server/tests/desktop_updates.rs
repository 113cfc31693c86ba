//! The desktop update feed over real HTTP: what a laptop on version N is offered, the bundle it
//! downloads byte for byte, 204 for a laptop that is current (or a server with no releases),
//! and nothing but listed bundles ever served from the releases directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::firm::Firm;
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
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), bundle.as_slice());

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
