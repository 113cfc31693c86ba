//! The loopback redirect of a native app's sign-in (RFC 8252 §7.3): a one-shot HTTP listener on
//! `127.0.0.1:0` that receives `GET /callback?code=..&state=..` from the system browser, checks
//! `state` (and `iss`, RFC 9207, when the provider sends it) and answers a page the user can close.

use std::time::Duration;

use oauth2::url::{Url, form_urlencoded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::LocalError;

/// A request head bigger than this is not a browser coming back from the provider.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Browsers open speculative connections that never send a request: each connection gets this
/// long on its own, and they are served concurrently so an idle one blocks nothing.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

const SIGNED_IN_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Lawyers Hub</title></head>\
<body style=\"font-family:system-ui,sans-serif;text-align:center;margin-top:20vh\">\
<h1>Signed in to Lawyers Hub — you can close this tab</h1>\
<p>Return to the Lawyers Hub app.</p></body></html>";

const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Lawyers Hub</title></head>\
<body style=\"font-family:system-ui,sans-serif;text-align:center;margin-top:20vh\">\
<h1>Sign-in to Lawyers Hub did not complete</h1>\
<p>Close this tab and try again from the app.</p></body></html>";

pub(crate) struct LoopbackRedirect {
    listener: TcpListener,
    redirect_uri: Url,
}

impl LoopbackRedirect {
    pub(crate) async fn bind() -> Result<Self, LocalError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|error| LocalError::Connection(format!("loopback redirect: {error}")))?;
        let port = listener
            .local_addr()
            .map_err(|error| LocalError::Connection(format!("loopback redirect: {error}")))?
            .port();
        let redirect_uri = Url::parse(&format!("http://127.0.0.1:{port}/callback"))
            .map_err(|error| LocalError::Connection(format!("loopback redirect: {error}")))?;
        Ok(Self {
            listener,
            redirect_uri,
        })
    }

    pub(crate) fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Waits for the browser's callback and returns the authorization code. Ends at the first
    /// callback: a wrong `state` or an error from the provider ends the sign-in too.
    pub(crate) async fn wait_for_code(
        self,
        expected_state: String,
        issuer: String,
        timeout: Duration,
    ) -> Result<String, LocalError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve(stream, expected_state.clone(), issuer.clone()));
                    }
                    Err(error) => tracing::warn!(%error, "loopback redirect: accept failed"),
                },
                Some(served) = connections.join_next() => {
                    if let Ok(Some(outcome)) = served {
                        return outcome;
                    }
                }
                () = tokio::time::sleep_until(deadline) => return Err(LocalError::SignInTimeout),
            }
        }
    }
}

/// Serves one connection: `None` when it was not the callback (a favicon, an idle preconnect).
async fn serve(
    mut stream: TcpStream,
    expected_state: String,
    issuer: String,
) -> Option<Result<String, LocalError>> {
    let target = match tokio::time::timeout(READ_TIMEOUT, read_request_target(&mut stream)).await {
        Ok(Some(target)) => target,
        _ => return None,
    };
    let Some(query) = callback_query(&target) else {
        respond(&mut stream, "404 Not Found", "not found").await;
        return None;
    };
    let outcome = check_callback(query, &expected_state, &issuer);
    match &outcome {
        Ok(_) => respond(&mut stream, "200 OK", SIGNED_IN_PAGE).await,
        Err(_) => respond(&mut stream, "400 Bad Request", FAILED_PAGE).await,
    }
    Some(outcome)
}

/// Reads the request head and returns the target of a `GET`.
async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || head.len() + read > MAX_REQUEST_HEAD {
            return None;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    let head = std::str::from_utf8(&head).ok()?;
    let mut request_line = head.lines().next()?.split(' ');
    match (request_line.next(), request_line.next()) {
        (Some("GET"), Some(target)) => Some(target.to_owned()),
        _ => None,
    }
}

fn callback_query(target: &str) -> Option<&str> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    (path == "/callback").then_some(query)
}

fn check_callback(query: &str, expected_state: &str, issuer: &str) -> Result<String, LocalError> {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut response_issuer = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "iss" => response_issuer = Some(value.into_owned()),
            _ => {}
        }
    }
    // `state` first: an unsolicited request must not be able to end the sign-in with an error
    // of its choosing either.
    if !state
        .as_deref()
        .is_some_and(|state| constant_time_eq(state.as_bytes(), expected_state.as_bytes()))
    {
        return Err(LocalError::SignInStateMismatch);
    }
    if response_issuer.is_some_and(|response_issuer| response_issuer != issuer) {
        return Err(LocalError::SignInDenied(
            "the response came from another issuer".into(),
        ));
    }
    if let Some(error) = error {
        return Err(LocalError::SignInDenied(error));
    }
    code.filter(|code| !code.is_empty())
        .ok_or_else(|| LocalError::SignInDenied("the provider sent no authorization code".into()))
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0_u8, |difference, (l, r)| difference | (l ^ r))
            == 0
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if let Err(error) = stream.write_all(response.as_bytes()).await {
        tracing::debug!(%error, "loopback redirect: the browser went away before the answer");
    }
    if let Err(error) = stream.shutdown().await {
        tracing::debug!(%error, "loopback redirect: shutdown failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example";

    #[test]
    fn accepts_matching_state_and_returns_the_code() {
        let code = check_callback(
            "code=abc&state=s1&iss=https%3A%2F%2Fid.example",
            "s1",
            ISSUER,
        );
        assert_eq!(code.unwrap(), "abc");
    }

    #[test]
    fn refuses_wrong_or_missing_state_before_anything_else() {
        for query in [
            "code=abc&state=s2",
            "code=abc",
            "error=access_denied&state=nope",
        ] {
            let error = check_callback(query, "s1", ISSUER).unwrap_err();
            assert_eq!(error.code(), "signin_state_mismatch", "{query}");
        }
    }

    #[test]
    fn reports_provider_errors_and_mixed_up_issuers() {
        let error = check_callback("error=access_denied&state=s1", "s1", ISSUER).unwrap_err();
        assert_eq!(error.code(), "signin_denied");
        let error = check_callback("code=abc&state=s1&iss=https%3A%2F%2Fevil", "s1", ISSUER);
        assert_eq!(error.unwrap_err().code(), "signin_denied");
    }

    #[test]
    fn only_the_callback_path_counts() {
        assert_eq!(callback_query("/callback?code=1"), Some("code=1"));
        assert_eq!(callback_query("/callback"), Some(""));
        assert_eq!(callback_query("/favicon.ico"), None);
        assert_eq!(callback_query("/callbackx?code=1"), None);
    }
}
