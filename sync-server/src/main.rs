use anyhow::Context;
use clap::{Parser, Subcommand};
use sync_server::config::{DatabaseSettings, DevSecret, ServeSettings};
use sync_server::{app, auth, db, migrate};

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
