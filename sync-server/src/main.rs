use anyhow::Context;
use clap::{Parser, Subcommand};
use sync_server::config::{DatabaseSettings, DevSecret, ServeSettings};
use sync_server::{app, auth, db, migrate};

/// mimalloc rather than glibc's malloc: glibc keeps the pages of freed memory (a burst of
/// connections, a join storm's buffers) resident, so an idle server stayed as large as its
/// busiest moment (issue 18, docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "sync-server", version, about = "Lawyers Hub sync-server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync WebSocket and the HTTP API.
    Serve(Box<ServeSettings>),
    /// Check the deployment checklist (same settings as `serve`); exits 1 on any ✘.
    Preflight(Box<ServeSettings>),
    /// Back up the database: a pg_dump archive, its SHA-256 and a marker (scripts/backup).
    Backup {
        /// Directory for the archive and its marker.
        #[arg(long, env = "HUB_BACKUP_DIR")]
        dir: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseSettings,
    },
    /// Restore an archive into a fresh database and verify it (scripts/restore).
    Restore {
        /// The `.dump` file; its marker is the `.json` beside it.
        #[arg(long)]
        archive: std::path::PathBuf,
        /// Create the target database when it does not exist.
        #[arg(long)]
        create: bool,
        #[command(flatten)]
        database: DatabaseSettings,
    },
    /// Apply, undo or list Postgres migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
        #[command(flatten)]
        database: DatabaseSettings,
    },
    /// Desktop updates this server offers: add installers with their signatures, list them,
    /// stage a rollout, pin a version, roll back.
    Releases {
        /// The releases directory (the same as `serve` uses).
        #[arg(long, env = "HUB_RELEASES_DIR")]
        dir: std::path::PathBuf,
        #[command(subcommand)]
        action: ReleasesAction,
    },
    /// Print a development token (accepted only by `serve --dev-auth`, never in production).
    DevToken {
        #[arg(long)]
        user: String,
        #[arg(long)]
        firm: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 12 * 3600)]
        ttl: i64,
        /// The firm role the token carries (`admin`: a firm administrator).
        #[arg(long)]
        role: Option<String>,
        /// The display name the token carries (for the firm directory).
        #[arg(long)]
        name: Option<String>,
        /// The email the token carries (for the firm directory).
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        secret: DevSecret,
    },
}

#[derive(Subcommand)]
enum ReleasesAction {
    /// Copy an installer and its signature into the directory and list it.
    Add {
        /// The bundle the Tauri build produced (`.deb`, `.rpm`, `.msi`, `-setup.exe`, …).
        file: std::path::PathBuf,
        /// Its `.sig` file (written beside it by the build when signing is set up).
        #[arg(long)]
        sig: std::path::PathBuf,
        #[arg(long, default_value = sync_server::releases::DEFAULT_CHANNEL)]
        channel: String,
        /// Release notes shown to lawyers.
        #[arg(long, default_value = "")]
        notes: String,
        /// The firm's update public key (the `.pub` file's content): refuse a bundle whose
        /// signature the laptops would refuse.
        #[arg(long, env = "HUB_UPDATE_PUBKEY")]
        pubkey: Option<String>,
    },
    /// List releases and each channel's pin and rollout.
    List,
    /// Offer the newest release of a channel to this percentage of installations only.
    Rollout {
        percent: u8,
        #[arg(long, default_value = sync_server::releases::DEFAULT_CHANNEL)]
        channel: String,
    },
    /// Keep every installation of a channel on VERSION (also moves newer ones back to it).
    Pin {
        version: String,
        #[arg(long, default_value = sync_server::releases::DEFAULT_CHANNEL)]
        channel: String,
    },
    /// Lift the pin: the newest release (and its rollout) applies again.
    Unpin {
        #[arg(long, default_value = sync_server::releases::DEFAULT_CHANNEL)]
        channel: String,
    },
    /// Pin the channel to the release before the newest one (a bad release goes back).
    Rollback {
        #[arg(long, default_value = sync_server::releases::DEFAULT_CHANNEL)]
        channel: String,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply pending migrations (up to --to VERSION).
    Up {
        #[arg(long)]
        to: Option<i64>,
    },
    /// Undo the newest migration, or every migration after --to VERSION (0 undoes all).
    Down {
        #[arg(long)]
        to: Option<i64>,
    },
    /// List migrations and whether each is applied.
    Status,
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HUB_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn releases(dir: &std::path::Path, action: ReleasesAction) -> anyhow::Result<()> {
    use sync_server::releases::{self, Index, Release};
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    let mut index = Index::load(dir)?;
    match action {
        ReleasesAction::Add {
            file,
            sig,
            channel,
            notes,
            pubkey,
        } => {
            let name = file
                .file_name()
                .and_then(|name| name.to_str())
                .context("the bundle's file name is not text")?
                .to_owned();
            let (target, arch, bundle) = releases::bundle_kind(&name).with_context(|| {
                format!(
                    "{name}: not a bundle the updater installs (.deb, .rpm, .AppImage, .msi, \
                     -setup.exe, .app.tar.gz, with its architecture in the name)"
                )
            })?;
            let signature = std::fs::read_to_string(&sig)
                .with_context(|| format!("cannot read {}", sig.display()))?
                .trim()
                .to_owned();
            let version = releases::signed_version(&signature).with_context(|| {
                format!(
                    "{}: not a signature made by the Tauri build (no version in it)",
                    sig.display()
                )
            })?;
            semver::Version::parse(&version)
                .with_context(|| format!("the signed version {version} is not a version"))?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            if let Some(key) = pubkey.filter(|key| !key.trim().is_empty()) {
                releases::verify(&bytes, &signature, &key)
                    .with_context(|| format!("{name} refused"))?;
            }
            if index.releases.iter().any(|release| {
                release.channel == channel
                    && release.version == version
                    && release.bundle == bundle
                    && release.arch == arch
            }) {
                anyhow::bail!("{version} ({bundle}, {arch}) is already on the {channel} channel");
            }
            use sha2::Digest as _;
            let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
            // Another entry's file is never replaced: its signature would no longer match.
            if let Some(other) = index
                .releases
                .iter()
                .find(|release| release.file == name && release.sha256 != sha256)
            {
                anyhow::bail!(
                    "{name} is already listed for {} on the {} channel with other content; give \
                     this bundle another file name",
                    other.version,
                    other.channel
                );
            }
            let temporary = dir.join(format!(".{name}.tmp"));
            std::fs::write(&temporary, &bytes)?;
            std::fs::rename(&temporary, dir.join(&name))?;
            index.releases.push(Release {
                version: version.clone(),
                target: target.into(),
                arch: arch.into(),
                bundle: bundle.into(),
                channel: channel.clone(),
                file: name.clone(),
                signature,
                sha256,
                bytes: bytes.len() as u64,
                notes,
                added_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                rollout_percent: 100,
            });
            index.save(dir)?;
            println!("added {name}: {version} for {target}/{arch} ({bundle}) on {channel}");
        }
        ReleasesAction::List => {}
        ReleasesAction::Rollout { percent, channel } => {
            anyhow::ensure!(percent <= 100, "a rollout is 0 to 100 percent");
            let newest = index
                .versions(&channel)
                .first()
                .cloned()
                .with_context(|| format!("the {channel} channel has no release yet"))?;
            index.set_rollout(&channel, &newest, percent);
            index.save(dir)?;
            println!("{channel}: {newest} now reaches {percent}% of installations");
        }
        ReleasesAction::Pin { version, channel } => {
            anyhow::ensure!(
                index
                    .releases
                    .iter()
                    .any(|release| release.channel == channel && release.version == version),
                "{version} is not a release on the {channel} channel (see `releases list`)"
            );
            index.channels.entry(channel.clone()).or_default().pinned = Some(version.clone());
            index.save(dir)?;
            println!("{channel}: every installation now runs {version}");
        }
        ReleasesAction::Unpin { channel } => {
            index.channels.entry(channel.clone()).or_default().pinned = None;
            index.save(dir)?;
            println!("{channel}: pin lifted; the newest release applies");
        }
        ReleasesAction::Rollback { channel } => {
            // One step back from what the channel runs now (the pin, else the newest), so a
            // second rollback goes further back.
            let versions = index.versions(&channel);
            let current = index
                .channel(&channel)
                .pinned
                .as_deref()
                .and_then(|pinned| semver::Version::parse(pinned).ok())
                .or_else(|| versions.first().cloned())
                .with_context(|| format!("the {channel} channel has no release yet"))?;
            let previous = versions
                .iter()
                .find(|candidate| **candidate < current)
                .with_context(|| format!("the {channel} channel has no release before {current}"))?
                .to_string();
            index.channels.entry(channel.clone()).or_default().pinned = Some(previous.clone());
            index.save(dir)?;
            println!(
                "{channel}: rolled back; every installation now runs {previous} (`releases unpin` to undo)"
            );
        }
    }
    print!("{}", render(&index));
    Ok(())
}

fn render(index: &sync_server::releases::Index) -> String {
    let mut out = String::new();
    let mut channels: Vec<&String> = index
        .releases
        .iter()
        .map(|release| &release.channel)
        .collect();
    channels.sort();
    channels.dedup();
    for channel in channels {
        let settings = index.channel(channel);
        out.push_str(&format!(
            "channel {channel}: {}\n",
            match &settings.pinned {
                Some(version) => format!("pinned to {version}"),
                None => "each installation runs the newest release whose rollout includes it"
                    .to_owned(),
            }
        ));
        for release in index
            .releases
            .iter()
            .filter(|release| &release.channel == channel)
        {
            out.push_str(&format!(
                "  {:<10} {:<8} {:<7} {:<8} {:>4}% {:>10} bytes  {}  {}\n",
                release.version,
                release.target,
                release.arch,
                release.bundle,
                release.rollout_percent,
                release.bytes,
                release.added_at,
                release.file
            ));
        }
    }
    if out.is_empty() {
        out.push_str(
            "no releases yet: add one with `sync-server releases add FILE --sig FILE.sig`\n",
        );
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(settings) => {
            init_logging(settings.log_json);
            let running = app::start(&settings).await?;
            shutdown_signal().await;
            tracing::info!("shutting down: draining connections");
            let _ = running.shutdown.send(());
            // The task itself stops waiting at the deadline; one more second covers its exit.
            let bound = std::time::Duration::from_secs(settings.ops.shutdown_timeout_secs + 1);
            if tokio::time::timeout(bound, running.task).await.is_err() {
                tracing::warn!("shutdown timed out; exiting with work still open");
            }
            tracing::info!("stopped");
            Ok(())
        }
        Command::Preflight(settings) => {
            init_logging(false);
            let report = sync_server::preflight::run(&settings).await;
            print!("{}", report.render());
            if !report.passed() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Backup { dir, database } => {
            init_logging(false);
            let marker = sync_server::backup::backup(&database.url, &dir).await?;
            let written = sync_server::backup::read_marker(&marker.with_extension("dump"))?;
            println!(
                "backup {} ({} bytes, sha256 {}), schema {}, {} documents; marker {}",
                written.archive,
                written.bytes,
                written.sha256,
                written.schema_version,
                written.documents,
                marker.display()
            );
            Ok(())
        }
        Command::Restore {
            archive,
            create,
            database,
        } => {
            init_logging(false);
            let restored = sync_server::backup::restore(&archive, &database.url, create).await?;
            println!(
                "restored {} into {}: checksum verified, schema {}, {} documents each equal to the backup",
                archive.display(),
                sync_server::config::redact_url(&database.url),
                restored.schema_version,
                restored.documents
            );
            let pool = db::connect(&database).await?;
            if let Err(error) = migrate::ensure_current(&pool).await {
                println!("next: {error:#}");
            }
            Ok(())
        }
        Command::Migrate { action, database } => {
            init_logging(false);
            let pool = db::connect(&database)
                .await
                .context("cannot connect to Postgres (DATABASE_URL)")?;
            match action {
                MigrateAction::Up { to } => migrate::up(&pool, to).await?,
                MigrateAction::Down { to } => migrate::down(&pool, to).await?,
                MigrateAction::Status => {}
            }
            print!("{}", migrate::status(&pool).await?);
            Ok(())
        }
        Command::Releases { dir, action } => {
            init_logging(false);
            releases(&dir, action)
        }
        Command::DevToken {
            user,
            firm,
            ttl,
            role,
            name,
            email,
            secret,
        } => {
            let token = auth::DevAuth::new(&secret.value)
                .mint_token(&auth::DevToken {
                    user: &user,
                    firm: &firm,
                    role: role.as_deref(),
                    name: name.as_deref(),
                    email: email.as_deref(),
                    ttl_secs: ttl,
                })
                .map_err(|error| anyhow::anyhow!("cannot mint token: {error}"))?;
            println!("{token}");
            Ok(())
        }
    }
}
