//! Desktop sign-in: OAuth 2.0 authorization code + PKCE (S256) for a native public client
//! (RFC 8252) against any OpenID Connect provider found by discovery (Clerk, Entra ID, Okta, ...).
//! The system browser is sent to the provider; it comes back to a loopback listener on
//! `127.0.0.1:0`; the code is exchanged for tokens. See `SignedIn` for what happens afterwards.

use std::sync::Arc;
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse};
use oauth2::url::Url;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, RedirectUrl, RequestTokenError, Scope, TokenUrl,
};
use serde::Deserialize;

use crate::LocalError;
use crate::loopback::LoopbackRedirect;
use crate::signed_in::SignedIn;
use crate::token_store::TokenStore;

/// What the app knows about its identity provider before discovery.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// The issuer URL; `{issuer}/.well-known/openid-configuration` must describe it.
    pub issuer: String,
    /// The OAuth client id of the desktop app (a public client: no secret).
    pub client_id: String,
    /// Scopes asked for. `offline_access` asks for a refresh token on most providers.
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
            scopes: vec!["openid".into(), "offline_access".into()],
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
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

pub(crate) type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The provider as discovered: endpoints, client id and the HTTP client. Shared with `SignedIn`
/// for refreshes.
#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) issuer: String,
    pub(crate) oauth: OAuthClient,
    pub(crate) http: reqwest::Client,
    pub(crate) config: SignInConfig,
}

/// A discovered identity provider plus the token store: starts sign-ins and restores the
/// previous one at start-up.
#[derive(Debug, Clone)]
pub struct SignIn {
    provider: Arc<Provider>,
    store: Arc<dyn TokenStore>,
}

impl SignIn {
    /// Fetches `{issuer}/.well-known/openid-configuration` and checks it: the issuer must be
    /// exactly the configured one, endpoints HTTPS (plain HTTP only on loopback), S256 PKCE.
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    pub async fn discover(
        config: SignInConfig,
        store: Arc<dyn TokenStore>,
    ) -> Result<Self, LocalError> {
        let http = reqwest::Client::builder()
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
        let response = http
            .get(&discovery_url)
            .send()
            .await
            .map_err(|error| LocalError::Connection(format!("{discovery_url}: {error}")))?;
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
        for endpoint in [&metadata.authorization_endpoint, &metadata.token_endpoint] {
            require_https_or_loopback(endpoint)?;
        }
        if let Some(methods) = &metadata.code_challenge_methods_supported
            && !methods.iter().any(|method| method == "S256")
        {
            return Err(LocalError::SignInDiscovery(
                "the provider does not support PKCE with S256".into(),
            ));
        }
        let oauth = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(metadata.authorization_endpoint))
            .set_token_uri(TokenUrl::from_url(metadata.token_endpoint));
        Ok(Self {
            provider: Arc::new(Provider {
                issuer: metadata.issuer,
                oauth,
                http,
                config,
            }),
            store,
        })
    }

    /// The interactive sign-in: binds the loopback redirect, hands the authorization URL to
    /// `open_browser` (the app opens the system browser), waits for the callback, checks
    /// `state`, exchanges the code with the PKCE verifier and stores the refresh token.
    #[tracing::instrument(skip_all, fields(issuer = %self.provider.issuer))]
    pub async fn sign_in(&self, open_browser: impl FnOnce(&Url)) -> Result<SignedIn, LocalError> {
        let redirect = LoopbackRedirect::bind().await?;
        let redirect_url = RedirectUrl::from_url(redirect.redirect_uri().clone());
        let oauth = self.provider.oauth.clone().set_redirect_uri(redirect_url);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = oauth
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge);
        for scope in &self.provider.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for (name, value) in &self.provider.config.extra_params {
            request = request.add_extra_param(name.as_str(), value.as_str());
        }
        let (authorization_url, state) = request.url();
        open_browser(&authorization_url);

        let code = redirect
            .wait_for_code(
                state.secret().clone(),
                self.provider.issuer.clone(),
                self.provider.config.browser_timeout,
            )
            .await?;
        let tokens = oauth
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&self.provider.http)
            .await
            .map_err(token_error)?;
        tracing::info!("signed in");
        SignedIn::start(self.provider.clone(), self.store.clone(), tokens).await
    }

    /// Signs in again without the browser from the refresh token kept in the store (at app
    /// start). `None` when there is none or the provider no longer accepts it.
    #[tracing::instrument(skip_all, fields(issuer = %self.provider.issuer))]
    pub async fn restore(&self) -> Result<Option<SignedIn>, LocalError> {
        match SignedIn::restore(self.provider.clone(), self.store.clone()).await {
            Ok(signed_in) => Ok(signed_in),
            Err(LocalError::SignInRequired) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The token store this sign-in writes to.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
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
pub(crate) type TokenResponse = BasicTokenResponse;

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
        assert!(config.scopes.iter().any(|scope| scope == "offline_access"));
        assert_eq!(config.refresh_margin, Duration::from_secs(60));
    }
}
