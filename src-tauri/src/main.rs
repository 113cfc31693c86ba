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
mod policy;
mod removals;
mod settings;
mod signin;
mod sync;
mod unlock;
mod updates;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tauri::Manager;

use crate::settings::{LaunchOptions, Settings};
use crate::sync::{AppState, SyncStatus};

/// This build's version (tauri.conf.json, or the installer build's override; see build.rs).
pub const VERSION: &str = env!("HUB_APP_VERSION");

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

/// Opens this computer's data with the keychain (or the passphrase key file, once unlocked) and
/// starts everything that needs it: the app state, the kept sign-in, the sync client.
pub fn open_data(app: &tauri::AppHandle, launch: &unlock::Launch) -> Result<(), local::LocalError> {
    let data_dir = launch.data_dir.clone();
    let database = local::StoreFiles::new(&data_dir).default_path();
    let key = local::StoredKey::new(keychain::key_slot(&data_dir), &database);
    let opening = std::time::Instant::now();
    let store = local::Store::open(&database, &key)?;
    tracing::info!(
        open_ms = opening.elapsed().as_millis() as u64,
        since_start_ms = STARTED.get().map(|s| s.elapsed().as_millis() as u64),
        "local store open (keychain + SQLCipher + migrations)"
    );
    let account = launch
        .dev_token
        .as_ref()
        .map(|_| "development token".to_owned());
    let store = Arc::new(store);
    // The account store in use when the app last ran (one store file per account): until the
    // sign-in tells who is signed in, their work goes there.
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
        settings: Mutex::new(launch.settings.clone()),
        dev_token: launch.dev_token.clone(),
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
    // The sign-in kept in the keychain is restored in the background (no browser); it says
    // "restoring" first, so the sync client's first start does not say "signed out".
    signin::resume(app);
    let handle = app.clone();
    tauri::async_runtime::spawn(async move { sync::restart(&handle).await });
    updates::start(app);
    Ok(())
}

/// The single-instance guard's D-Bus name: the app's identifier for the usual data directory,
/// and one per `--data-dir` profile (each profile is its own SQLCipher file, so two profiles
/// may run side by side; two processes on one profile may not).
fn instance_id(data_dir: Option<&std::path::Path>) -> String {
    const ID: &str = "app.lawyershub.desktop";
    match data_dir {
        None => ID.to_owned(),
        Some(dir) => {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
            // FNV-1a: a stable name from the path (not a secret).
            let hash = dir
                .to_string_lossy()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                    (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
                });
            format!("{ID}.p{hash:016x}")
        }
    }
}

/// Log files in the OS's log directory (Linux: ~/.local/share/app.lawyershub.desktop/logs),
/// rotated at 5 MB (`HUB_LOG_MAX_BYTES`), five kept; and stderr. Our own code logs at `level`;
/// other libraries only warnings, so no library's debug output (request bodies, frames) can
/// carry document text or tokens into a file.
fn log_plugin(level: log::LevelFilter) -> tauri::plugin::TauriPlugin<tauri::Wry> {
    use tauri_plugin_log::{RotationStrategy, Target, TargetKind, TimezoneStrategy};
    let max_bytes = std::env::var("HUB_LOG_MAX_BYTES")
        .ok()
        .and_then(|value| value.parse::<u128>().ok())
        .unwrap_or(5 * 1024 * 1024);
    let mut builder = tauri_plugin_log::Builder::new()
        .clear_targets()
        .targets([
            Target::new(TargetKind::Stderr),
            Target::new(TargetKind::LogDir {
                file_name: Some("lawyers-hub".into()),
            }),
            Target::new(TargetKind::Dispatch(
                fern::Dispatch::new()
                    .level(log::LevelFilter::Warn)
                    .chain(fern::Output::call(remember)),
            )),
        ])
        .max_file_size(max_bytes)
        .rotation_strategy(RotationStrategy::KeepSome(5))
        .timezone_strategy(TimezoneStrategy::UseUtc)
        .level(level.min(log::LevelFilter::Warn));
    for ours in ["lawyers_hub", "local", "hub_protocol"] {
        builder = builder.level_for(ours, level);
    }
    builder.build()
}

/// The last warnings and errors, for "Copy diagnostics" (our log lines never carry document
/// text or tokens).
static RECENT: Mutex<std::collections::VecDeque<String>> =
    Mutex::new(std::collections::VecDeque::new());
const RECENT_KEPT: usize = 10;

pub fn recent_errors() -> Vec<String> {
    RECENT
        .lock()
        .map(|recent| recent.iter().cloned().collect())
        .unwrap_or_default()
}

fn remember(record: &log::Record) {
    if let Ok(mut recent) = RECENT.lock() {
        if recent.len() == RECENT_KEPT {
            recent.pop_front();
        }
        recent.push_back(format!(
            "{} {} {}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            record.level(),
            record.args()
        ));
    }
}

/// What is remembered of the window: size, position, maximized (not visibility).
pub fn window_state_flags() -> tauri_plugin_window_state::StateFlags {
    use tauri_plugin_window_state::StateFlags;
    StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED
}

fn log_level(name: &str) -> log::LevelFilter {
    match name {
        "error" => log::LevelFilter::Error,
        "warn" => log::LevelFilter::Warn,
        "debug" => log::LevelFilter::Debug,
        _ => log::LevelFilter::Info,
    }
}

fn main() {
    STARTED.get_or_init(std::time::Instant::now);
    let options = match LaunchOptions::parse(std::env::args()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("lawyers-hub: {message}\nTry lawyers-hub --help.");
            std::process::exit(2);
        }
    };
    if options.help {
        print!("{}", settings::USAGE);
        return;
    }
    if options.version {
        println!("Lawyers Hub {}", crate::VERSION);
        return;
    }
    let policy = policy::Policy::load();
    let instance = instance_id(options.data_dir.as_deref());
    let result = tauri::Builder::default()
        // First: a second launch on the same profile hands over to this one and exits.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance)
                .callback(|app, _argv, _cwd| {
                    tracing::info!("another launch of this profile: focusing this window");
                    if let Some(window) = app.get_webview_window("main") {
                        let _ = window.unminimize();
                        let _ = window.show();
                        let _ = window.set_focus();
                    }
                })
                .build(),
        )
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(window_state_flags())
                .build(),
        )
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(signin::SignInState::default())
        .manage(close_guard::CloseGuard::default())
        .manage(updates::Updates::default())
        .on_window_event(close_guard::on_window_event)
        .setup(move |app| {
            let data_dir = match options.data_dir.clone() {
                Some(dir) => Ok(dir),
                None => app.path().app_data_dir(),
            };
            let data_dir = data_dir
                .map_err(|error| error.to_string())
                .and_then(|dir| {
                    std::fs::create_dir_all(&dir)
                        .and_then(|()| dir.canonicalize())
                        .map_err(|error| format!("{}: {error}", dir.display()))
                });
            let mut settings = match &data_dir {
                Ok(dir) => Settings::load(dir),
                Err(_) => Settings::base(),
            };
            if let Some(url) = &options.server_url {
                settings.server_url = url.clone();
            }
            if let Some(name) = &options.display_name {
                settings.display_name = name.clone();
            }
            if !policy.locked().contains(&"log_level")
                && let Ok(level) = std::env::var("HUB_LOG")
                && settings::LOG_LEVELS.contains(&level.as_str())
            {
                settings.log_level = level;
            }
            // IT's locked values win over everything above.
            let settings = policy.apply(settings);
            if let Err(error) = app.handle().plugin(log_plugin(log_level(&settings.log_level))) {
                // No log files (a read-only home, a full disk): the window still opens.
                eprintln!("lawyers-hub: no log files: {error}");
            }
            tracing::info!(version = crate::VERSION, "Lawyers Hub starting");
            for problem in &policy.problems {
                tracing::warn!(problem, "managed policy value not applied");
            }
            if let Err(error) = local::net::set_proxy(settings.proxy()) {
                tracing::warn!(%error, "the proxy setting is unusable; connecting directly");
            }
            app.manage(policy.clone());
            match data_dir {
                Ok(data_dir) => unlock::start(
                    app.handle(),
                    unlock::Launch {
                        data_dir,
                        settings,
                        dev_token: options.dev_token.clone(),
                    },
                ),
                Err(reason) => unlock::fail(
                    app.handle(),
                    format!("Lawyers Hub cannot make its data folder ({reason}). Check that the folder is writable, or start it with --data-dir."),
                ),
            }
            #[cfg(any(target_os = "linux", target_os = "freebsd"))]
            tune_webview(app);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            unlock::lock_state,
            unlock::unlock,
            unlock::retry_keychain,
            commands::app_info,
            commands::diagnostics,
            updates::update_status,
            updates::check_for_update,
            updates::install_update,
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
