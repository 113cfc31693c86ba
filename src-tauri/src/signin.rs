//! Sign-in in the app: the kept sign-in restored at launch without the browser (and retried with
//! backoff while the provider cannot be reached), the interactive sign-in (cancellable while it
//! waits for the browser), sign-out, and what the window is told about who is signed in.
//!
//! Event `sign-in-state` (and `AppInfo.sign_in`): `{state, name, email, detail}` where `state` is
//! `signed_out`, `restoring` (asking the provider at launch), `signed_in`, `offline` (the kept
//! sign-in could not be checked: the refresh token is kept, sync waits, everything local works,
//! `detail` says why), `expired` (the provider refused the kept sign-in: sign in again) or
//! `waiting_for_browser`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use local::{Restored, Revocation, SignIn, SignInConfig, SignedIn, SignedInUser, TokenStore};
use serde::Serialize;
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter, Manager, State};
use tokio::sync::oneshot;

use crate::error::{CommandError, CommandResult};
use crate::settings::Settings;
use crate::sync::{self, AppState};

/// Waits between restore attempts while the provider cannot be reached: doubling up to the max.
const RETRY_MIN: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SignInPhase {
    SignedOut,
    Restoring,
    SignedIn,
    Offline,
    Expired,
    WaitingForBrowser,
}

/// Who is signed in, and how sure the app is of it (see the module's doc).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignInStatus {
    pub state: SignInPhase,
    pub name: Option<String>,
    pub email: Option<String>,
    pub detail: Option<String>,
}

impl SignInStatus {
    fn new(state: SignInPhase, user: Option<&SignedInUser>) -> Self {
        Self {
            state,
            name: user.and_then(|user| user.name.clone()),
            email: user.and_then(|user| user.email.clone()),
            detail: None,
        }
    }

    fn signed_out() -> Self {
        Self::new(SignInPhase::SignedOut, None)
    }
}

/// The sign-in part of the app's state (managed next to `AppState`).
pub struct SignInState {
    status: Mutex<SignInStatus>,
    /// The restore of the kept sign-in, with its retries, while it runs.
    restoring: Mutex<Option<JoinHandle<()>>>,
    /// Ends the interactive sign-in that waits for the browser.
    waiting: Mutex<Option<oneshot::Sender<()>>>,
    /// Numbers interactive sign-ins: only the latest one, when it fails, puts the status back.
    attempts: AtomicU64,
}

impl Default for SignInState {
    fn default() -> Self {
        Self {
            status: Mutex::new(SignInStatus::signed_out()),
            restoring: Mutex::new(None),
            waiting: Mutex::new(None),
            attempts: AtomicU64::new(0),
        }
    }
}

impl SignInState {
    pub fn status(&self) -> SignInStatus {
        self.status
            .lock()
            .map(|status| status.clone())
            .unwrap_or_else(|_| SignInStatus::signed_out())
    }

    /// What the sync status says while no token is there: the sign-in kept from the last run
    /// is still being checked (`connecting`) or could not be checked (`offline`), or nobody is
    /// signed in (`signed_out`).
    pub fn sync_mode_without_token(&self) -> crate::sync::SyncMode {
        use crate::sync::SyncMode;
        match self.status().state {
            SignInPhase::Restoring => SyncMode::Connecting,
            SignInPhase::Offline => SyncMode::Offline,
            _ => SyncMode::SignedOut,
        }
    }

    fn stop_restoring(&self) {
        if let Ok(mut restoring) = self.restoring.lock()
            && let Some(task) = restoring.take()
        {
            task.abort();
        }
    }
}

/// Set and announce the sign-in status (only when it changed).
fn publish(app: &AppHandle, status: SignInStatus) {
    let state = app.state::<SignInState>();
    let changed = match state.status.lock() {
        Ok(mut current) if *current != status => {
            *current = status.clone();
            true
        }
        _ => false,
    };
    if changed && let Err(error) = app.emit("sign-in-state", status) {
        tracing::warn!(%error, "cannot emit sign-in-state");
    }
}

/// The provider and where its refresh token is kept (the keychain entry, or the passphrase key
/// file, keyed by the issuer URL so switching providers never reuses a token); `None` when sign-in is not set up.
fn configured(settings: &Settings) -> Option<(SignInConfig, Arc<dyn TokenStore>)> {
    let issuer = settings.oidc_issuer.trim();
    let client_id = settings.oidc_client_id.trim();
    if issuer.is_empty() || client_id.is_empty() {
        return None;
    }
    let store = crate::keychain::token_store(issuer);
    Some((settings.sign_in_config(), store))
}

/// At launch, and whenever the settings change: unless someone is signed in (or a development
/// token is used), restore the sign-in kept in the keychain in the background. Never opens the
/// browser, never blocks the window: everything local works meanwhile.
pub fn resume(app: &AppHandle) {
    let state = app.state::<AppState>();
    let sign_in = app.state::<SignInState>();
    sign_in.stop_restoring();
    if state.dev_token.is_some() {
        return;
    }
    let session = state
        .signed_in
        .lock()
        .ok()
        .and_then(|current| current.clone());
    if let Some(session) = session {
        publish(
            app,
            SignInStatus::new(SignInPhase::SignedIn, session.user().as_ref()),
        );
        return;
    }
    let Some((config, store)) = configured(&state.settings()) else {
        publish(app, SignInStatus::signed_out());
        return;
    };
    // Set before the task runs, so a sync restart right after says "connecting", not
    // "signed out". An offline or refused sign-in keeps saying so until the provider answers.
    if !matches!(
        sign_in.status().state,
        SignInPhase::Offline | SignInPhase::Expired
    ) {
        publish(app, SignInStatus::new(SignInPhase::Restoring, None));
    }
    let task = tauri::async_runtime::spawn(restore_until_answered(app.clone(), config, store));
    if let Ok(mut restoring) = sign_in.restoring.lock() {
        *restoring = Some(task);
    }
}

/// Restores the kept sign-in; while the provider cannot be reached, keeps the refresh token,
/// says who is signed in "(offline)", and tries again with backoff.
async fn restore_until_answered(app: AppHandle, config: SignInConfig, store: Arc<dyn TokenStore>) {
    if app.state::<SignInState>().status().state == SignInPhase::Restoring
        && let Some(user) = SignIn::kept_user(&store).await
    {
        // "Signing in as Ada Lovelace…" while the provider is asked.
        publish(&app, SignInStatus::new(SignInPhase::Restoring, Some(&user)));
    }
    let mut attempt = 0;
    loop {
        let restored = SignIn::restore_kept(config.clone(), store.clone()).await;
        let status = status_of(&restored);
        match restored {
            Restored::SignedIn(signed_in) => {
                adopt(&app, signed_in).await;
                return;
            }
            Restored::NothingKept | Restored::Refused { .. } => {
                // "Please sign in again" stays until the lawyer does (or signs out).
                let refused_before =
                    app.state::<SignInState>().status().state == SignInPhase::Expired;
                if !(refused_before && matches!(restored, Restored::NothingKept)) {
                    publish(&app, status);
                }
                sync::restart(&app).await;
                return;
            }
            Restored::Offline { .. } => {
                let first = app.state::<SignInState>().status().state != SignInPhase::Offline;
                publish(&app, status);
                if first {
                    // The sync status turns from "connecting" to "offline".
                    sync::restart(&app).await;
                }
            }
        }
        tokio::time::sleep(retry_delay(attempt)).await;
        attempt += 1;
    }
}

/// What the window is told about a restore's outcome.
fn status_of(restored: &Restored) -> SignInStatus {
    match restored {
        Restored::NothingKept => SignInStatus::signed_out(),
        Restored::SignedIn(signed_in) => {
            SignInStatus::new(SignInPhase::SignedIn, signed_in.user().as_ref())
        }
        Restored::Refused { user } => SignInStatus::new(SignInPhase::Expired, user.as_ref()),
        Restored::Offline { user, error } => SignInStatus {
            detail: Some(error.to_string()),
            ..SignInStatus::new(SignInPhase::Offline, user.as_ref())
        },
    }
}

fn retry_delay(attempt: u32) -> Duration {
    RETRY_MIN
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(RETRY_MAX)
}

/// Makes `signed_in` the app's session: the sync client's token source, shown in the window,
/// and watched for the provider refusing it later (then the lawyer is asked to sign in again).
async fn adopt(app: &AppHandle, signed_in: SignedIn) {
    let state = app.state::<AppState>();
    let session = Arc::new(signed_in);
    if let Ok(mut current) = state.signed_in.lock() {
        *current = Some(session.clone());
    }
    publish(
        app,
        SignInStatus::new(SignInPhase::SignedIn, session.user().as_ref()),
    );
    let mut refusal = session.refusal();
    let watched = Arc::downgrade(&session);
    let watcher = app.clone();
    tauri::async_runtime::spawn(async move {
        // `Err` when the session is dropped (signed out, replaced): nothing to do then.
        if refusal.wait_for(|refused| *refused).await.is_err() {
            return;
        }
        let Some(session) = watched.upgrade() else {
            return;
        };
        let state = watcher.state::<AppState>();
        let current = state.signed_in.lock().ok().and_then(|mut current| {
            let ours = current
                .as_ref()
                .is_some_and(|current| Arc::ptr_eq(current, &session));
            if ours { current.take() } else { None }
        });
        if current.is_some() {
            publish(
                &watcher,
                SignInStatus::new(SignInPhase::Expired, session.user().as_ref()),
            );
            sync::restart(&watcher).await;
        }
    });
    sync::restart(app).await;
}

/// Sign in with the firm's identity provider in the system browser (OAuth code + PKCE). Waits
/// for the browser; `cancel_sign_in` ends the wait (`signin_cancelled`).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_in(app: AppHandle) -> CommandResult<SignInStatus> {
    let Some((config, store)) = configured(&app.state::<AppState>().settings()) else {
        return Err(CommandError::new(
            "signin_not_configured",
            "Ask your firm's IT for the sign-in address and client id, and enter them in Settings.",
        ));
    };
    let sign_in_state = app.state::<SignInState>();
    sign_in_state.stop_restoring();
    let attempt_number = sign_in_state.attempts.fetch_add(1, Ordering::SeqCst) + 1;
    let (cancel, cancelled) = oneshot::channel();
    if let Ok(mut waiting) = sign_in_state.waiting.lock() {
        // A second click replaces the first sign-in (its sender dropped ends it).
        *waiting = Some(cancel);
    }
    publish(
        &app,
        SignInStatus::new(SignInPhase::WaitingForBrowser, None),
    );
    let attempt = async {
        let sign_in = SignIn::discover(config, store).await?;
        sign_in.sign_in(|url| open_browser(url.as_str())).await
    };
    // Dropping the attempt closes the loopback listener: a browser coming back later finds
    // nothing, and no token is exchanged.
    let outcome = tokio::select! {
        outcome = attempt => outcome.map_err(CommandError::from),
        _ = cancelled => Err(CommandError::new("signin_cancelled", "Sign-in was cancelled.")),
    };
    match outcome {
        Ok(signed_in) => {
            if let Ok(mut waiting) = app.state::<SignInState>().waiting.lock() {
                *waiting = None;
            }
            let status = SignInStatus::new(SignInPhase::SignedIn, signed_in.user().as_ref());
            adopt(&app, signed_in).await;
            Ok(status)
        }
        Err(error) => {
            tracing::info!(code = error.code.as_str(), "sign-in did not complete");
            // Back to what the keychain says (a session still running, a kept sign-in, or
            // nobody), unless a newer sign-in is waiting for the browser now.
            let sign_in_state = app.state::<SignInState>();
            if sign_in_state.attempts.load(Ordering::SeqCst) == attempt_number {
                if let Ok(mut waiting) = sign_in_state.waiting.lock() {
                    *waiting = None;
                }
                resume(&app);
            }
            Err(error)
        }
    }
}

/// Ends the sign-in waiting for the browser, if one is.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn cancel_sign_in(state: State<'_, SignInState>) {
    let waiting = state
        .waiting
        .lock()
        .ok()
        .and_then(|mut waiting| waiting.take());
    if let Some(cancel) = waiting {
        // The sign-in may have just finished; then there is nothing to cancel.
        let _ = cancel.send(());
    }
}

/// What sign-out could tell the provider (`revoked`, `not_offered`, `nothing_kept`, `failed`)
/// and why it failed. The tokens on this computer are gone in every case.
#[derive(Debug, Serialize)]
pub struct SignedOut {
    revocation: &'static str,
    detail: Option<String>,
}

/// Revokes the refresh token at the provider (RFC 7009) when it offers revocation and can be
/// reached, then wipes the tokens here whatever it said. Also ends a kept sign-in that was never
/// restored (offline) and a sign-in waiting for the browser.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_out(app: AppHandle) -> CommandResult<SignedOut> {
    let sign_in_state = app.state::<SignInState>();
    sign_in_state.stop_restoring();
    // A sign-in waiting for the browser ends without putting anything back (it would restore
    // the kept token while this revokes it).
    sign_in_state.attempts.fetch_add(1, Ordering::SeqCst);
    cancel_sign_in(app.state::<SignInState>());
    let state = app.state::<AppState>();
    let session = state.signed_in.lock().ok().and_then(|mut s| s.take());
    let revocation = match (session, configured(&state.settings())) {
        (Some(session), _) => session.sign_out().await,
        (None, Some((config, store))) => SignIn::sign_out_kept(config, store).await,
        (None, None) => Ok(Revocation::NothingKept),
    };
    publish(&app, SignInStatus::signed_out());
    sync::restart(&app).await;
    let revocation = revocation?;
    Ok(SignedOut {
        revocation: revocation.code(),
        detail: match revocation {
            Revocation::Failed(reason) => Some(reason),
            _ => None,
        },
    })
}

/// Open `url` in the lawyer's browser (sign-in must happen there, never in the app's webview).
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(error) = std::process::Command::new(program).arg(url).spawn() {
        tracing::warn!(%error, "could not open the browser for sign-in");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ada() -> SignedInUser {
        SignedInUser {
            subject: "user_1".into(),
            name: Some("Ada Lovelace".into()),
            email: Some("ada@firm.example".into()),
        }
    }

    #[test]
    fn an_unreachable_provider_shows_who_is_signed_in_offline_and_a_refusal_asks_again() {
        let offline = status_of(&Restored::Offline {
            user: Some(ada()),
            error: local::LocalError::Connection("id.firm.example: no route".into()),
        });
        assert_eq!(offline.state, SignInPhase::Offline);
        assert_eq!(offline.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(offline.email.as_deref(), Some("ada@firm.example"));
        assert!(offline.detail.unwrap().contains("no route"));

        let refused = status_of(&Restored::Refused { user: Some(ada()) });
        assert_eq!(refused.state, SignInPhase::Expired);
        assert_eq!(refused.name.as_deref(), Some("Ada Lovelace"));

        assert_eq!(
            status_of(&Restored::NothingKept),
            SignInStatus::signed_out()
        );
    }

    #[test]
    fn the_window_gets_snake_case_states() {
        let json = serde_json::to_value(SignInStatus::new(
            SignInPhase::WaitingForBrowser,
            Some(&ada()),
        ))
        .unwrap();
        assert_eq!(json["state"], "waiting_for_browser");
        assert_eq!(json["name"], "Ada Lovelace");
        assert_eq!(json["detail"], serde_json::Value::Null);
    }

    #[test]
    fn retries_back_off_to_a_minute() {
        let delays: Vec<u64> = (0..8).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(retry_delay(u32::MAX), RETRY_MAX);
    }

    #[test]
    fn sign_in_is_set_up_only_with_an_issuer_and_a_client_id() {
        let mut settings = Settings::default();
        assert!(configured(&settings).is_none());
        settings.oidc_issuer = " https://id.firm.example ".into();
        assert!(configured(&settings).is_none());
        settings.oidc_client_id = "lawyers-hub-desktop".into();
        let (config, _store) = configured(&settings).unwrap();
        assert_eq!(config.issuer, "https://id.firm.example");
    }
}
