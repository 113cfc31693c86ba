//! Addresses that come from people or IT (the settings screen, presets, the environment, the
//! command line): parsed as URLs once, with one rule for what "this computer" means.

use oauth2::url::{Host, Url};

use crate::LocalError;

const SERVER_EXAMPLE: &str = "wss://hub.your-firm.com/api/v1/sync";
const SIGN_IN_EXAMPLE: &str = "https://clerk.your-firm.com";

/// Whether `url` names this computer: `localhost`, 127.0.0.0/8 or ::1. Decided on the parsed
/// host, never on the text, so `127.0.0.1.evil.com`, `localhost@evil.com` and
/// `[::ffff:203.0.113.5]` are other computers.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// The firm's sync server: `wss://`, or unencrypted `ws://` only on this computer.
pub fn sync_server_url(value: &str) -> Result<Url, LocalError> {
    let url = parse(value, "server address", SERVER_EXAMPLE)?;
    match url.scheme() {
        "wss" => Ok(url),
        "ws" if is_loopback(&url) => Ok(url),
        "ws" => Err(LocalError::InvalidInput(
            "Use wss:// for the firm's server: ws:// is unencrypted and only allowed for a \
             server on this computer (localhost, 127.0.0.1 or [::1])."
                .into(),
        )),
        _ => Err(LocalError::InvalidInput(format!(
            "The server address must start with wss:// (or ws:// for a server on this \
             computer), e.g. {SERVER_EXAMPLE} — not \"{}\".",
            value.trim()
        ))),
    }
}

/// The firm's identity provider (OIDC issuer): `https://`, or `http://` only on this computer.
pub fn identity_provider_url(value: &str) -> Result<Url, LocalError> {
    let url = parse(value, "sign-in address", SIGN_IN_EXAMPLE)?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(LocalError::InvalidInput(format!(
            "The sign-in address must start with https:// (http:// only for a sign-in service \
             on this computer), e.g. {SIGN_IN_EXAMPLE} — not \"{}\".",
            value.trim()
        ))),
    }
}

fn parse(value: &str, what: &str, example: &str) -> Result<Url, LocalError> {
    let value = value.trim();
    let url = Url::parse(value).map_err(|_| {
        LocalError::InvalidInput(format!(
            "The {what} \"{value}\" is not a complete address; it looks like {example}."
        ))
    })?;
    // Not echoed: the part before "@" may be a password.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(LocalError::InvalidInput(format!(
            "The {what} must not contain a user name or password (a part before \"@\"); it \
             looks like {example}."
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(LocalError::InvalidInput(format!(
            "The {what} \"{value}\" names no server; it looks like {example}."
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_decided_on_the_parsed_host() {
        for url in [
            "ws://localhost/x",
            "ws://LocalHost:1/x",
            "ws://127.0.0.1/x",
            "ws://127.255.0.9:8080/x",
            "ws://[::1]/x",
            "http://localhost:4000",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "ws://127.0.0.1.evil.com/x",
            "ws://localhost.evil.com/x",
            "ws://localhost@evil.com/x",
            "ws://127.0.0.1:80@evil.com/x",
            "ws://[::ffff:203.0.113.5]/x",
            "ws://[::ffff:127.0.0.1]/x",
            "ws://evil.com/localhost",
            "ws://0.0.0.0/x",
            "ws://10.0.0.1/x",
        ] {
            assert!(!is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }

    #[test]
    fn sync_server_addresses_refuse_attack_strings() {
        for ok in [
            "wss://hub.firm.example/api/v1/sync",
            " wss://hub.firm.example/api/v1/sync ",
            "ws://127.0.0.1:8080/api/v1/sync",
            "ws://[::1]:8080/api/v1/sync",
        ] {
            sync_server_url(ok).unwrap();
        }
        for bad in [
            "ws://127.0.0.1.evil.com/api/v1/sync",
            "ws://localhost@evil.com/api/v1/sync",
            "ws://127.0.0.1:8080@evil.com/api/v1/sync",
            "ws://[::ffff:203.0.113.5]/api/v1/sync",
            "wss://user:secret@hub.firm.example/api/v1/sync",
            "https://hub.firm.example",
            "hub.firm.example",
            "wss://",
        ] {
            let error = sync_server_url(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_input", "{bad}");
            assert!(!error.to_string().contains("secret"), "{error}");
        }
    }

    #[test]
    fn identity_providers_are_https_unless_on_this_computer() {
        identity_provider_url("https://clerk.firm.example").unwrap();
        identity_provider_url("http://127.0.0.1:4000/realms/firm").unwrap();
        for bad in [
            "http://clerk.firm.example",
            "http://127.0.0.1.evil.com",
            "http://localhost@evil.com",
            "https://admin:secret@clerk.firm.example",
            "ftp://clerk.firm.example",
        ] {
            assert!(identity_provider_url(bad).is_err(), "{bad}");
        }
    }
}
