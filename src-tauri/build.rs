//! The app's version as installers and the updater know it: `version` in tauri.conf.json, or
//! the one `tauri build --config '{"version": …}'` sets (TAURI_CONFIG), exposed to the code as
//! HUB_APP_VERSION so `--version`, Settings, the log and diagnostics say what is installed.
fn main() {
    println!("cargo:rerun-if-env-changed=TAURI_CONFIG");
    println!("cargo:rerun-if-changed=tauri.conf.json");
    let from = |text: &str| -> Option<String> {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()?
            .get("version")?
            .as_str()
            .map(str::to_owned)
    };
    let version = std::env::var("TAURI_CONFIG")
        .ok()
        .and_then(|config| from(&config))
        .or_else(|| {
            std::fs::read_to_string("tauri.conf.json")
                .ok()
                .and_then(|text| from(&text))
        })
        .unwrap_or_else(|| std::env::var("CARGO_PKG_VERSION").unwrap_or_default());
    println!("cargo:rustc-env=HUB_APP_VERSION={version}");
    tauri_build::build()
}
