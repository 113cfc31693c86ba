//! How the laptop reaches the firm: one TLS stack and one HTTP client for the sync socket, the
//! REST calls and sign-in.
//!
//! - **TLS**: rustls with the ring provider. Certificates are checked against the operating
//!   system's trust store (`rustls-platform-verifier`: the macOS and Windows verifiers; on Linux
//!   the system bundle, which `SSL_CERT_FILE`/`SSL_CERT_DIR` may name), so a firm's internal CA
//!   that IT installed is trusted; Mozilla's roots (`webpki-root-certs`) are added as a fallback
//!   for a machine whose store is empty.
//! - **Proxies**: `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` (either case), or a proxy IT
//!   sets for the app (`set_proxy`). REST and sign-in go through reqwest's proxy support; the
//!   WebSocket goes through an HTTP `CONNECT` tunnel made here.
//! - **Errors a lawyer and IT can act on**: `explain` turns a failed connection into "the
//!   certificate was issued by X, which this computer does not trust", "the certificate is for
//!   another name", "expired", "the proxy refused", "cannot reach".

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use hyper_util::client::proxy::matcher::Matcher;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::LocalError;

/// The HTTP client crate this module configures (for callers that add request options).
pub use reqwest;

/// The sync socket: TLS (or plain, on loopback) over TCP, directly or through a proxy tunnel.
pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The proxy's answer to `CONNECT` may not be longer than this.
const MAX_PROXY_REPLY: usize = 16 * 1024;

/// The network settings every connection of this process uses.
pub struct Network {
    tls: Arc<rustls::ClientConfig>,
    /// `Some(url)` when IT set a proxy for the app; else the environment decides.
    proxy: Option<String>,
    matcher: Matcher,
}

static NETWORK: OnceLock<RwLock<Arc<Network>>> = OnceLock::new();

fn cell() -> &'static RwLock<Arc<Network>> {
    NETWORK.get_or_init(|| {
        // ring is this process's TLS provider (the tree avoids building aws-lc); installed as the
        // default too, for any other rustls user in the process. Failing means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        RwLock::new(Arc::new(Network::build(None)))
    })
}

/// The network settings in force.
pub fn network() -> Arc<Network> {
    match cell().read() {
        Ok(network) => network.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Use `proxy` (`http://host:port`, from an IT preset or Settings) for every connection made
/// from now on, or the environment's proxies when `None`. Also re-reads the trust store, so a
/// CA that IT installed while the app ran is picked up.
pub fn set_proxy(proxy: Option<String>) -> Result<(), LocalError> {
    if let Some(proxy) = &proxy {
        validate_proxy(proxy)?;
    }
    let network = Arc::new(Network::build(proxy));
    match cell().write() {
        Ok(mut current) => *current = network,
        Err(poisoned) => *poisoned.into_inner() = network,
    }
    Ok(())
}

/// A proxy address as IT types it: `http://host:port` (an HTTP proxy that tunnels TLS).
/// Messages never repeat a password written into the address.
pub fn validate_proxy(proxy: &str) -> Result<(), LocalError> {
    let shown = redacted(proxy);
    let url = oauth2::url::Url::parse(proxy.trim()).map_err(|error| {
        LocalError::InvalidInput(format!(
            "the proxy address “{shown}” is not a URL ({error}); write it as http://host:port"
        ))
    })?;
    if url.scheme() != "http" || url.host_str().is_none() {
        return Err(LocalError::InvalidInput(format!(
            "the proxy address “{shown}” must be http://host:port (an HTTP proxy; the connection \
             to the server inside it is still encrypted)"
        )));
    }
    Ok(())
}

/// `proxy` with any `user:password@` replaced by `…@` (for logs and diagnostics).
pub fn redacted(proxy: &str) -> String {
    let trimmed = proxy.trim();
    let (scheme, rest) = trimmed.split_once("://").unwrap_or(("", trimmed));
    let host_part = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match host_part.rfind('@') {
        Some(at) => {
            let hidden = format!("…@{}", &host_part[at + 1..]);
            let rest = rest.replacen(host_part, &hidden, 1);
            if scheme.is_empty() {
                rest
            } else {
                format!("{scheme}://{rest}")
            }
        }
        None => trimmed.to_owned(),
    }
}

impl Network {
    fn build(proxy: Option<String>) -> Self {
        let matcher = match &proxy {
            Some(proxy) => Matcher::builder()
                .all(proxy.clone())
                .no(no_proxy_list())
                .build(),
            // The environment's rules, then (macOS, Windows) the operating system's proxy
            // settings, as reqwest applies them to REST and sign-in.
            None => Matcher::from_system(),
        };
        Self {
            tls: Arc::new(tls_config()),
            proxy,
            matcher,
        }
    }

    /// The rustls configuration every TLS connection uses.
    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls.clone()
    }

    /// An HTTP client builder with this TLS configuration and proxy; add timeouts and build.
    pub fn http(&self) -> reqwest::ClientBuilder {
        let builder = reqwest::Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(&self.tls))
            .https_only(false);
        match &self.proxy {
            Some(proxy) => match reqwest::Proxy::all(proxy.as_str()) {
                Ok(proxy) => {
                    builder.proxy(proxy.no_proxy(reqwest::NoProxy::from_string(&no_proxy_list())))
                }
                Err(error) => {
                    tracing::warn!(%error, "the configured proxy is unusable; connecting directly");
                    builder
                }
            },
            None => builder,
        }
    }

    /// The proxy a connection to `url` goes through, if any (for messages).
    fn proxy_for(&self, uri: &http::Uri) -> Option<hyper_util::client::proxy::matcher::Intercept> {
        self.matcher.intercept(uri)
    }
}

/// The hosts IT's proxy is not used for: `NO_PROXY`, and this computer itself (a development
/// server, the sign-in's loopback redirect).
fn no_proxy_list() -> String {
    let from_env = std::env::var("NO_PROXY")
        .or_else(|_| std::env::var("no_proxy"))
        .unwrap_or_default();
    let mut list: Vec<&str> = from_env
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .collect();
    list.extend(["localhost", "127.0.0.1", "::1"]);
    list.join(",")
}

/// rustls with ring, the platform verifier (plus Mozilla's roots), wrapped so that an untrusted
/// certificate's issuer can be named. A machine where even that cannot be set up gets the
/// fallback roots alone (and a log line).
fn tls_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let fallback = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned();
    let verifier: Arc<dyn ServerCertVerifier> =
        match rustls_platform_verifier::Verifier::new_with_extra_roots(fallback, provider.clone()) {
            Ok(verifier) => Arc::new(verifier),
            Err(error) => {
                tracing::warn!(%error, "the system's certificate store is unusable; using Mozilla's roots");
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(
                    webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
                );
                match rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider.clone(),
                )
                .build()
                {
                    Ok(verifier) => verifier,
                    Err(error) => {
                        // Unreachable in practice (the roots are built in); refuse everything.
                        tracing::error!(%error, "no certificate verifier could be built");
                        Arc::new(RefuseAll)
                    }
                }
            }
        };
    let builder = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder,
        Err(error) => {
            tracing::error!(%error, "TLS versions unavailable");
            rustls::ClientConfig::builder_with_protocol_versions(rustls::DEFAULT_VERSIONS)
        }
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NamingVerifier { inner: verifier }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Delegates every check; when the issuer is unknown, says who the issuer is.
#[derive(Debug)]
struct NamingVerifier {
    inner: Arc<dyn ServerCertVerifier>,
}

/// The certificate chains to an issuer this computer does not trust.
#[derive(Debug)]
struct UntrustedIssuer {
    issuer: String,
}

impl std::fmt::Display for UntrustedIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "certificate issued by an untrusted authority: {}",
            self.issuer
        )
    }
}

impl std::error::Error for UntrustedIssuer {}

/// The issuer of the last certificate of the chain the server sent (the one that should chain
/// to a trusted root), as its distinguished name.
fn issuer_of(end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> String {
    let top = intermediates.last().unwrap_or(end_entity);
    match x509_parser::parse_x509_certificate(top.as_ref()) {
        Ok((_, certificate)) => certificate.issuer().to_string(),
        Err(_) => "an unreadable issuer".to_owned(),
    }
}

impl ServerCertVerifier for NamingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|error| match error {
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
                        Arc::new(UntrustedIssuer {
                            issuer: issuer_of(end_entity, intermediates),
                        }),
                    )))
                }
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Trusts nothing (only if no verifier at all could be built).
#[derive(Debug)]
struct RefuseAll;

impl ServerCertVerifier for RefuseAll {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General(
            "no certificate verifier is available on this computer".into(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("no verifier".into()))
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("no verifier".into()))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Where a `ws://`/`wss://` URL points, and the `http(s)://` form proxies are matched on.
struct Target {
    host: String,
    port: u16,
    tls: bool,
    http_uri: http::Uri,
}

fn target(url: &str) -> Result<Target, LocalError> {
    let parsed = oauth2::url::Url::parse(url).map_err(|error| {
        LocalError::Connection(format!("the server address is invalid: {error}"))
    })?;
    let tls = match parsed.scheme() {
        "wss" => true,
        "ws" => false,
        other => {
            return Err(LocalError::Connection(format!(
                "the server address must start with wss:// (found {other}://)"
            )));
        }
    };
    // Without the brackets of an IPv6 literal: what TCP connects to and TLS verifies.
    let host = parsed
        .host_str()
        .ok_or_else(|| LocalError::Connection("the server address has no host".into()))?
        .trim_matches(['[', ']'])
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    let scheme = if tls { "https" } else { "http" };
    let http_uri = format!("{scheme}://{}:{port}/", bracketed(&host))
        .parse()
        .map_err(|error| {
            LocalError::Connection(format!("the server address is invalid: {error}"))
        })?;
    Ok(Target {
        host,
        port,
        tls,
        http_uri,
    })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Open the sync WebSocket to `url` (TLS for `wss://`), through the proxy that applies.
pub(crate) async fn connect_websocket(url: &str) -> Result<Socket, LocalError> {
    let network = network();
    let target = target(url)?;
    // This computer itself is never reached through a proxy (a development server).
    let proxy = if is_loopback(&target.host) {
        None
    } else {
        network.proxy_for(&target.http_uri)
    };
    let stream = match &proxy {
        Some(intercept) => tunnel(intercept, &target).await?,
        None => TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|error| unreachable(&target, &error))?,
    };
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot disable Nagle on the sync socket");
    }
    let connector = if target.tls {
        tokio_tungstenite::Connector::Rustls(network.tls())
    } else {
        tokio_tungstenite::Connector::Plain
    };
    // A large document's first sync is one message (sent in fragments) bigger than
    // tungstenite's default limits.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(protocol::MAX_SERVER_FRAME_BYTES))
        .max_frame_size(Some(protocol::MAX_SERVER_FRAME_BYTES));
    let (socket, _response) =
        tokio_tungstenite::client_async_tls_with_config(url, stream, Some(config), Some(connector))
            .await
            .map_err(|error| {
                LocalError::Connection(explain_websocket(&error, &target.host).unwrap_or_else(
                    || format!("the sync connection to {} failed: {error}", target.host),
                ))
            })?;
    Ok(socket)
}

fn unreachable(target: &Target, error: &std::io::Error) -> LocalError {
    LocalError::Connection(format!(
        "cannot reach the server {}:{} ({error}); check the internet connection, or the server \
         address in Settings",
        target.host, target.port
    ))
}

/// An HTTP `CONNECT` tunnel through the proxy to the server.
async fn tunnel(
    intercept: &hyper_util::client::proxy::matcher::Intercept,
    target: &Target,
) -> Result<TcpStream, LocalError> {
    let proxy = intercept.uri();
    let proxy_host = proxy.host().unwrap_or_default().trim_matches(['[', ']']);
    let proxy_port = proxy.port_u16().unwrap_or(match proxy.scheme_str() {
        Some("https") => 443,
        _ => 80,
    });
    let shown = format!("{proxy_host}:{proxy_port}");
    if proxy.scheme_str() == Some("https") {
        return Err(LocalError::Connection(format!(
            "the proxy {shown} is set as https://; Lawyers Hub tunnels through HTTP proxies \
             (http://{shown}) — the connection to the server inside stays encrypted"
        )));
    }
    let mut stream = TcpStream::connect((proxy_host, proxy_port))
        .await
        .map_err(|error| {
            LocalError::Connection(format!(
                "cannot reach the proxy {shown} ({error}); check the proxy settings or ask IT"
            ))
        })?;
    let authority = format!("{}:{}", bracketed(&target.host), target.port);
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = intercept.basic_auth().and_then(|value| value.to_str().ok()) {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| LocalError::Connection(format!("the proxy {shown} closed: {error}")))?;
    let mut reply = Vec::with_capacity(256);
    let mut buffer = [0u8; 1024];
    loop {
        let read = stream.read(&mut buffer).await.map_err(|error| {
            LocalError::Connection(format!("the proxy {shown} closed: {error}"))
        })?;
        if read == 0 {
            return Err(LocalError::Connection(format!(
                "the proxy {shown} closed the connection without answering"
            )));
        }
        reply.extend_from_slice(&buffer[..read]);
        if let Some(end) = find_end_of_head(&reply) {
            let head = String::from_utf8_lossy(&reply[..end]);
            let status_line = head.lines().next().unwrap_or_default().trim().to_owned();
            let status = status_line.split_whitespace().nth(1).unwrap_or_default();
            if status != "200" {
                return Err(LocalError::Connection(format!(
                    "the proxy {shown} refused to connect to {authority}: “{status_line}”; ask IT \
                     to allow the Lawyers Hub server through the proxy"
                )));
            }
            if end != reply.len() {
                // A proxy never sends bytes of the tunnel before we do.
                return Err(LocalError::Connection(format!(
                    "the proxy {shown} answered with unexpected data"
                )));
            }
            break;
        }
        if reply.len() > MAX_PROXY_REPLY {
            return Err(LocalError::Connection(format!(
                "the proxy {shown} sent an overlong answer"
            )));
        }
    }
    Ok(stream)
}

fn find_end_of_head(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// A lawyer-readable sentence for a failed TLS handshake or WebSocket upgrade, if it is one.
fn explain_websocket(error: &tokio_tungstenite::tungstenite::Error, host: &str) -> Option<String> {
    use tokio_tungstenite::tungstenite::Error as E;
    match error {
        E::Io(io) => explain(io, host),
        E::Tls(tls) => explain(tls, host),
        E::Http(response) => Some(format!(
            "the server {host} answered the sync connection with HTTP {}: check the server \
             address in Settings (it ends in /api/v1/sync) or ask IT",
            response.status()
        )),
        _ => None,
    }
}

/// Walk `error`'s causes for a rustls error and say what it means for a lawyer and IT.
pub fn explain(error: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
    find_tls(error, 0).map(|tls| explain_tls(tls, host))
}

/// The rustls error behind `error`, however deep. An `io::Error`'s `source()` skips the error it
/// wraps, so that one is looked into explicitly.
fn find_tls<'a>(
    error: &'a (dyn std::error::Error + 'static),
    depth: usize,
) -> Option<&'a rustls::Error> {
    if depth > 16 {
        return None;
    }
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
        && let Some(tls) = find_tls(inner, depth + 1)
    {
        return Some(tls);
    }
    error
        .source()
        .and_then(|source| find_tls(source, depth + 1))
}

fn explain_tls(error: &rustls::Error, host: &str) -> String {
    let ask_it = "ask your firm's IT";
    match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::Other(OtherError(other)) => {
                match other.downcast_ref::<UntrustedIssuer>() {
                    Some(untrusted) => format!(
                        "The certificate of {host} was issued by “{}”, which this computer does \
                         not trust. If that is your firm's own certificate authority, {ask_it} to \
                         install its root certificate on this computer.",
                        untrusted.issuer
                    ),
                    None => format!("The certificate of {host} is not valid ({other}); {ask_it}."),
                }
            }
            CertificateError::UnknownIssuer => format!(
                "The certificate of {host} was issued by an authority this computer does not \
                 trust; {ask_it} to install the firm's root certificate."
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "The certificate presented by {host} is for another name: check the server \
                     address in Settings, or {ask_it} (the certificate does not list {host})."
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "The certificate of {host} has expired; {ask_it} to renew it. (If this \
                 computer's clock is wrong, correct it.)"
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!(
                    "The certificate of {host} is not valid yet: check this computer's date and \
                     time, or {ask_it}."
                )
            }
            CertificateError::Revoked => {
                format!("The certificate of {host} has been revoked; {ask_it}.")
            }
            other => format!("The certificate of {host} was refused ({other:?}); {ask_it}."),
        },
        other => format!("A secure connection to {host} could not be made ({other}); {ask_it}."),
    }
}

/// A failed HTTP request to `what` (a URL or a name), in words a lawyer and IT can act on: the
/// certificate problem if it was one, else reqwest's own account (which names the URL, never a
/// header).
pub fn describe(error: &reqwest::Error, what: &str) -> String {
    let host = error
        .url()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| what.to_owned());
    if let Some(explained) = explain(error, &host) {
        return explained;
    }
    if error.is_connect() {
        return format!(
            "cannot reach {what}: check the internet connection, the server address in Settings, \
             or the proxy ({error})"
        );
    }
    if error.is_timeout() {
        return format!("{what} did not answer in time ({error})");
    }
    format!("{what}: {error}")
}

/// oauth2's HTTP client, over this module's reqwest client (one HTTP stack in the app).
pub(crate) struct OAuthHttp<'a>(pub &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, Self::Error>> + Send + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(Box::new)?;
            let response = client.execute(request).await.map_err(Box::new)?;
            let mut builder = http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(Box::new)?;
            builder
                .body(body.to_vec())
                .map_err(oauth2::HttpClientError::Http)
        })
    }
}

/// How long a REST or sign-in request may take before it counts as failed.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_http_urls_and_their_passwords_are_never_repeated() {
        assert!(validate_proxy("http://proxy.firm.example:3128").is_ok());
        let error = validate_proxy("socks5://it:Hunter2@proxy.firm.example:1080")
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("Hunter2") && error.contains("…@proxy.firm.example:1080"),
            "{error}"
        );
        for bad in ["proxy:3128", "ftp://proxy", "https://", "not a url"] {
            assert!(validate_proxy(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_default_their_ports_and_refuse_other_schemes() {
        let secure = target("wss://Hub.Firm.Example/api/v1/sync").unwrap();
        assert_eq!((secure.port, secure.tls), (443, true));
        assert_eq!(secure.http_uri.to_string(), "https://hub.firm.example:443/");
        let plain = target("ws://127.0.0.1:8080/api/v1/sync").unwrap();
        assert_eq!((plain.port, plain.tls), (8080, false));
        let v6 = target("wss://[::1]:9443/api/v1/sync").unwrap();
        assert_eq!(v6.http_uri.to_string(), "https://[::1]:9443/");
        assert_eq!(v6.host, "::1", "connected to and verified without brackets");
        assert!(is_loopback(&v6.host) && is_loopback("127.0.0.2") && is_loopback("LOCALHOST"));
        assert!(!is_loopback("hub.firm.example"));
        assert!(target("https://hub.firm.example/").is_err());
    }

    #[test]
    fn a_certificate_for_another_name_is_explained() {
        let error = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        let message = explain(&io, "hub.firm.example").unwrap();
        assert!(message.contains("for another name"), "{message}");
    }

    #[test]
    fn expired_and_untrusted_certificates_are_explained_however_deeply_wrapped() {
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        // As hyper and tokio-rustls wrap it: an io::Error around an io::Error around rustls's.
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, expired);
        let outer = std::io::Error::other(inner);
        let message = explain(&outer, "hub.firm.example").unwrap();
        assert!(message.contains("has expired"), "{message}");
        let untrusted = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            Arc::new(UntrustedIssuer {
                issuer: "CN=Hotel WiFi Security CA".into(),
            }),
        )));
        let message = explain(&untrusted, "hub.firm.example").unwrap();
        assert!(
            message.contains("“CN=Hotel WiFi Security CA”") && message.contains("does not trust"),
            "{message}"
        );
        assert_eq!(
            explain(&std::io::Error::other("connection refused"), "h"),
            None
        );
    }
}
