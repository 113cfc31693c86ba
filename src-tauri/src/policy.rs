//! Managed settings: values the firm's IT locks on every laptop. They come from the OS's
//! place for machine policy — `/etc/lawyers-hub/policy.json` on Linux,
//! `HKLM\Software\Policies\LawyersHub` on Windows, managed preferences for
//! `app.lawyershub.desktop` on macOS — and always win over the lawyer's settings, IT's preset
//! and the command line. A value that cannot be applied is reported (Settings, "Copy
//! diagnostics", the log), never silently dropped.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::settings::Settings;

/// The settings IT may lock. The lawyer's name and "work offline" stay the lawyer's.
pub const LOCKABLE: &[&str] = &[
    "server_url",
    "oidc_issuer",
    "oidc_client_id",
    "oidc_scopes",
    "oidc_audience",
    "oidc_resource",
    "proxy",
    "update_channel",
    "automatic_updates",
    "copilot_visible",
    "log_level",
];

#[derive(Debug, Clone, Default, Serialize)]
pub struct Policy {
    /// Where the policy was read from, for the help desk; None: no policy on this computer.
    pub source: Option<String>,
    /// The locked values, each valid as a setting.
    values: Map<String, Value>,
    /// What IT set that could not be applied, each naming the value and what to change.
    pub problems: Vec<String>,
}

impl Policy {
    /// This computer's policy (none, when IT set none).
    pub fn load() -> Policy {
        match platform::read() {
            Ok(None) => Policy::default(),
            Ok(Some((source, values))) => Policy::from_values(source, values),
            Err((source, problem)) => Policy {
                source: Some(source),
                values: Map::new(),
                problems: vec![problem],
            },
        }
    }

    /// Validates each value as the settings screen would, and keeps those that pass.
    pub fn from_values(source: String, raw: Map<String, Value>) -> Policy {
        let mut values = Map::new();
        let mut problems = Vec::new();
        let defaults = match serde_json::to_value(Settings::default()) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for (name, value) in raw {
            if !LOCKABLE.contains(&name.as_str()) {
                let known = if defaults.contains_key(&name) {
                    "is the lawyer's own setting and cannot be locked"
                } else {
                    "is not a Lawyers Hub setting"
                };
                problems.push(format!("“{name}” {known}; it was not applied."));
                continue;
            }
            let value = match (defaults.get(&name), value) {
                (Some(Value::Bool(_)), Value::Bool(flag)) => Value::Bool(flag),
                // Windows policy values are DWORDs: 0 or 1.
                (Some(Value::Bool(_)), Value::Number(number)) if number.as_u64() == Some(0) => {
                    Value::Bool(false)
                }
                (Some(Value::Bool(_)), Value::Number(number)) if number.as_u64() == Some(1) => {
                    Value::Bool(true)
                }
                (Some(Value::String(_)), Value::String(text)) => Value::String(text),
                (Some(Value::Bool(_)), other) => {
                    problems.push(format!(
                        "“{name}” must be true or false (0 or 1 in the registry), not {other}; \
                         it was not applied."
                    ));
                    continue;
                }
                (_, other) => {
                    problems.push(format!(
                        "“{name}” must be text, not {other}; it was not applied."
                    ));
                    continue;
                }
            };
            let mut one = Map::new();
            one.insert(name.clone(), value.clone());
            match Settings::over(&Settings::default(), &one)
                .and_then(|settings| settings.validate())
            {
                Ok(()) => {
                    values.insert(name, value);
                }
                Err(message) => {
                    problems.push(format!("“{name}”: {message}; it was not applied."));
                }
            }
        }
        for problem in &problems {
            tracing::warn!(
                source = source.as_str(),
                problem,
                "managed policy value refused"
            );
        }
        Policy {
            source: Some(source),
            values,
            problems,
        }
    }

    /// The locked settings' names, in LOCKABLE's order.
    pub fn locked(&self) -> Vec<&'static str> {
        LOCKABLE
            .iter()
            .copied()
            .filter(|name| self.values.contains_key(*name))
            .collect()
    }

    /// `settings` with every locked value put back: what the app uses, whatever was saved,
    /// preset or given on the command line.
    pub fn apply(&self, settings: Settings) -> Settings {
        if self.values.is_empty() {
            return settings;
        }
        match Settings::over(&settings, &self.values) {
            Ok(locked) => locked,
            Err(error) => {
                // Each value was checked alone in from_values; this cannot fail, but if it did
                // the lawyer's settings are still valid ones.
                tracing::error!(%error, "managed policy could not be applied");
                settings
            }
        }
    }
}

/// A policy's values and where they came from; or where, and why none could be read.
type Read = Result<Option<(String, Map<String, Value>)>, (String, String)>;

impl Policy {
    /// What to save of `edited`: its own values, except that each locked field keeps what was
    /// saved before (`on_disk`), so a lock IT later lifts leaves the lawyer's own value, not the
    /// firm's, behind.
    pub fn keep_unlocked(&self, edited: Settings, on_disk: &Settings) -> Settings {
        let Ok(Value::Object(before)) = serde_json::to_value(on_disk) else {
            return edited;
        };
        let kept: Map<String, Value> = before
            .into_iter()
            .filter(|(name, _)| self.values.contains_key(name))
            .collect();
        Settings::over(&edited, &kept).unwrap_or(edited)
    }
}

/// A policy file's text as values: a JSON object of settings.
pub fn parse_json(source: &str, bytes: &[u8]) -> Result<Map<String, Value>, String> {
    serde_json::from_slice::<Map<String, Value>>(bytes).map_err(|error| {
        format!("{source} is not a JSON object of settings ({error}); no value in it was applied.")
    })
}

#[cfg(not(any(target_os = "windows", target_os = "macos")))]
mod platform {
    use super::*;

    pub const PATH: &str = "/etc/lawyers-hub/policy.json";

    pub fn read() -> Read {
        let bytes = match std::fs::read(PATH) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err((
                    PATH.to_owned(),
                    format!("{PATH} could not be read ({error}); no value in it was applied."),
                ));
            }
        };
        parse_json(PATH, &bytes)
            .map(|values| Some((PATH.to_owned(), values)))
            .map_err(|problem| (PATH.to_owned(), problem))
    }
}

#[cfg(target_os = "windows")]
mod platform {
    use super::*;
    use winreg::RegKey;
    use winreg::enums::{HKEY_LOCAL_MACHINE, REG_DWORD, REG_EXPAND_SZ, REG_SZ};
    use winreg::types::FromRegValue;

    const KEY: &str = r"Software\Policies\LawyersHub";

    pub fn read() -> Read {
        let source = format!(r"HKLM\{KEY}");
        let key = match RegKey::predef(HKEY_LOCAL_MACHINE).open_subkey(KEY) {
            Ok(key) => key,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                let problem =
                    format!("{source} could not be read ({error}); no value was applied.");
                return Err((source, problem));
            }
        };
        let mut values = Map::new();
        for item in key.enum_values() {
            let (name, value) = item.map_err(|error| {
                let problem =
                    format!("{source} could not be read ({error}); no value was applied.");
                (source.clone(), problem)
            })?;
            let json = match value.vtype {
                REG_SZ | REG_EXPAND_SZ => String::from_reg_value(&value).map(Value::String),
                REG_DWORD => u32::from_reg_value(&value).map(|n| Value::from(u64::from(n))),
                // Refused by name in from_values as "must be text".
                _ => Ok(Value::Null),
            };
            values.insert(name, json.unwrap_or(Value::Null));
        }
        Ok(Some((source, values)))
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    const DOMAIN: &str = "app.lawyershub.desktop";

    /// Managed preferences pushed by the firm's MDM: the user's own, else the computer's.
    pub fn read() -> Read {
        let user = std::env::var("USER").unwrap_or_default();
        let candidates = [
            format!("/Library/Managed Preferences/{user}/{DOMAIN}.plist"),
            format!("/Library/Managed Preferences/{DOMAIN}.plist"),
        ];
        let Some(path) = candidates
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
        else {
            return Ok(None);
        };
        let dictionary = plist::Value::from_file(&path)
            .ok()
            .and_then(plist::Value::into_dictionary)
            .ok_or_else(|| {
                let problem =
                    format!("{path} is not a property list of settings; no value was applied.");
                (path.clone(), problem)
            })?;
        let values = dictionary
            .into_iter()
            .map(|(name, value)| {
                let json = match value {
                    plist::Value::String(text) => Value::String(text),
                    plist::Value::Boolean(flag) => Value::Bool(flag),
                    plist::Value::Integer(number) => {
                        number.as_unsigned().map(Value::from).unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                };
                (name, json)
            })
            .collect();
        Ok(Some((path, values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Policy {
        Policy::from_values(
            "test".into(),
            parse_json("test", json.as_bytes()).expect("json"),
        )
    }

    #[test]
    fn locked_values_win_over_what_the_lawyer_saved() {
        let policy = policy(
            r#"{"server_url": "wss://hub.firm.example/api/v1/sync",
                "oidc_issuer": "https://id.firm.example",
                "automatic_updates": false,
                "copilot_visible": 0,
                "log_level": "warn"}"#,
        );
        assert!(policy.problems.is_empty(), "{:?}", policy.problems);
        assert_eq!(
            policy.locked(),
            [
                "server_url",
                "oidc_issuer",
                "automatic_updates",
                "copilot_visible",
                "log_level"
            ]
        );
        let mine = Settings {
            server_url: "wss://elsewhere.example/api/v1/sync".into(),
            oidc_issuer: "https://id.elsewhere.example".into(),
            display_name: "Ada".into(),
            ..Settings::default()
        };
        let used = policy.apply(mine);
        assert_eq!(used.server_url, "wss://hub.firm.example/api/v1/sync");
        assert_eq!(used.oidc_issuer, "https://id.firm.example");
        assert!(!used.automatic_updates);
        assert!(!used.copilot_visible);
        assert_eq!(used.log_level, "warn");
        // What is not locked stays the lawyer's.
        assert_eq!(used.display_name, "Ada");
        assert_eq!(used.update_channel, "stable");
    }

    #[test]
    fn values_that_cannot_be_applied_are_reported_each_by_name() {
        let policy = policy(
            r#"{"server_url": "ws://hub.firm.example/api/v1/sync",
                "proxy": "socks5://proxy:1080",
                "display_name": "Someone",
                "serverurl": "wss://typo.example",
                "automatic_updates": "no",
                "log_level": "verbose",
                "update_channel": "Pilot Group",
                "oidc_client_id": 7,
                "oidc_audience": "api://lawyers-hub"}"#,
        );
        assert_eq!(policy.locked(), ["oidc_audience"]);
        let problems = policy.problems.join("\n");
        for name in [
            "server_url",
            "proxy",
            "display_name",
            "serverurl",
            "automatic_updates",
            "log_level",
            "update_channel",
            "oidc_client_id",
        ] {
            assert!(
                problems.contains(&format!("“{name}”")),
                "{name} not reported in:\n{problems}"
            );
        }
        assert_eq!(policy.problems.len(), 8, "{problems}");
        // Nothing refused reaches the settings in use.
        let used = policy.apply(Settings::default());
        assert_eq!(used.server_url, "");
        assert!(used.automatic_updates);
        assert_eq!(used.oidc_audience, "api://lawyers-hub");
    }

    #[test]
    fn a_locked_value_is_not_saved_as_the_lawyers_own() {
        let policy = policy(r#"{"server_url": "wss://hub.firm.example/api/v1/sync"}"#);
        let before = Settings {
            server_url: "wss://mine.example/api/v1/sync".into(),
            ..Settings::default()
        };
        let edited = Settings {
            display_name: "Ada".into(),
            ..policy.apply(before.clone())
        };
        let saved = policy.keep_unlocked(edited, &before);
        assert_eq!(saved.server_url, "wss://mine.example/api/v1/sync");
        assert_eq!(saved.display_name, "Ada");
    }

    #[test]
    fn a_broken_policy_file_is_one_clear_problem() {
        let error = parse_json("/etc/lawyers-hub/policy.json", b"{\"server_url\": ").unwrap_err();
        assert!(error.contains("/etc/lawyers-hub/policy.json"), "{error}");
        assert!(error.contains("no value in it was applied"), "{error}");
        assert!(parse_json("p", b"[1, 2]").is_err());
    }
}
