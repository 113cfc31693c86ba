//! Closing the window while local saves are failing. The editor's save queue lives in the web
//! view (ui/src/editor/saveQueue.ts) and holds edits the store has refused (a full disk, say)
//! until a retry goes through; closing the window drops them. So a close request is put to the
//! window, which tries one last save and, if edits are still unsaved, asks the lawyer.
//!
//! The guard is here, not in the web view's `onCloseRequested`: with a JavaScript listener,
//! Tauri prevents every close and leaves closing to the page, so a hung or crashed page makes a
//! window that cannot be closed at all. Here the window closes by itself when the page does not
//! answer within `ANSWER_WITHIN`, or when no page has asked to be consulted (not loaded yet).
//! The page also needs no window permission (it closes through `close_window`), so the only
//! capability stays `core:event:default`.
//!
//! Protocol: a close request → event `close-requested` with a request number. The page answers
//! with `close_window` (nothing unsaved, or the lawyer chose to discard) or `hold_window_open`
//! (it is saving or asking; then the decision is the page's).

use std::sync::Mutex;
use std::time::Duration;

use tauri::{Emitter, Manager, Runtime, Window, WindowEvent};

/// The window event that puts a close request to the page; its payload is the request number.
pub const CLOSE_REQUESTED_EVENT: &str = "close-requested";

/// How long the page has to answer before the window closes anyway. Answering takes
/// milliseconds (the page holds the window before it tries its last save).
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// Which close requests are waiting for the page's answer.
#[derive(Debug, Default)]
pub struct CloseGuard {
    state: Mutex<GuardState>,
}

#[derive(Debug, Default)]
struct GuardState {
    /// The page listens for close requests (it called `guard_window_close`).
    armed: bool,
    /// The request put to the page and not answered yet.
    asked: Option<u64>,
    next: u64,
}

impl CloseGuard {
    /// The page listens for close requests from now on.
    pub fn arm(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.armed = true;
        }
    }

    /// A close request: the number to put to the page, or `None` to close at once (no page is
    /// listening, or the guard is unusable after a panic: closing beats a window that cannot be
    /// closed).
    pub fn ask(&self) -> Option<u64> {
        let mut state = self.state.lock().ok()?;
        if !state.armed {
            return None;
        }
        state.next += 1;
        let request = state.next;
        state.asked = Some(request);
        Some(request)
    }

    /// The page took `request` over: it decides whether the window closes.
    pub fn hold(&self, request: u64) {
        if let Ok(mut state) = self.state.lock()
            && state.asked == Some(request)
        {
            state.asked = None;
        }
    }

    /// Whether `request` went unanswered (the page is hung or gone); it is forgotten either way.
    pub fn unanswered(&self, request: u64) -> bool {
        match self.state.lock() {
            Ok(mut state) if state.asked == Some(request) => {
                state.asked = None;
                true
            }
            Ok(_) => false,
            Err(_) => true,
        }
    }
}

fn destroy<R: Runtime>(window: &Window<R>) {
    // Size and position are kept now, not only at a clean exit: a process that is ended before
    // it exits (a logout, a kill) still opens where the lawyer left it.
    use tauri_plugin_window_state::AppHandleExt;
    if let Err(error) = window
        .app_handle()
        .save_window_state(crate::window_state_flags())
    {
        tracing::warn!(%error, "could not keep the window's size and position");
    }
    if let Err(error) = window.destroy() {
        tracing::error!(%error, "could not close the window");
    }
}

/// `Builder::on_window_event`: put each close request to the page.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let Some(guard) = window.try_state::<CloseGuard>() else {
        return;
    };
    let Some(request) = guard.ask() else {
        return;
    };
    api.prevent_close();
    if let Err(error) = window.emit(CLOSE_REQUESTED_EVENT, request) {
        tracing::warn!(%error, "could not ask the window about closing; closing it");
        destroy(window);
        return;
    }
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(ANSWER_WITHIN).await;
        if window
            .try_state::<CloseGuard>()
            .is_some_and(|guard| guard.unanswered(request))
        {
            tracing::warn!(
                request,
                "the window did not answer a close request; closing it"
            );
            destroy(&window);
        }
    });
}

/// The page listens for `close-requested` and will answer each one.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn guard_window_close(guard: tauri::State<'_, CloseGuard>) {
    guard.arm();
}

/// The page is saving or asking the lawyer about close request `request`.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn hold_window_open(guard: tauri::State<'_, CloseGuard>, request: u64) {
    guard.hold(request);
}

/// Close the window now: nothing is unsaved, or the lawyer chose to discard it.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn close_window(window: Window) {
    tracing::info!("window closed by the lawyer");
    destroy(&window);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unarmed_guard_lets_the_window_close() {
        let guard = CloseGuard::default();
        assert_eq!(guard.ask(), None, "no page listens yet");
    }

    #[test]
    fn a_request_the_page_holds_is_not_closed_by_the_watchdog() {
        let guard = CloseGuard::default();
        guard.arm();
        let request = guard.ask();
        assert_eq!(request, Some(1));
        guard.hold(1);
        assert!(!guard.unanswered(1));
    }

    #[test]
    fn a_request_the_page_never_answers_is_closed_by_the_watchdog() {
        let guard = CloseGuard::default();
        guard.arm();
        assert_eq!(guard.ask(), Some(1));
        assert!(guard.unanswered(1));
        assert!(!guard.unanswered(1), "once");
    }

    #[test]
    fn only_the_latest_request_counts() {
        let guard = CloseGuard::default();
        guard.arm();
        assert_eq!(guard.ask(), Some(1));
        assert_eq!(guard.ask(), Some(2));
        guard.hold(1);
        assert!(!guard.unanswered(1), "superseded");
        assert!(
            guard.unanswered(2),
            "a stale answer does not hold the new request"
        );
    }
}
