//! The app's settings (a JSON file in the data directory) and its command-line options.
//! Nothing secret is stored here: the database key and refresh token live in the OS keychain,
//! and a development token only ever comes from the command line or the environment.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The firm's sync endpoint, `wss://hub.firm.example/api/v1/sync`. Empty: this computer only.
    pub server_url: String,
    /// The lawyer's name, shown to collaborators next to the cursor and used for "my matters".
    pub display_name: String,
    /// Stay disconnected even when a server is configured.
    pub work_offline: bool,
    /// The firm's identity provider (Clerk or any OIDC issuer) and this app's client id there.
    pub oidc_issuer: String,
    pub oidc_client_id: String,
}

impl Settings {
    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("settings.json")
    }

    /// Where IT can preset the firm's settings for every user of a machine (installers drop a
    /// `settings.json` there); used until the lawyer saves settings of their own.
    pub fn preset_path() -> PathBuf {
        if let Some(path) = std::env::var_os("HUB_PRESET_SETTINGS") {
            return PathBuf::from(path);
        }
        if cfg!(target_os = "windows") {
            let base = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
            PathBuf::from(base)
                .join("Lawyers Hub")
                .join("settings.json")
        } else if cfg!(target_os = "macos") {
            PathBuf::from("/Library/Application Support/Lawyers Hub/settings.json")
        } else {
            PathBuf::from("/etc/lawyers-hub/settings.json")
        }
    }

    fn read(path: &Path) -> Option<Settings> {
        let bytes = std::fs::read(path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(settings) => Some(settings),
            Err(error) => {
                // Settings are not worth refusing to start over; say which file is broken.
                tracing::warn!(path = %path.display(), %error, "settings file is not valid JSON; ignored");
                None
            }
        }
    }

    /// The lawyer's saved settings, else IT's preset, else the defaults.
    pub fn load(data_dir: &Path) -> Settings {
        Self::load_with_preset(data_dir, &Self::preset_path())
    }

    fn load_with_preset(data_dir: &Path, preset: &Path) -> Settings {
        Self::read(&Self::path(data_dir))
            .or_else(|| Self::read(preset))
            .unwrap_or_default()
    }

    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let temporary = data_dir.join("settings.json.tmp");
        std::fs::write(&temporary, bytes)?;
        std::fs::rename(temporary, Self::path(data_dir))
    }

    pub fn validate(&self) -> Result<(), String> {
        let url = self.server_url.trim();
        if !(url.is_empty() || url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(format!(
                "The server address must start with wss:// (or ws:// for a server on this \
                 computer), e.g. wss://hub.your-firm.com/api/v1/sync — not \"{url}\"."
            ));
        }
        if url.starts_with("ws://") && !is_loopback(url) {
            return Err(
                "Use wss:// for the firm's server: ws:// is unencrypted and only \
                        allowed for a server on this computer."
                    .into(),
            );
        }
        Ok(())
    }
}

fn is_loopback(url: &str) -> bool {
    let host = url
        .trim_start_matches("ws://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    matches!(host, "127.0.0.1" | "localhost" | "[")
}

/// Options from the command line (or environment), for IT presets, `scripts/dev` and tests.
#[derive(Debug, Default)]
pub struct LaunchOptions {
    pub data_dir: Option<PathBuf>,
    pub server_url: Option<String>,
    pub dev_token: Option<String>,
    pub display_name: Option<String>,
}

impl LaunchOptions {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = LaunchOptions {
            data_dir: std::env::var_os("HUB_DATA_DIR").map(PathBuf::from),
            server_url: std::env::var("HUB_SERVER_URL").ok(),
            dev_token: std::env::var("HUB_DEV_TOKEN").ok(),
            display_name: std::env::var("HUB_DISPLAY_NAME").ok(),
        };
        let mut args = args.skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--data-dir" => options.data_dir = Some(PathBuf::from(value("--data-dir")?)),
                "--server" => options.server_url = Some(value("--server")?),
                "--dev-token" => options.dev_token = Some(value("--dev-token")?),
                "--name" => options.display_name = Some(value("--name")?),
                other => {
                    return Err(format!(
                        "unknown option {other}; known: --data-dir DIR, --server URL, \
                         --dev-token TOKEN, --name NAME"
                    ));
                }
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_must_be_websocket_and_encrypted_off_this_computer() {
        let with = |url: &str| Settings {
            server_url: url.into(),
            ..Settings::default()
        };
        assert!(with("").validate().is_ok());
        assert!(
            with("wss://hub.firm.example/api/v1/sync")
                .validate()
                .is_ok()
        );
        assert!(with("ws://127.0.0.1:8080/api/v1/sync").validate().is_ok());
        assert!(
            with("ws://hub.firm.example/api/v1/sync")
                .validate()
                .is_err()
        );
        assert!(with("https://hub.firm.example").validate().is_err());
    }

    #[test]
    fn own_settings_win_over_the_preset_which_wins_over_defaults() {
        // No tempfile crate here: a dev-dependency would change the app's dependency features
        // and rebuild its whole release tree just for the tests.
        let dir = std::env::temp_dir().join(format!("hub-settings-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let preset = dir.join("preset.json");
        std::fs::write(
            &preset,
            r#"{"server_url": "wss://hub.firm.example/api/v1/sync"}"#,
        )
        .unwrap();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        assert_eq!(
            Settings::load_with_preset(&data, &preset).server_url,
            "wss://hub.firm.example/api/v1/sync"
        );
        let own = Settings {
            display_name: "Ada".into(),
            ..Settings::default()
        };
        own.save(&data).unwrap();
        assert_eq!(Settings::load_with_preset(&data, &preset), own);
        std::fs::write(data.join("settings.json"), "{not json").unwrap();
        assert_eq!(
            Settings::load_with_preset(&data, &preset).server_url,
            "wss://hub.firm.example/api/v1/sync"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parses_launch_options() {
        let args = [
            "app",
            "--data-dir",
            "/tmp/x",
            "--server",
            "ws://127.0.0.1:1/api/v1/sync",
        ];
        let options = LaunchOptions::parse(args.iter().map(|s| s.to_string())).unwrap();
        assert_eq!(options.data_dir, Some(PathBuf::from("/tmp/x")));
        assert!(LaunchOptions::parse(["app", "--bogus"].iter().map(|s| s.to_string())).is_err());
        assert!(LaunchOptions::parse(["app", "--server"].iter().map(|s| s.to_string())).is_err());
    }
}
