//! Desktop updates from the firm's own server. IT fills a releases directory
//! (`HUB_RELEASES_DIR`) with the installers the build produced and their `.sig` files
//! (`sync-server releases add FILE --sig FILE`), and chooses per channel what laptops run: the
//! newest release, a rollout to a percentage of installations, or a pinned version (a rollback).
//! The app asks `GET /api/v1/desktop/updates/{target}/{arch}/{current_version}?bundle=deb&channel=stable`
//! (the `tauri-plugin-updater` dynamic-server format: 204 for "nothing for you", else a
//! manifest) and downloads `GET /api/v1/desktop/releases/{file}`; it verifies each bundle's
//! minisign signature against the key compiled into it, so this server can withhold an update
//! or name an older signed one (a rollback), never install a bundle the firm did not sign.
//!
//! The directory holds the bundles and `releases.json` (written atomically by the CLI, read on
//! every check, so every instance sharing the directory answers the same).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The index's file name in the releases directory.
pub const INDEX: &str = "releases.json";
/// The header the app sends with its installation's random id (the rollout group).
pub const INSTALL_ID_HEADER: &str = "x-hub-install-id";
/// The channel when the app names none.
pub const DEFAULT_CHANNEL: &str = "stable";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub version: String,
    /// `linux`, `windows` or `darwin` (the updater's `{{target}}`).
    pub target: String,
    /// `x86_64`, `aarch64`, … (the updater's `{{arch}}`).
    pub arch: String,
    /// `deb`, `rpm`, `appimage`, `msi`, `nsis`, `app`: the kind of installation it updates.
    pub bundle: String,
    pub channel: String,
    /// The bundle's file name in the releases directory.
    pub file: String,
    /// The `.sig` file's content (base64 of the minisign signature).
    pub signature: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(default)]
    pub notes: String,
    /// RFC 3339.
    pub added_at: String,
    /// This release reaches this percentage of installations (`releases rollout`); the others
    /// stay on the newest release they are in the rollout of.
    #[serde(default = "full")]
    pub rollout_percent: u8,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Every installation on this channel runs this version (a rollback, or a hold).
    #[serde(default)]
    pub pinned: Option<String>,
}

fn full() -> u8 {
    100
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub releases: Vec<Release>,
    #[serde(default)]
    pub channels: std::collections::BTreeMap<String, Channel>,
}

fn version(text: &str) -> Option<semver::Version> {
    semver::Version::parse(text.trim_start_matches('v')).ok()
}

impl Index {
    pub fn load(dir: &Path) -> anyhow::Result<Index> {
        let path = dir.join(INDEX);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                anyhow::anyhow!("{} is not a releases index: {error}", path.display())
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(error) => Err(anyhow::anyhow!("cannot read {}: {error}", path.display())),
        }
    }

    /// Written beside it and renamed: a server reading it never sees half a file.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(INDEX);
        let temporary = dir.join(format!("{INDEX}.tmp"));
        std::fs::write(&temporary, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&temporary, &path)?;
        Ok(())
    }

    pub fn channel(&self, name: &str) -> Channel {
        self.channels.get(name).cloned().unwrap_or_default()
    }

    /// The versions of a channel, newest first (each listed once).
    pub fn versions(&self, channel: &str) -> Vec<semver::Version> {
        let mut versions: Vec<semver::Version> = self
            .releases
            .iter()
            .filter(|release| release.channel == channel)
            .filter_map(|release| version(&release.version))
            .collect();
        versions.sort_unstable_by(|a, b| b.cmp(a));
        versions.dedup();
        versions
    }

    /// A version's rollout on a channel (its bundles share it).
    pub fn rollout(&self, channel: &str, wanted: &semver::Version) -> u8 {
        self.releases
            .iter()
            .filter(|release| {
                release.channel == channel && version(&release.version).as_ref() == Some(wanted)
            })
            .map(|release| release.rollout_percent)
            .max()
            .unwrap_or(100)
    }

    /// Sets the rollout of a version's bundles on a channel; false when there are none.
    pub fn set_rollout(&mut self, channel: &str, wanted: &semver::Version, percent: u8) -> bool {
        let mut found = false;
        for release in self.releases.iter_mut() {
            if release.channel == channel && version(&release.version).as_ref() == Some(wanted) {
                release.rollout_percent = percent;
                found = true;
            }
        }
        found
    }

    /// What an installation should run: the pinned version, else the newest release whose
    /// rollout includes it. None: nothing on the channel for it.
    pub fn target_version(&self, channel: &str, install_id: &str) -> Option<semver::Version> {
        let settings = self.channel(channel);
        if let Some(pinned) = settings.pinned.as_deref().and_then(version) {
            return Some(pinned);
        }
        self.versions(channel).into_iter().find(|candidate| {
            let percent = self.rollout(channel, candidate);
            percent >= 100 || in_rollout(install_id, candidate, percent)
        })
    }

    /// The release an installation of `bundle` on `target`/`arch` at `current` should install,
    /// if any.
    pub fn offer(&self, asked: &Asked<'_>) -> Option<&Release> {
        let current = version(asked.current)?;
        let wanted = self.target_version(asked.channel, asked.install_id)?;
        let pinned = self.channel(asked.channel).pinned.is_some();
        // Newer, or (pinned by IT) whatever version the firm chose, even an older one.
        if wanted == current || (!pinned && wanted < current) {
            return None;
        }
        self.releases.iter().find(|release| {
            release.channel == asked.channel
                && release.target == asked.target
                && release.arch == asked.arch
                && release.bundle == asked.bundle
                && version(&release.version).as_ref() == Some(&wanted)
        })
    }
}

/// One update check, as the app asked it.
pub struct Asked<'a> {
    pub target: &'a str,
    pub arch: &'a str,
    pub current: &'a str,
    pub bundle: &'a str,
    pub channel: &'a str,
    pub install_id: &'a str,
}

/// Whether an installation is in the first `percent` of a release's rollout: a stable hash of
/// its id and the version, so each release draws its own group and a laptop's answer never
/// flips between checks.
pub fn in_rollout(install_id: &str, release: &semver::Version, percent: u8) -> bool {
    if install_id.is_empty() {
        // No id: the cautious answer, the release before.
        return percent >= 100;
    }
    let digest = Sha256::digest(format!("{install_id}/{release}").as_bytes());
    let bucket = u16::from_be_bytes([digest[0], digest[1]]) % 100;
    bucket < u16::from(percent)
}

/// The feed's configuration: where the releases are and the address the app downloads from.
#[derive(Debug, Clone)]
pub struct Feed {
    pub dir: PathBuf,
    /// `HUB_PUBLIC_URL` (`https://hub.firm.example`); else the request's own host.
    pub public_url: Option<String>,
}

#[derive(Deserialize)]
pub struct CheckQuery {
    bundle: Option<String>,
    channel: Option<String>,
}

pub fn routes<S: Clone + Send + Sync + 'static>(feed: Option<Arc<Feed>>) -> axum::Router<S> {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/api/v1/desktop/updates/{target}/{arch}/{current}",
            get(check),
        )
        .route("/api/v1/desktop/releases/{file}", get(download))
        .with_state(feed)
}

/// The updater's check: 204 (stay), or the manifest of the release to install.
async fn check(
    State(feed): State<Option<Arc<Feed>>>,
    UrlPath((target, arch, current)): UrlPath<(String, String, String)>,
    Query(query): Query<CheckQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(feed) = feed else {
        return (StatusCode::NO_CONTENT, "").into_response();
    };
    let channel = query.channel.as_deref().unwrap_or(DEFAULT_CHANNEL);
    let bundle = query.bundle.as_deref().unwrap_or("unknown");
    let install_id = headers
        .get(INSTALL_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let dir = feed.dir.clone();
    let index = match tokio::task::spawn_blocking(move || Index::load(&dir)).await {
        Ok(Ok(index)) => index,
        Ok(Err(error)) => {
            tracing::error!(%error, "update check: releases index unreadable");
            return (StatusCode::SERVICE_UNAVAILABLE, "releases index unreadable").into_response();
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let asked = Asked {
        target: &target,
        arch: &arch,
        current: &current,
        bundle,
        channel,
        install_id,
    };
    let Some(release) = index.offer(&asked) else {
        metrics::counter!("hub_desktop_update_checks_total", "offered" => "false").increment(1);
        return (StatusCode::NO_CONTENT, "").into_response();
    };
    metrics::counter!("hub_desktop_update_checks_total", "offered" => "true").increment(1);
    tracing::info!(
        target = target.as_str(),
        arch = arch.as_str(),
        bundle,
        channel,
        current = current.as_str(),
        offered = release.version.as_str(),
        "update offered"
    );
    let base = match &feed.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("localhost");
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|value| value.to_str().ok())
                .filter(|scheme| *scheme == "https" || *scheme == "http")
                .unwrap_or("http");
            format!("{scheme}://{host}")
        }
    };
    let url = format!(
        "{base}/api/v1/desktop/releases/{}",
        utf8_percent(&release.file)
    );
    axum::Json(serde_json::json!({
        "version": release.version,
        "notes": release.notes,
        "pub_date": release.added_at,
        "url": url,
        "signature": release.signature,
    }))
    .into_response()
}

/// A file name as one URL path segment.
fn utf8_percent(name: &str) -> String {
    name.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A bundle listed in the index, streamed from the releases directory; nothing else is served.
async fn download(
    State(feed): State<Option<Arc<Feed>>>,
    UrlPath(file): UrlPath<String>,
) -> Response {
    let Some(feed) = feed else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let dir = feed.dir.clone();
    let listed = tokio::task::spawn_blocking(move || Index::load(&dir))
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|index| {
            index
                .releases
                .into_iter()
                .find(|release| release.file == file)
        });
    let Some(release) = listed else {
        return (StatusCode::NOT_FOUND, "no such release").into_response();
    };
    let path = feed.dir.join(&release.file);
    let opened = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) => {
            tracing::error!(%error, path = %path.display(), "listed release missing");
            return (StatusCode::NOT_FOUND, "release file missing").into_response();
        }
    };
    let length = opened.metadata().await.map(|meta| meta.len()).ok();
    metrics::counter!("hub_desktop_update_downloads_total").increment(1);
    let stream = tokio_util::io::ReaderStream::new(opened);
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(length) = length.and_then(|length| HeaderValue::from_str(&length.to_string()).ok())
    {
        headers.insert(header::CONTENT_LENGTH, length);
    }
    response
}

/// What `releases add` learns from a bundle's name: target, arch and kind of installation.
pub fn bundle_kind(file_name: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let name = file_name.to_ascii_lowercase();
    let arch = if name.contains("amd64") || name.contains("x86_64") || name.contains("x64") {
        "x86_64"
    } else if name.contains("arm64") || name.contains("aarch64") {
        "aarch64"
    } else {
        return None;
    };
    let (target, bundle) = if name.ends_with(".deb") {
        ("linux", "deb")
    } else if name.ends_with(".rpm") {
        ("linux", "rpm")
    } else if name.ends_with(".appimage") {
        ("linux", "appimage")
    } else if name.ends_with(".msi") {
        ("windows", "msi")
    } else if name.ends_with("-setup.exe") {
        ("windows", "nsis")
    } else if name.ends_with(".app.tar.gz") {
        ("darwin", "app")
    } else {
        return None;
    };
    Some((target, arch, bundle))
}

/// The version a `.sig` was made for: its trusted comment's `version:` (the Tauri CLI signs it
/// in), so a bundle cannot be listed under another version than it was built as.
pub fn signed_version(signature_b64: &str) -> Option<String> {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .ok()?;
    let text = String::from_utf8(text).ok()?;
    let trusted = text
        .lines()
        .find_map(|line| line.strip_prefix("trusted comment: "))?;
    trusted
        .split('\t')
        .find_map(|field| field.strip_prefix("version:"))
        .map(str::to_owned)
}

/// Checks a bundle against the firm's update public key (the `.pub` content, base64), when IT
/// gave one: a release the laptops would refuse is refused here first.
pub fn verify(bundle: &[u8], signature_b64: &str, public_key_b64: &str) -> anyhow::Result<()> {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let decode = |what: &str, text: &str| -> anyhow::Result<String> {
        let bytes = engine
            .decode(text.trim())
            .map_err(|error| anyhow::anyhow!("the {what} is not base64: {error}"))?;
        String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the {what} is not text"))
    };
    let key = minisign_verify::PublicKey::decode(&decode("public key", public_key_b64)?)
        .map_err(|error| anyhow::anyhow!("the public key is not a minisign key: {error}"))?;
    let signature = minisign_verify::Signature::decode(&decode("signature", signature_b64)?)
        .map_err(|error| anyhow::anyhow!("the .sig is not a minisign signature: {error}"))?;
    key.verify(bundle, &signature, true).map_err(|_| {
        anyhow::anyhow!(
            "the signature does not match this file and key: the bundle may be damaged, \
             tampered with, or signed with another key"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: &str, channel: &str) -> Release {
        Release {
            version: version.into(),
            target: "linux".into(),
            arch: "x86_64".into(),
            bundle: "deb".into(),
            channel: channel.into(),
            file: format!("Lawyers Hub_{version}_amd64.deb"),
            signature: "c2ln".into(),
            sha256: String::new(),
            bytes: 1,
            notes: String::new(),
            added_at: "2026-12-07T00:00:00Z".into(),
            rollout_percent: 100,
        }
    }

    fn asked<'a>(current: &'a str, install_id: &'a str) -> Asked<'a> {
        Asked {
            target: "linux",
            arch: "x86_64",
            current,
            bundle: "deb",
            channel: "stable",
            install_id,
        }
    }

    #[test]
    fn offers_the_newest_release_of_the_same_kind_and_nothing_to_those_on_it() {
        let mut index = Index {
            releases: vec![
                release("0.1.0", "stable"),
                release("0.2.0", "stable"),
                release("0.3.0", "pilot"),
            ],
            ..Index::default()
        };
        assert_eq!(
            index
                .offer(&asked("0.1.0", "a"))
                .map(|r| r.version.as_str()),
            Some("0.2.0")
        );
        assert_eq!(index.offer(&asked("0.2.0", "a")), None);
        // Never a downgrade unless IT pinned one.
        assert_eq!(index.offer(&asked("0.9.0", "a")), None);
        // An rpm installation is never offered the deb.
        let rpm = Asked {
            bundle: "rpm",
            ..asked("0.1.0", "a")
        };
        assert_eq!(index.offer(&rpm), None);
        let pilot = Asked {
            channel: "pilot",
            ..asked("0.1.0", "a")
        };
        assert_eq!(
            index.offer(&pilot).map(|r| r.version.as_str()),
            Some("0.3.0")
        );
        // A pin holds everyone on 0.1.0, and rolls back those already on 0.2.0.
        index.channels.insert(
            "stable".into(),
            Channel {
                pinned: Some("0.1.0".into()),
            },
        );
        assert_eq!(index.offer(&asked("0.1.0", "a")), None);
        assert_eq!(
            index
                .offer(&asked("0.2.0", "a"))
                .map(|r| r.version.as_str()),
            Some("0.1.0")
        );
    }

    #[test]
    fn a_staged_rollout_reaches_about_its_share_and_the_same_laptops_every_time() {
        let mut index = Index {
            releases: vec![release("0.1.0", "stable"), release("0.2.0", "stable")],
            ..Index::default()
        };
        let v2 = semver::Version::new(0, 2, 0);
        assert!(index.set_rollout("stable", &v2, 25));
        let ids: Vec<String> = (0..2000).map(|n| format!("{n:032x}")).collect();
        let updated: Vec<&String> = ids
            .iter()
            .filter(|id| index.offer(&asked("0.1.0", id)).is_some())
            .collect();
        assert!(
            (400..600).contains(&updated.len()),
            "{} of 2000",
            updated.len()
        );
        for id in &updated {
            assert!(index.offer(&asked("0.1.0", id)).is_some(), "flipped");
        }
        index.set_rollout("stable", &v2, 0);
        assert!(
            ids.iter()
                .all(|id| index.offer(&asked("0.1.0", id)).is_none())
        );
        index.set_rollout("stable", &v2, 100);
        assert!(
            ids.iter()
                .all(|id| index.offer(&asked("0.1.0", id)).is_some())
        );
    }

    #[test]
    fn a_new_release_does_not_carry_the_last_ones_partial_rollout_to_everyone() {
        // 0.2.0 reached 10 %; then 0.3.0 is added (fully) and staged to 0 %: those outside stay
        // on what they run, never pushed to the half-rolled-out 0.2.0.
        let mut index = Index {
            releases: vec![
                release("0.1.0", "stable"),
                release("0.2.0", "stable"),
                release("0.3.0", "stable"),
            ],
            ..Index::default()
        };
        index.set_rollout("stable", &semver::Version::new(0, 2, 0), 10);
        index.set_rollout("stable", &semver::Version::new(0, 3, 0), 0);
        let ids: Vec<String> = (0..1000).map(|n| format!("{n:032x}")).collect();
        let to_02 = ids
            .iter()
            .filter(|id| {
                index.offer(&asked("0.1.0", id)).map(|r| r.version.as_str()) == Some("0.2.0")
            })
            .count();
        assert!((50..150).contains(&to_02), "{to_02} of 1000 sent to 0.2.0");
        assert!(ids.iter().all(
            |id| index.offer(&asked("0.1.0", id)).map(|r| r.version.as_str()) != Some("0.3.0")
        ));
    }

    #[test]
    fn bundle_names_tell_their_kind() {
        assert_eq!(
            bundle_kind("Lawyers Hub_0.1.1_amd64.deb"),
            Some(("linux", "x86_64", "deb"))
        );
        assert_eq!(
            bundle_kind("Lawyers Hub-0.1.1-1.x86_64.rpm"),
            Some(("linux", "x86_64", "rpm"))
        );
        assert_eq!(
            bundle_kind("Lawyers Hub_0.1.1_x64_en-US.msi"),
            Some(("windows", "x86_64", "msi"))
        );
        assert_eq!(
            bundle_kind("Lawyers Hub_0.1.1_x64-setup.exe"),
            Some(("windows", "x86_64", "nsis"))
        );
        assert_eq!(bundle_kind("notes.txt"), None);
    }

    #[test]
    fn the_signed_version_is_read_from_the_trusted_comment() {
        use base64::Engine as _;
        let sig = "untrusted comment: signature from tauri secret key\nRUQ...\ntrusted comment: timestamp:1765000000\tfile:Lawyers Hub_0.1.1_amd64.deb\tversion:0.1.1\nabc==\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(sig);
        assert_eq!(signed_version(&b64).as_deref(), Some("0.1.1"));
        assert_eq!(signed_version("not base64!"), None);
    }
}
