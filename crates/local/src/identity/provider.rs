//! The identity provider as discovered, and what both the sign-in and the signed-in user's
//! tokens ask of it: its OAuth client and HTTP client, the token endpoint's errors, and
//! revocation (RFC 7009). `sign_in` and `signed_in` both build on this module, never on each
//! other's internals.

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::url::{Url, form_urlencoded};
use oauth2::{
    AuthUrl, ClientId, EndpointNotSet, EndpointSet, ExtraTokenFields, RequestTokenError,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::LocalError;

/// What the app knows about its identity provider before discovery.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// The issuer URL; `{issuer}/.well-known/openid-configuration` must describe it.
    pub issuer: String,
    /// The OAuth client id of the desktop app (a public client: no secret).
    pub client_id: String,
    /// Scopes asked for. `offline_access` asks for a refresh token on most providers;
    /// `profile` and `email` for the name and e-mail the app shows.
    pub scopes: Vec<String>,
    /// Extra authorization parameters, e.g. `("resource", ..)` or `("audience", ..)` where the
    /// provider needs one to issue a JWT access token for the sync server.
    pub extra_params: Vec<(String, String)>,
    /// How long the browser has to come back with a code.
    pub browser_timeout: Duration,
    /// The access token is refreshed this long before it expires (or halfway through its life
    /// when that is shorter).
    pub refresh_margin: Duration,
    /// Timeout of every HTTP request to the provider.
    pub http_timeout: Duration,
}

impl SignInConfig {
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            scopes: ["openid", "profile", "email", "offline_access"]
                .map(String::from)
                .to_vec(),
            extra_params: Vec::new(),
            browser_timeout: Duration::from_secs(300),
            refresh_margin: Duration::from_secs(60),
            http_timeout: Duration::from_secs(20),
        }
    }
}

/// The subset of OpenID Provider Metadata that sign-in uses.
#[derive(Debug, Deserialize)]
struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    /// RFC 7009 token revocation (RFC 8414 metadata), used at sign-out when offered.
    #[serde(default)]
    revocation_endpoint: Option<Url>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// The token response fields beyond OAuth's: the OpenID Connect ID token, which names the user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenFields {}

pub(crate) type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The provider as discovered: endpoints, client id and the HTTP client. Shared with `SignedIn`
/// for refreshes.
#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) issuer: String,
    pub(crate) oauth: OAuthClient,
    pub(crate) revocation_endpoint: Option<Url>,
    pub(crate) http: reqwest::Client,
    pub(crate) config: SignInConfig,
}

impl Provider {
    /// Fetches `{issuer}/.well-known/openid-configuration` and checks it: the issuer must be
    /// exactly the configured one, endpoints HTTPS (plain HTTP only on loopback), S256 PKCE.
    pub(crate) async fn discover(config: SignInConfig) -> Result<Self, LocalError> {
        let http = crate::net::network()
            .http()
            // The token endpoint must not redirect (oauth2's advice against SSRF); discovery
            // neither, as its document names the issuer it comes from.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.http_timeout)
            .build()
            .map_err(|error| LocalError::SignInDiscovery(error.to_string()))?;
        // Checked here as well as in the settings: the discovery document names the endpoints,
        // so fetching it over plain HTTP would let anyone on the network pick them.
        crate::address::identity_provider_url(&config.issuer)?;
        let issuer = config.issuer.trim_end_matches('/').to_owned();
        let discovery_url = format!("{issuer}/.well-known/openid-configuration");
        let response = http.get(&discovery_url).send().await.map_err(|error| {
            LocalError::Connection(crate::net::describe(&error, &discovery_url))
        })?;
        if !response.status().is_success() {
            return Err(LocalError::SignInDiscovery(format!(
                "{discovery_url} answered {}",
                response.status()
            )));
        }
        let metadata: ProviderMetadata = response.json().await.map_err(|error| {
            LocalError::SignInDiscovery(format!("{discovery_url}: not provider metadata: {error}"))
        })?;
        if metadata.issuer.trim_end_matches('/') != issuer {
            return Err(LocalError::SignInDiscovery(format!(
                "the provider calls itself {}, not {issuer}",
                metadata.issuer
            )));
        }
        for endpoint in [&metadata.authorization_endpoint, &metadata.token_endpoint]
            .into_iter()
            .chain(&metadata.revocation_endpoint)
        {
            require_https_or_loopback(endpoint)?;
        }
        if let Some(methods) = &metadata.code_challenge_methods_supported
            && !methods.iter().any(|method| method == "S256")
        {
            return Err(LocalError::SignInDiscovery(
                "the provider does not support PKCE with S256".into(),
            ));
        }
        let oauth: OAuthClient = oauth2::Client::<
            BasicErrorResponse,
            TokenResponse,
            BasicTokenIntrospectionResponse,
            StandardRevocableToken,
            BasicRevocationErrorResponse,
        >::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(metadata.authorization_endpoint))
        .set_token_uri(TokenUrl::from_url(metadata.token_endpoint));
        Ok(Self {
            issuer: metadata.issuer,
            oauth,
            revocation_endpoint: metadata.revocation_endpoint,
            http,
            config,
        })
    }
}

/// What sign-out could tell the provider. The tokens on this computer are wiped in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The provider revoked the refresh token (RFC 7009).
    Revoked,
    /// The provider offers no revocation endpoint.
    NotOffered,
    /// No refresh token was kept.
    NothingKept,
    /// The provider could not be told (offline, an error): the grant lives on at the provider
    /// until it expires there or an administrator ends it.
    Failed(String),
}

impl Revocation {
    /// A stable code for the UI: `revoked`, `not_offered`, `nothing_kept` or `failed`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::NotOffered => "not_offered",
            Self::NothingKept => "nothing_kept",
            Self::Failed(_) => "failed",
        }
    }
}

/// RFC 7009: asks the provider to revoke `refresh_token` (and with it, on most providers, the
/// whole grant). A public client names itself with `client_id`. The body is built by hand, so
/// this needs nothing of the HTTP client but a POST.
pub(crate) async fn revoke(provider: &Provider, refresh_token: &str) -> Revocation {
    let Some(endpoint) = &provider.revocation_endpoint else {
        return Revocation::NotOffered;
    };
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", refresh_token)
        .append_pair("token_type_hint", "refresh_token")
        .append_pair("client_id", &provider.config.client_id)
        .finish();
    let response = provider
        .http
        .post(endpoint.clone())
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await;
    match response {
        // 200 also when the token was already invalid (RFC 7009 §2.2): either way it is dead.
        Ok(response) if response.status().is_success() => Revocation::Revoked,
        Ok(response) => Revocation::Failed(format!("{endpoint} answered {}", response.status())),
        // Names the URL and what went wrong (certificate, proxy, network), never the body
        // (which holds the token).
        Err(error) => Revocation::Failed(crate::net::describe(&error, endpoint.as_str())),
    }
}

pub(crate) fn log_revocation(revocation: &Revocation) {
    match revocation {
        Revocation::Revoked => tracing::info!("the provider revoked the refresh token"),
        Revocation::NotOffered => {
            tracing::info!("the provider offers no token revocation; the token is only wiped here")
        }
        Revocation::NothingKept => {}
        Revocation::Failed(reason) => tracing::warn!(
            %reason,
            "could not revoke the refresh token at the provider; it is wiped here all the same"
        ),
    }
}

fn require_https_or_loopback(url: &Url) -> Result<(), LocalError> {
    if url.scheme() == "https" || (url.scheme() == "http" && crate::address::is_loopback(url)) {
        Ok(())
    } else {
        Err(LocalError::SignInDiscovery(format!(
            "{url} is not HTTPS; plain HTTP is only allowed on loopback"
        )))
    }
}

pub(crate) type TokenRequestError = RequestTokenError<
    oauth2::HttpClientError<reqwest::Error>,
    oauth2::StandardErrorResponse<BasicErrorResponseType>,
>;

/// Maps a token endpoint failure without ever including the response body (it may hold tokens).
pub(crate) fn token_error(error: TokenRequestError) -> LocalError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            if *response.error() == BasicErrorResponseType::InvalidGrant {
                tracing::debug!("the provider refused the grant (invalid_grant)");
            }
            LocalError::SignInExchange(response.error().to_string())
        }
        RequestTokenError::Request(error) => {
            LocalError::Connection(format!("token endpoint: {error}"))
        }
        RequestTokenError::Parse(error, _body) => {
            LocalError::SignInExchange(format!("unreadable token response: {}", error.path()))
        }
        RequestTokenError::Other(message) => LocalError::SignInExchange(message),
    }
}

/// Whether the provider refused a refresh token for good (revoked, expired, reused).
pub(crate) fn is_invalid_grant(error: &TokenRequestError) -> bool {
    matches!(error, RequestTokenError::ServerResponse(response)
        if *response.error() == BasicErrorResponseType::InvalidGrant)
}

/// Tokens straight from the provider, before `SignedIn` takes them apart.
pub(crate) type TokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_except_on_loopback() {
        for ok in [
            "https://id.example/token",
            "http://127.0.0.1:4000/token",
            "http://localhost/t",
        ] {
            require_https_or_loopback(&Url::parse(ok).unwrap()).unwrap();
        }
        for bad in ["http://id.example/token", "ftp://127.0.0.1/x"] {
            let error = require_https_or_loopback(&Url::parse(bad).unwrap()).unwrap_err();
            assert_eq!(error.code(), "signin_discovery");
        }
    }

    #[test]
    fn default_config_asks_for_a_refresh_token() {
        let config = SignInConfig::new("https://id.example", "desktop");
        for scope in ["openid", "profile", "email", "offline_access"] {
            assert!(config.scopes.iter().any(|asked| asked == scope), "{scope}");
        }
        assert_eq!(config.refresh_margin, Duration::from_secs(60));
    }
}
