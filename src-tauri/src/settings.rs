//! The app's settings (a JSON file in the data directory) and its command-line options.
//! Nothing secret is stored here: the database key and refresh token live in the OS keychain,
//! and a development token only ever comes from the command line or the environment.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Scopes asked for besides `openid profile email offline_access`, space-separated: Microsoft
    /// Entra ID needs the sync server's API scope (`api://<app-id>/sync`) to issue a token for it.
    pub oidc_scopes: String,
    /// The API the token is for, for providers that take it as an `audience` parameter (Auth0,
    /// some Okta set-ups). Empty: not sent.
    pub oidc_audience: String,
    /// The same as an RFC 8707 `resource` indicator, for providers that take that instead.
    /// Empty: not sent. (Entra ID v2 refuses `resource`: use `oidc_scopes` there.)
    pub oidc_resource: String,
    /// The firm's HTTP proxy (`http://proxy.firm.example:3128`) for every connection the app
    /// makes. Empty: the system's (`HTTPS_PROXY`, `NO_PROXY`).
    pub proxy: String,
    /// The update channel the firm's server offers this computer (`stable`, `pilot`, …).
    pub update_channel: String,
    /// Check the firm's server for updates at start and daily.
    pub automatic_updates: bool,
    /// Show the AI copilot panel (the firm's server still decides whether it answers).
    pub copilot_visible: bool,
    /// How much the log files say: `error`, `warn`, `info` or `debug`. Never document text or
    /// tokens at any level.
    pub log_level: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server_url: String::new(),
            display_name: String::new(),
            work_offline: false,
            oidc_issuer: String::new(),
            oidc_client_id: String::new(),
            oidc_scopes: String::new(),
            oidc_audience: String::new(),
            oidc_resource: String::new(),
            proxy: String::new(),
            update_channel: "stable".to_owned(),
            automatic_updates: true,
            copilot_visible: true,
            log_level: "info".to_owned(),
        }
    }
}

/// The levels `log_level` may name.
pub const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug"];

impl Settings {
    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("settings.json")
    }

    /// Where IT can preset the firm's settings for every user of a machine (installers drop a
    /// `settings.json` there): defaults a lawyer may change. Values a lawyer may not change are
    /// IT's policy (policy.rs), not a preset.
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

    /// One settings file as the fields it sets (a preset or a saved file may set only some),
    /// or None when it is missing, not JSON, or sets a value the settings screen would refuse.
    fn read(path: &Path) -> Option<serde_json::Map<String, serde_json::Value>> {
        let bytes = std::fs::read(path).ok()?;
        let fields = match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
            &bytes,
        ) {
            Ok(fields) => fields,
            Err(error) => {
                // Settings are not worth refusing to start over; say which file is broken.
                tracing::warn!(path = %path.display(), %error, "settings file is not a JSON object; ignored");
                return None;
            }
        };
        // Refused as a value typed in the settings screen would be; the next source applies.
        match Self::over(&Settings::default(), &fields).and_then(|settings| settings.validate()) {
            Ok(()) => Some(fields),
            Err(message) => {
                tracing::warn!(path = %path.display(), message, "settings file refused; ignored");
                None
            }
        }
    }

    /// `base` with the given fields set over it (also how policy.rs applies its locks).
    pub fn over(
        base: &Settings,
        fields: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Settings, String> {
        let mut merged = match serde_json::to_value(base) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        for (name, value) in fields {
            merged.insert(name.clone(), value.clone());
        }
        serde_json::from_value(serde_json::Value::Object(merged)).map_err(|error| error.to_string())
    }

    /// IT's preset over the defaults: what a lawyer starts from, and goes back to for any field
    /// they have not changed.
    pub fn base() -> Settings {
        Self::base_with_preset(&Self::preset_path())
    }

    fn base_with_preset(preset: &Path) -> Settings {
        Self::read(preset)
            .and_then(|fields| Self::over(&Settings::default(), &fields).ok())
            .unwrap_or_default()
    }

    /// The lawyer's saved settings over IT's preset over the defaults, field by field: a field
    /// the lawyer never changed follows the preset, even after they saved other settings.
    pub fn load(data_dir: &Path) -> Settings {
        Self::load_with_preset(data_dir, &Self::preset_path())
    }

    fn load_with_preset(data_dir: &Path, preset: &Path) -> Settings {
        let base = Self::base_with_preset(preset);
        Self::read(&Self::path(data_dir))
            .and_then(|own| Self::over(&base, &own).ok())
            .unwrap_or(base)
    }

    /// Saves the fields that differ from `base` (the preset over the defaults), so a preset IT
    /// changes later still reaches every field the lawyer left alone.
    pub fn save(&self, data_dir: &Path, base: &Settings) -> std::io::Result<()> {
        let (Ok(serde_json::Value::Object(mine)), Ok(serde_json::Value::Object(theirs))) =
            (serde_json::to_value(self), serde_json::to_value(base))
        else {
            return Err(std::io::Error::other("settings are not a JSON object"));
        };
        let changed: serde_json::Map<String, serde_json::Value> = mine
            .into_iter()
            .filter(|(name, value)| theirs.get(name) != Some(value))
            .collect();
        let bytes = serde_json::to_vec_pretty(&changed).map_err(std::io::Error::other)?;
        let temporary = data_dir.join("settings.json.tmp");
        std::fs::write(&temporary, bytes)?;
        std::fs::rename(temporary, Self::path(data_dir))
    }

    /// The one set of rules for settings from every source: typed in the settings screen, IT's
    /// preset, the saved file, the environment and the command line. Addresses are parsed as
    /// URLs (see `local::address`); the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if !self.server_url.trim().is_empty() {
            local::address::sync_server_url(&self.server_url).map_err(|error| error.to_string())?;
        }
        if !self.oidc_issuer.trim().is_empty() {
            local::address::identity_provider_url(&self.oidc_issuer)
                .map_err(|error| error.to_string())?;
        }
        if !self.proxy.trim().is_empty() {
            local::net::validate_proxy(&self.proxy).map_err(|error| error.to_string())?;
        }
        let channel = self.update_channel.trim();
        if channel.is_empty()
            || channel.len() > 32
            || !channel
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "the update channel “{channel}” must be 1 to 32 lower-case letters, digits or dashes"
            ));
        }
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            return Err(format!(
                "the log level “{}” is not one of {}",
                self.log_level,
                LOG_LEVELS.join(", ")
            ));
        }
        if let Some(bad) = self.oidc_scopes.split_whitespace().find(|scope| {
            scope
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
        }) {
            return Err(format!(
                "the sign-in scope “{bad}” is not a valid OAuth scope"
            ));
        }
        Ok(())
    }

    /// The proxy for `local::net::set_proxy` (None: the system's).
    pub fn proxy(&self) -> Option<String> {
        let proxy = self.proxy.trim();
        (!proxy.is_empty()).then(|| proxy.to_owned())
    }

    /// Sign-in with the identity provider as configured: extra scopes, audience or resource.
    pub fn sign_in_config(&self) -> local::SignInConfig {
        let mut config =
            local::SignInConfig::new(self.oidc_issuer.trim(), self.oidc_client_id.trim());
        for scope in self.oidc_scopes.split_whitespace() {
            if !config.scopes.iter().any(|known| known == scope) {
                config.scopes.push(scope.to_owned());
            }
        }
        for (name, value) in [
            ("audience", &self.oidc_audience),
            ("resource", &self.oidc_resource),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                config
                    .extra_params
                    .push((name.to_owned(), value.to_owned()));
            }
        }
        config
    }
}

/// Options from the command line (or environment), for IT presets, `scripts/dev` and tests.
#[derive(Debug, Default)]
pub struct LaunchOptions {
    pub data_dir: Option<PathBuf>,
    pub server_url: Option<String>,
    pub dev_token: Option<String>,
    pub display_name: Option<String>,
    /// `--help`: print the usage and exit (no window).
    pub help: bool,
    /// `--version`: print the version and exit (no window).
    pub version: bool,
}

/// What `--help` prints.
pub const USAGE: &str = "\
Lawyers Hub: matters and drafts on this computer, co-edited through the firm's server.

Usage: lawyers-hub [OPTIONS]

Options:
  --data-dir DIR      keep this computer's encrypted data in DIR (a second profile)
  --server URL        the firm's sync endpoint, wss://hub.firm.example/api/v1/sync
  --name NAME         your name as collaborators see it
  --dev-token TOKEN   sign in with a development token (development servers only)
  --version           print the version and exit
  --help              print this and exit

Environment: HUB_DATA_DIR, HUB_SERVER_URL, HUB_DISPLAY_NAME, HUB_DEV_TOKEN as the options above;
HUB_LOG (error, warn, info, debug) for the log level unless the firm's policy sets it.
Settings IT locks: /etc/lawyers-hub/policy.json (Linux), HKLM\\Software\\Policies\\LawyersHub
(Windows), managed preferences for app.lawyershub.desktop (macOS). See README, “For IT”.
";

impl LaunchOptions {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        Self::parse_with_env(args, |name| std::env::var_os(name))
    }

    /// `parse` with the environment given (tests cannot set the process's environment safely).
    fn parse_with_env(
        args: impl Iterator<Item = String>,
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, String> {
        let text = |name: &str| -> Result<Option<String>, String> {
            env(name)
                .map(|value| {
                    value
                        .into_string()
                        .map_err(|_| format!("{name} is not valid text"))
                })
                .transpose()
        };
        let mut options = LaunchOptions {
            data_dir: env("HUB_DATA_DIR").map(PathBuf::from),
            server_url: text("HUB_SERVER_URL")?,
            dev_token: text("HUB_DEV_TOKEN")?,
            display_name: text("HUB_DISPLAY_NAME")?,
            help: false,
            version: false,
        };
        let mut args = args.skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--data-dir" => options.data_dir = Some(PathBuf::from(value("--data-dir")?)),
                "--server" => options.server_url = Some(value("--server")?),
                "--dev-token" => options.dev_token = Some(value("--dev-token")?),
                "--name" => options.display_name = Some(value("--name")?),
                "--help" | "-h" => options.help = true,
                "--version" | "-V" => options.version = true,
                other => {
                    return Err(format!(
                        "unknown option {other}; known: --data-dir DIR, --server URL, \
                         --dev-token TOKEN, --name NAME, --version, --help"
                    ));
                }
            }
        }
        // Held to the rules of the settings screen: these values override the saved settings.
        let overrides = Settings {
            server_url: options.server_url.clone().unwrap_or_default(),
            ..Settings::default()
        };
        overrides
            .validate()
            .map_err(|message| format!("--server (or HUB_SERVER_URL): {message}"))?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_sets_the_proxy_scopes_and_audience_a_provider_needs() {
        let entra = Settings {
            oidc_issuer: "https://login.microsoftonline.com/tenant/v2.0".into(),
            oidc_client_id: "desktop-app-id".into(),
            oidc_scopes: "api://hub-api-id/sync  offline_access".into(),
            proxy: "http://proxy.firm.example:3128".into(),
            ..Settings::default()
        };
        assert_eq!(entra.validate(), Ok(()));
        let config = entra.sign_in_config();
        assert_eq!(
            config.scopes,
            [
                "openid",
                "profile",
                "email",
                "offline_access",
                "api://hub-api-id/sync"
            ]
        );
        assert!(
            config.extra_params.is_empty(),
            "Entra v2 refuses `resource`"
        );
        assert_eq!(
            entra.proxy().as_deref(),
            Some("http://proxy.firm.example:3128")
        );
        let okta = Settings {
            oidc_audience: "api://lawyers-hub".into(),
            ..Settings::default()
        };
        assert_eq!(
            okta.sign_in_config().extra_params,
            [("audience".to_owned(), "api://lawyers-hub".to_owned())]
        );
        for proxy in ["proxy.firm.example:3128", "socks5://proxy:1080"] {
            let bad = Settings {
                proxy: proxy.into(),
                ..Settings::default()
            };
            assert!(bad.validate().is_err(), "{proxy}");
        }
        assert_eq!(Settings::default().proxy(), None);
    }

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

    /// Strings that look like "this computer" to a prefix check but reach another host.
    const NOT_LOOPBACK: &[&str] = &[
        "ws://127.0.0.1.evil.com/api/v1/sync",
        "ws://localhost.evil.com/api/v1/sync",
        "ws://localhost@evil.com/api/v1/sync",
        "ws://127.0.0.1:8080@evil.com/api/v1/sync",
        "ws://localhost:1@evil.com/api/v1/sync",
        "ws://[::ffff:203.0.113.5]/api/v1/sync",
        "ws://[2001:db8::1]:8080/api/v1/sync",
        "ws://evil.com/127.0.0.1",
        "ws://evil.com?localhost",
    ];

    #[test]
    fn only_a_host_on_this_computer_may_use_plain_ws() {
        let with = |url: &str| Settings {
            server_url: url.into(),
            ..Settings::default()
        };
        for url in NOT_LOOPBACK {
            assert!(with(url).validate().is_err(), "{url} was accepted");
        }
        for url in [
            "ws://127.0.0.1:8080/api/v1/sync",
            "ws://127.8.9.10/api/v1/sync",
            "ws://localhost:8080/api/v1/sync",
            "ws://LOCALHOST/api/v1/sync",
            "ws://[::1]:8080/api/v1/sync",
        ] {
            assert!(with(url).validate().is_ok(), "{url} was refused");
        }
        // A user name or password in the address is refused even with wss://.
        for url in [
            "wss://hub.firm.example@evil.com/api/v1/sync",
            "wss://user:secret@hub.firm.example/api/v1/sync",
            "wss://",
            "wss://:443/api/v1/sync",
            "hub.firm.example",
        ] {
            assert!(with(url).validate().is_err(), "{url} was accepted");
        }
    }

    #[test]
    fn the_identity_provider_is_https_unless_on_this_computer() {
        let with = |issuer: &str| Settings {
            oidc_issuer: issuer.into(),
            ..Settings::default()
        };
        for issuer in [
            "",
            "https://clerk.firm.example",
            "http://127.0.0.1:4000",
            "http://localhost:4000/realms/firm",
        ] {
            assert!(with(issuer).validate().is_ok(), "{issuer} was refused");
        }
        for issuer in [
            "http://clerk.firm.example",
            "http://127.0.0.1.evil.com",
            "http://localhost@evil.com",
            "https://admin:secret@clerk.firm.example",
            "ftp://clerk.firm.example",
            "clerk.firm.example",
        ] {
            assert!(with(issuer).validate().is_err(), "{issuer} was accepted");
        }
    }

    #[test]
    fn presets_and_saved_files_are_validated_like_typed_settings() {
        let dir = std::env::temp_dir().join(format!("hub-settings-bent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let preset = dir.join("preset.json");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        for bad in [
            r#"{"server_url": "ws://127.0.0.1:80@evil.com/api/v1/sync"}"#,
            r#"{"server_url": "ws://[::ffff:203.0.113.5]/api/v1/sync"}"#,
            r#"{"oidc_issuer": "http://clerk.firm.example"}"#,
        ] {
            std::fs::write(&preset, bad).unwrap();
            assert_eq!(
                Settings::load_with_preset(&data, &preset),
                Settings::default(),
                "preset {bad} was used"
            );
        }
        // A bent saved file is refused too, and the (valid) preset applies instead.
        std::fs::write(
            &preset,
            r#"{"server_url": "wss://hub.firm.example/api/v1/sync"}"#,
        )
        .unwrap();
        std::fs::write(
            data.join("settings.json"),
            r#"{"server_url": "ws://localhost:1@evil.com/api/v1/sync"}"#,
        )
        .unwrap();
        assert_eq!(
            Settings::load_with_preset(&data, &preset).server_url,
            "wss://hub.firm.example/api/v1/sync"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn command_line_values_are_validated_like_typed_settings() {
        for url in NOT_LOOPBACK {
            let args = ["app", "--server", url];
            let parsed = LaunchOptions::parse(args.iter().map(|s| s.to_string()));
            assert!(parsed.is_err(), "--server {url} was accepted");
        }
        let args = ["app", "--server", "wss://hub.firm.example/api/v1/sync"];
        assert!(LaunchOptions::parse(args.iter().map(|s| s.to_string())).is_ok());
    }

    #[test]
    fn environment_values_are_validated_like_typed_settings() {
        let no_args = || ["app"].iter().map(|s| s.to_string());
        for url in NOT_LOOPBACK {
            let env = |name: &str| (name == "HUB_SERVER_URL").then(|| (*url).into());
            let error = LaunchOptions::parse_with_env(no_args(), env).unwrap_err();
            assert!(error.contains("HUB_SERVER_URL"), "{error}");
        }
        let env = |name: &str| {
            (name == "HUB_SERVER_URL").then(|| "ws://127.0.0.1:8080/api/v1/sync".into())
        };
        let options = LaunchOptions::parse_with_env(no_args(), env).unwrap();
        assert_eq!(
            options.server_url.as_deref(),
            Some("ws://127.0.0.1:8080/api/v1/sync")
        );
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
        // The settings screen sends back what it showed, with the lawyer's change.
        let own = Settings {
            display_name: "Ada".into(),
            ..Settings::load_with_preset(&data, &preset)
        };
        own.save(&data, &Settings::base_with_preset(&preset))
            .unwrap();
        let loaded = Settings::load_with_preset(&data, &preset);
        assert_eq!(loaded.display_name, "Ada");
        // The field the lawyer left alone follows the preset, also when IT changes it later.
        assert_eq!(loaded.server_url, "wss://hub.firm.example/api/v1/sync");
        std::fs::write(
            &preset,
            r#"{"server_url": "wss://hub2.firm.example/api/v1/sync"}"#,
        )
        .unwrap();
        let loaded = Settings::load_with_preset(&data, &preset);
        assert_eq!(loaded.server_url, "wss://hub2.firm.example/api/v1/sync");
        assert_eq!(loaded.display_name, "Ada");
        // A field the lawyer set (even to empty) stays theirs.
        let mine = Settings {
            server_url: String::new(),
            ..loaded
        };
        mine.save(&data, &Settings::base_with_preset(&preset))
            .unwrap();
        assert_eq!(Settings::load_with_preset(&data, &preset), mine);
        std::fs::write(
            &preset,
            r#"{"server_url": "wss://hub.firm.example/api/v1/sync"}"#,
        )
        .unwrap();
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
        let asked = |arg: &str| LaunchOptions::parse(["app", arg].iter().map(|s| s.to_string()));
        assert!(asked("--help").unwrap().help);
        assert!(asked("--version").unwrap().version);
        assert!(USAGE.contains("--data-dir DIR") && USAGE.contains("--version"));
    }
}
