//! Lawyers Hub desktop app: a thin Tauri shell over `crates/local`. Commands live in
//! commands.rs, the sync bridge in sync.rs; the UI is in ../ui.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod accounts;
mod close_guard;
mod commands;
mod error;
mod firm;
mod keychain;
mod local_data;
mod removals;
mod settings;
mod signin;
mod sync;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tauri::Manager;

use crate::settings::{LaunchOptions, Settings};
use crate::sync::{AppState, SyncStatus};

/// When the process started, for the start-up timings in the log.
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// WebKitGTK settings for a document app (measured under Xvfb, docs/BENCHMARKS.md "Desktop app"):
/// without GPU compositing the web process uses ~110 MB less memory, the window is ready sooner
/// and a keystroke in a long draft reaches the screen within a frame (compositing through Mesa's
/// software GL took tens of milliseconds a frame). `HUB_GPU_COMPOSITING=1` keeps WebKit's default.
/// The cache model for local pages: no web browsing happens here.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
fn tune_webview(app: &tauri::App) {
    let keep_gpu = std::env::var_os("HUB_GPU_COMPOSITING").is_some_and(|value| value == "1");
    for window in app.webview_windows().values() {
        let tuned = window.with_webview(move |webview| {
            use webkit2gtk::{
                CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
            };
            let view = webview.inner();
            if let Some(context) = view.context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
            if !keep_gpu && let Some(settings) = WebViewExt::settings(&view) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        });
        if let Err(error) = tuned {
            tracing::warn!(%error, "could not tune the web view");
        }
    }
}

fn main() {
    STARTED.get_or_init(std::time::Instant::now);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = match LaunchOptions::parse(std::env::args()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("lawyers-hub: {message}");
            std::process::exit(2);
        }
    };
    let result = tauri::Builder::default()
        .manage(signin::SignInState::default())
        .manage(close_guard::CloseGuard::default())
        .on_window_event(close_guard::on_window_event)
        .setup(move |app| {
            let data_dir = match options.data_dir.clone() {
                Some(dir) => dir,
                None => app.path().app_data_dir()?,
            };
            std::fs::create_dir_all(&data_dir)?;
            let data_dir = data_dir.canonicalize()?;
            let mut settings = Settings::load(&data_dir);
            if let Err(error) = local::net::set_proxy(settings.proxy()) {
                tracing::warn!(%error, "the proxy setting is unusable; connecting directly");
            }
            if let Some(url) = &options.server_url {
                settings.server_url = url.clone();
            }
            if let Some(name) = &options.display_name {
                settings.display_name = name.clone();
            }
            let database = local::StoreFiles::new(&data_dir).default_path();
            let key = local::StoredKey::new(keychain::KeychainSlot::new(&data_dir), &database);
            let opening = std::time::Instant::now();
            let store = local::Store::open(&database, &key)
                .map_err(|error| format!("cannot open the local database: {error}"))?;
            tracing::info!(
                open_ms = opening.elapsed().as_millis() as u64,
                since_start_ms = STARTED.get().map(|s| s.elapsed().as_millis() as u64),
                "local store open (keychain + SQLCipher + migrations)"
            );
            let account = options
                .dev_token
                .as_ref()
                .map(|_| "development token".to_owned());
            let store = Arc::new(store);
            // The account store in use when the app last ran (one store file per account):
            // until the sign-in tells who is signed in, their work goes there.
            let active = match sync::last_active_store(&data_dir) {
                Some(path) => match sync::open_account_store(&path) {
                    Ok(account_store) => sync::ActiveStore {
                        path,
                        store: account_store,
                    },
                    Err(error) => {
                        tracing::error!(%error, path = %path.display(), "cannot open the last account's store");
                        sync::ActiveStore {
                            path: database,
                            store: store.clone(),
                        }
                    }
                },
                None => sync::ActiveStore {
                    path: database,
                    store: store.clone(),
                },
            };
            let opened_now = (active.path.clone(), active.store.clone());
            app.manage(AppState {
                store: std::sync::RwLock::new(active),
                default_store: store,
                data_dir,
                settings: Mutex::new(settings),
                dev_token: options.dev_token.clone(),
                signed_in: Mutex::new(None),
                client: tokio::sync::Mutex::new(None),
                status: Mutex::new(SyncStatus {
                    mode: crate::sync::SyncMode::Local,
                    pending: 0,
                }),
                problem: Mutex::new(None),
                open_stores: Mutex::new([opened_now].into_iter().collect()),
                opened: Mutex::new(HashSet::new()),
                doc_stores: Mutex::new(Default::default()),
                doc_channels: Mutex::new(Default::default()),
                account: Mutex::new(account),
                copilot: Mutex::new(Default::default()),
                roles: Mutex::new(Default::default()),
                next_copilot: Default::default(),
            });
            // The sign-in kept in the keychain is restored in the background (no browser); it
            // says "restoring" first, so the sync client's first start does not say "signed out".
            signin::resume(app.handle());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move { sync::restart(&handle).await });
            #[cfg(any(target_os = "linux", target_os = "freebsd"))]
            tune_webview(app);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::ui_ready,
            commands::save_settings,
            commands::list_cases,
            commands::upcoming_deadlines,
            commands::search,
            commands::get_case,
            commands::create_case,
            commands::update_case,
            commands::add_party,
            commands::add_deadline,
            commands::set_deadline_done,
            commands::remove_from_case,
            commands::list_drafts,
            commands::create_draft,
            commands::rename_draft,
            commands::delete_draft,
            commands::open_doc,
            commands::apply_local_update,
            commands::close_doc,
            commands::set_awareness,
            commands::export_docx,
            commands::export_pdf,
            commands::export_redline,
            commands::export_deadlines_ics,
            commands::import_docx,
            signin::sign_in,
            signin::cancel_sign_in,
            signin::sign_out,
            firm::case_members,
            firm::my_role,
            firm::copilot_availability,
            firm::copilot_set_consent,
            firm::firm_roles,
            firm::search_directory,
            firm::set_member,
            firm::remove_member,
            firm::check_conflicts,
            firm::firm_screens,
            firm::matter_choices,
            firm::add_screen,
            firm::lift_screen,
            firm::copilot_policy,
            firm::set_copilot_enabled,
            firm::copilot_usage,
            firm::copilot_usage_csv,
            firm::copilot_chat,
            firm::copilot_stop,
            firm::firm_matters,
            firm::set_legal_hold,
            firm::firm_audit,
            firm::export_audit_csv,
            local_data::export_local_data,
            local_data::list_local_exports,
            local_data::import_local_data,
            accounts::local_matters,
            accounts::attach_local_matters,
            removals::removal_notices,
            removals::dismiss_removal_notice,
            close_guard::guard_window_close,
            close_guard::hold_window_open,
            close_guard::close_window,
        ])
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("lawyers-hub: {error}");
        std::process::exit(1);
    }
}
