//! Desktop sign-in: OAuth 2.0 authorization code + PKCE (S256) for a native public client
//! (RFC 8252) against any OpenID Connect provider found by discovery (Clerk, Entra ID, Okta, ...).
//! The system browser is sent to the provider; it comes back to a loopback listener on
//! `127.0.0.1:0`; the code is exchanged for tokens. See `SignedIn` for what happens afterwards.
//! At app start `SignIn::restore_kept` signs in again from the kept refresh token, without the
//! browser; sign-out revokes that token at the provider (RFC 7009) when it offers revocation.

use std::sync::Arc;

use oauth2::url::Url;
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};

use crate::LocalError;
use crate::identity::id_token::SignedInUser;
use crate::identity::loopback::LoopbackRedirect;
use crate::identity::provider::{
    Provider, Revocation, SignInConfig, log_revocation, revoke, token_error,
};
use crate::identity::signed_in::SignedIn;
use crate::identity::token_store::{TokenStore, blocking};

/// A discovered identity provider plus the token store: starts sign-ins and restores the
/// previous one at start-up.
#[derive(Debug, Clone)]
pub struct SignIn {
    provider: Arc<Provider>,
    store: Arc<dyn TokenStore>,
}

impl SignIn {
    /// Discovers the provider (`{issuer}/.well-known/openid-configuration`, checked: the issuer
    /// exactly the configured one, endpoints HTTPS or loopback, S256 PKCE).
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    pub async fn discover(
        config: SignInConfig,
        store: Arc<dyn TokenStore>,
    ) -> Result<Self, LocalError> {
        Ok(Self {
            provider: Arc::new(Provider::discover(config).await?),
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
            .request_async(&crate::net::OAuthHttp(&self.provider.http))
            .await
            .map_err(token_error)?;
        tracing::info!("signed in");
        SignedIn::start(self.provider.clone(), self.store.clone(), tokens).await
    }

    /// Signs in again without the browser from the refresh token kept in the store. Only an
    /// explicit refusal by the provider (`invalid_grant`) wipes the kept token; any other
    /// failure keeps it (`Restored::Offline`).
    #[tracing::instrument(skip_all, fields(issuer = %self.provider.issuer))]
    pub async fn restore(&self) -> Restored {
        let user = kept_user(&self.store).await;
        match SignedIn::restore(self.provider.clone(), self.store.clone(), user.clone()).await {
            Ok(Some(signed_in)) => {
                tracing::info!("signed in again from the kept refresh token");
                Restored::SignedIn(signed_in)
            }
            Ok(None) => Restored::NothingKept,
            Err(LocalError::SignInRequired) => Restored::Refused { user },
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "cannot restore the sign-in now; the refresh token is kept");
                Restored::Offline { user, error }
            }
        }
    }

    /// App start: discovers the provider and restores the kept sign-in, touching the network
    /// only when a refresh token is kept. A discovery that fails (offline on a plane) is
    /// `Restored::Offline`: the token is kept and the caller tries again later.
    pub async fn restore_kept(config: SignInConfig, store: Arc<dyn TokenStore>) -> Restored {
        match blocking(&store, |store| store.load()).await {
            Ok(Some(_)) => {}
            Ok(None) => return Restored::NothingKept,
            Err(error) => {
                let user = kept_user(&store).await;
                return Restored::Offline { user, error };
            }
        }
        match Self::discover(config, store.clone()).await {
            Ok(sign_in) => sign_in.restore().await,
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "cannot reach the identity provider; the refresh token is kept");
                let user = kept_user(&store).await;
                Restored::Offline { user, error }
            }
        }
    }

    /// Who the kept refresh token signs in, as far as the store knows (no network).
    pub async fn kept_user(store: &Arc<dyn TokenStore>) -> Option<SignedInUser> {
        kept_user(store).await
    }

    /// Sign-out without a `SignedIn` (the kept sign-in was never restored, e.g. offline): revokes
    /// the kept refresh token at the provider when it can be reached and offers revocation, and
    /// wipes it here whatever the provider says. `Err` only when the store cannot be wiped.
    #[tracing::instrument(skip_all)]
    pub async fn sign_out_kept(
        config: SignInConfig,
        store: Arc<dyn TokenStore>,
    ) -> Result<Revocation, LocalError> {
        let revocation = match blocking(&store, |store| store.load()).await {
            Ok(None) => Revocation::NothingKept,
            Ok(Some(refresh_token)) => match Self::discover(config, store.clone()).await {
                Ok(sign_in) => revoke(&sign_in.provider, &refresh_token).await,
                Err(error) => Revocation::Failed(error.to_string()),
            },
            Err(error) => Revocation::Failed(error.to_string()),
        };
        log_revocation(&revocation);
        blocking(&store, |store| store.clear()).await?;
        tracing::info!("signed out");
        Ok(revocation)
    }

    /// The token store this sign-in writes to.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }
}

/// What became of the sign-in kept from the last run.
#[derive(Debug)]
pub enum Restored {
    /// No refresh token was kept: nobody is signed in.
    NothingKept,
    /// Signed in again from the kept refresh token, without the browser.
    SignedIn(SignedIn),
    /// The provider refused the kept refresh token (revoked, expired, already used): it was
    /// wiped with the user it named. The lawyer must sign in again.
    Refused { user: Option<SignedInUser> },
    /// The provider could not be asked (offline, provider down, keychain locked): the refresh
    /// token is kept, `user` is who it signs in (to show meanwhile). Try again later.
    Offline {
        user: Option<SignedInUser>,
        error: LocalError,
    },
}

async fn kept_user(store: &Arc<dyn TokenStore>) -> Option<SignedInUser> {
    blocking(store, |store| store.load_user())
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(code = error.code(), %error, "cannot read who is signed in");
            None
        })
}
