//! A signed-in user: the access token in memory only, refreshed in the background before it
//! expires (the refresh token lives in the `TokenStore` and is replaced on every rotation), handed
//! to the sync client through `TokenSource`; who is signed in, from the ID token. `sign_out`
//! revokes the refresh token at the provider when it can and wipes both tokens.

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use oauth2::{RefreshToken, TokenResponse as _};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::LocalError;
use crate::identity::TokenSource;
use crate::identity::id_token::{SignedInUser, user_of_id_token};
use crate::identity::provider::{
    Provider, Revocation, TokenResponse, is_invalid_grant, log_revocation, revoke, token_error,
};
use crate::identity::token_store::{TokenStore, blocking};

/// When the provider does not say how long an access token lives, it is refreshed this soon.
const ASSUMED_LIFETIME: Duration = Duration::from_secs(300);
/// Waits between failed background refreshes (offline, provider down), doubling up to the max.
const RETRY_MIN: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// The signed-in user's tokens. Cheap to clone; every clone is the same sign-in. Give it to the sync
/// client as `Arc::new(signed_in.clone())` (it implements `TokenSource`).
#[derive(Clone)]
pub struct SignedIn {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Arc<Provider>,
    store: Arc<dyn TokenStore>,
    access: RwLock<Option<AccessToken>>,
    /// Who is signed in, from the latest ID token (or the store, after a restore).
    user: RwLock<Option<SignedInUser>>,
    /// Turns `true` when the provider refuses the refresh token: the sign-in is over.
    refused: watch::Sender<bool>,
    /// One refresh at a time: with rotation, two concurrent uses of the same refresh token look
    /// like a replay and make the provider revoke the whole grant.
    refreshing: tokio::sync::Mutex<()>,
    /// Counts access tokens obtained; watchers re-send the new token on open sockets.
    generation: watch::Sender<u64>,
    refresher: Mutex<Option<AbortHandle>>,
}

struct AccessToken {
    secret: String,
    /// When to refresh (before the expiry, by the configured margin).
    refresh_at: Instant,
    expires_at: Instant,
}

impl SignedIn {
    pub(crate) async fn start(
        provider: Arc<Provider>,
        store: Arc<dyn TokenStore>,
        tokens: TokenResponse,
    ) -> Result<Self, LocalError> {
        // An ID token for another issuer or app ends the sign-in here (OIDC Core §3.1.3.7);
        // on a refresh it is only logged (`accept`).
        if let Some(id_token) = &tokens.extra_fields().id_token {
            user_of_id_token(id_token, &provider.issuer, &provider.config.client_id)?;
        }
        // A new sign-in replaces whatever was kept, including who it named.
        blocking(&store, |store| store.clear()).await?;
        let signed_in = Self::new(provider, store, None);
        signed_in.inner.accept(tokens).await?;
        signed_in.spawn_refresher()?;
        Ok(signed_in)
    }

    pub(crate) async fn restore(
        provider: Arc<Provider>,
        store: Arc<dyn TokenStore>,
        user: Option<SignedInUser>,
    ) -> Result<Option<Self>, LocalError> {
        if blocking(&store, |store| store.load()).await?.is_none() {
            return Ok(None);
        }
        let signed_in = Self::new(provider, store, user);
        signed_in.inner.refresh().await?;
        signed_in.spawn_refresher()?;
        Ok(Some(signed_in))
    }

    fn new(
        provider: Arc<Provider>,
        store: Arc<dyn TokenStore>,
        user: Option<SignedInUser>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider,
                store,
                access: RwLock::new(None),
                user: RwLock::new(user),
                refused: watch::channel(false).0,
                refreshing: tokio::sync::Mutex::new(()),
                generation: watch::channel(0).0,
                refresher: Mutex::new(None),
            }),
        }
    }

    fn spawn_refresher(&self) -> Result<(), LocalError> {
        let task = tokio::spawn(refresh_loop(Arc::downgrade(&self.inner)));
        *self.inner.refresher.lock()? = Some(task.abort_handle());
        Ok(())
    }

    /// The current access token (what `TokenSource::token` returns).
    pub fn access_token(&self) -> Result<String, LocalError> {
        self.inner.current()
    }

    /// Refreshes now, whatever the expiry: the provider rotates the refresh token and the store
    /// gets the new one.
    pub async fn refresh(&self) -> Result<(), LocalError> {
        self.inner.refresh().await
    }

    /// Who is signed in (name, e-mail, subject), when the provider sent an ID token.
    pub fn user(&self) -> Option<SignedInUser> {
        self.inner
            .user
            .read()
            .map(|user| user.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Turns `true` when the provider refuses the refresh token (revoked, expired): the sign-in
    /// is over and the lawyer must sign in again (offline refreshes only retry, never end it).
    /// `wait_for(|refused| *refused)` ends with `Err` once the sign-in is dropped.
    pub fn refusal(&self) -> watch::Receiver<bool> {
        self.inner.refused.subscribe()
    }

    /// Changes on every new access token (after sign-in and each refresh), so the sync client can
    /// re-authenticate on its open socket; `Err` on `changed()` once the sign-in is gone.
    pub fn token_changes(&self) -> watch::Receiver<u64> {
        self.inner.generation.subscribe()
    }

    /// Stops refreshing, revokes the refresh token at the provider (RFC 7009) when it offers
    /// revocation, then forgets the access token and wipes the store, whether or not the
    /// provider could be told (what it was told is returned and logged). Every clone of this
    /// sign-in is ended. `Err` only when the store cannot be wiped.
    #[tracing::instrument(skip_all)]
    pub async fn sign_out(&self) -> Result<Revocation, LocalError> {
        if let Some(task) = self.inner.refresher.lock()?.take() {
            task.abort();
        }
        // Wait for a refresh in flight, so it cannot store a rotated token after the wipe (and
        // the token revoked is the latest).
        let _refreshing = self.inner.refreshing.lock().await;
        *self.inner.access.write()? = None;
        let revocation = match blocking(&self.inner.store, |store| store.load()).await {
            Ok(Some(refresh_token)) => revoke(&self.inner.provider, &refresh_token).await,
            Ok(None) => Revocation::NothingKept,
            Err(error) => Revocation::Failed(error.to_string()),
        };
        log_revocation(&revocation);
        blocking(&self.inner.store, |store| store.clear()).await?;
        tracing::info!("signed out");
        Ok(revocation)
    }
}

impl TokenSource for SignedIn {
    fn token(&self) -> Result<String, LocalError> {
        self.inner.current()
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.token_changes())
    }
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignedIn(<redacted>)")
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut refresher) = self.refresher.lock()
            && let Some(task) = refresher.take()
        {
            task.abort();
        }
    }
}

impl Inner {
    fn current(&self) -> Result<String, LocalError> {
        match &*self.access.read()? {
            Some(access) if Instant::now() < access.expires_at => Ok(access.secret.clone()),
            Some(_) => Err(LocalError::TokenUnavailable(
                "the access token expired and could not be refreshed yet".into(),
            )),
            None => Err(LocalError::SignInRequired),
        }
    }

    fn refresh_at(&self) -> Result<Option<Instant>, LocalError> {
        Ok(self.access.read()?.as_ref().map(|access| access.refresh_at))
    }

    async fn refresh(&self) -> Result<(), LocalError> {
        let _refreshing = self.refreshing.lock().await;
        let Some(refresh_token) = blocking(&self.store, |store| store.load()).await? else {
            *self.access.write()? = None;
            return Err(LocalError::SignInRequired);
        };
        let result = self
            .provider
            .oauth
            .exchange_refresh_token(&RefreshToken::new(refresh_token))
            .request_async(&crate::net::OAuthHttp(&self.provider.http))
            .await;
        match result {
            Ok(tokens) => {
                self.accept(tokens).await?;
                tracing::debug!("access token refreshed");
                Ok(())
            }
            Err(error) if is_invalid_grant(&error) => {
                // Revoked, expired or already used: this sign-in is over.
                tracing::warn!("the provider refused the refresh token; sign-in required");
                *self.access.write()? = None;
                blocking(&self.store, |store| store.clear()).await?;
                self.refused.send_replace(true);
                Err(LocalError::SignInRequired)
            }
            Err(error) => Err(token_error(error)),
        }
    }

    /// Keeps the access token in memory and the (possibly rotated) refresh token in the store.
    async fn accept(&self, tokens: TokenResponse) -> Result<(), LocalError> {
        if let Some(refresh_token) = tokens.refresh_token() {
            let refresh_token = refresh_token.secret().clone();
            blocking(&self.store, move |store| store.save(&refresh_token)).await?;
        } else if blocking(&self.store, |store| store.load()).await?.is_none() {
            tracing::warn!(
                "the provider issued no refresh token (ask for offline_access?); the sign-in ends when the access token expires"
            );
        }
        self.take_user(&tokens).await;
        let now = Instant::now();
        let lifetime = tokens.expires_in().unwrap_or(ASSUMED_LIFETIME);
        let margin = self.provider.config.refresh_margin.min(lifetime / 2);
        *self.access.write()? = Some(AccessToken {
            secret: tokens.access_token().secret().clone(),
            refresh_at: now + (lifetime - margin),
            expires_at: now + lifetime,
        });
        self.generation.send_modify(|generation| *generation += 1);
        Ok(())
    }
}

impl Inner {
    /// Keeps who the response's ID token names (refresh responses often carry none: the user
    /// stays). The store gets the user when it changed, so the next start can show it offline.
    async fn take_user(&self, tokens: &TokenResponse) {
        let Some(id_token) = &tokens.extra_fields().id_token else {
            return;
        };
        let issuer = &self.provider.issuer;
        let user = match user_of_id_token(id_token, issuer, &self.provider.config.client_id) {
            Ok(user) => user,
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "ignoring the ID token");
                return;
            }
        };
        let changed = match self.user.write() {
            Ok(mut current) if current.as_ref() != Some(&user) => {
                *current = Some(user.clone());
                true
            }
            _ => false,
        };
        if changed
            && let Err(error) = blocking(&self.store, move |store| store.save_user(&user)).await
        {
            tracing::warn!(code = error.code(), %error, "cannot keep who is signed in");
        }
    }
}

/// Refreshes before expiry for as long as the sign-in lives; retries with backoff while the
/// provider is unreachable; stops when the refresh token is refused.
async fn refresh_loop(inner: Weak<Inner>) {
    let mut retry = RETRY_MIN;
    loop {
        let wake_at = match inner.upgrade().map(|inner| inner.refresh_at()) {
            Some(Ok(Some(refresh_at))) => refresh_at,
            _ => return,
        };
        tokio::time::sleep_until(wake_at).await;
        loop {
            let Some(signed_in) = inner.upgrade() else {
                return;
            };
            match signed_in.refresh().await {
                Ok(()) => {
                    retry = RETRY_MIN;
                    break;
                }
                Err(LocalError::SignInRequired) => return,
                Err(error) => {
                    tracing::warn!(code = error.code(), %error, "token refresh failed; retrying");
                    drop(signed_in);
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
    }
}
