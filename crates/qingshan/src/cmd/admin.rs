//! `qingshan user …` and `qingshan token …`: administration without the web page. Every change is written
//! to the audit log with the actor `cli`.

use std::io::BufRead;
use std::process::ExitCode;

use accounts::service::{self, Actor};
use clap::{Args, Subcommand};
use kernel::{AppError, Role};

use super::serve::{DatabaseArgs, TokenLifetimeArgs, runtime};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates a user.
    Add {
        username: String,
        /// Display name (姓名).
        #[arg(long)]
        name: String,
        /// admin, leader, monitoring, enforcement, solid_waste, petition, street_officer or public.
        #[arg(long)]
        role: String,
        /// The street of a street officer, by name (e.g. 张贵庄街道) or id.
        #[arg(long)]
        street: Option<String>,
        /// Read the password from the first line of standard input (otherwise QINGSHAN_PASSWORD).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists users.
    List,
    /// Sets a user's password (read from standard input, or QINGSHAN_PASSWORD); ends their sessions.
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub lifetime: TokenLifetimeArgs,
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issues an API token for a user and prints it once (only its digest is stored).
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// What the token is for (e.g. "站房数据推送").
        #[arg(long)]
        name: String,
        /// Lifetime in days (default: QINGSHAN_API_TOKEN_DAYS, 90; at most QINGSHAN_API_TOKEN_MAX_DAYS, 365).
        #[arg(long)]
        days: Option<i64>,
    },
}

pub fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_string();
        if password.is_empty() {
            anyhow::bail!("no password on standard input");
        }
        return Ok(password);
    }
    std::env::var("QINGSHAN_PASSWORD").map_err(|_| {
        anyhow::anyhow!("give the password with --password-stdin or in QINGSHAN_PASSWORD")
    })
}

fn explain(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.public_message())
}

async fn street_id(db: &kernel::Db, street: &str) -> anyhow::Result<i64> {
    if let Ok(id) = street.parse::<i64>() {
        return Ok(id);
    }
    registry::service::find_street(db, street)
        .await
        .map_err(anyhow::Error::from)?
        .map(|s| s.id)
        .ok_or_else(|| anyhow::anyhow!("no street named {street:?}"))
}

pub fn run_user(args: UserArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let db = args.db.open().await?;
        match args.command {
            UserCommand::Add {
                username,
                name,
                role,
                street,
                password_stdin,
            } => {
                let role = Role::parse(&role).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown role {role:?}; one of {}",
                        Role::ALL.map(Role::as_str).join(", ")
                    )
                })?;
                let street_id = match street {
                    Some(s) => Some(street_id(&db, &s).await?),
                    None => None,
                };
                let password = read_password(password_stdin)?;
                let user = service::create_user(
                    &db,
                    Actor::Cli,
                    accounts::NewUser {
                        username,
                        display_name: name,
                        password,
                        role,
                        street_id,
                        department_id: None,
                    },
                )
                .await
                .map_err(explain)?;
                println!(
                    "created user {} (id {}, {})",
                    user.username,
                    user.id,
                    user.role.label()
                );
            }
            UserCommand::List => {
                let users = accounts::repo::list_users(&db).await?;
                println!(
                    "{:<6} {:<20} {:<24} {:<16} {:<8} active",
                    "id", "username", "name", "role", "street"
                );
                for u in users {
                    println!(
                        "{:<6} {:<20} {:<24} {:<16} {:<8} {}",
                        u.id,
                        u.username,
                        u.display_name,
                        u.role.as_str(),
                        u.street_id.map(|s| s.to_string()).unwrap_or_default(),
                        if u.active { "yes" } else { "no" }
                    );
                }
            }
            UserCommand::Passwd {
                username,
                password_stdin,
            } => {
                let password = read_password(password_stdin)?;
                service::set_password(&db, Actor::Cli, &username, &password)
                    .await
                    .map_err(explain)?;
                println!("password of {username} changed; their sessions were ended");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let db = args.db.open().await?;
        match args.command {
            TokenCommand::Create { user, name, days } => {
                let config = args.lifetime.apply(kernel::state::AppConfig::default());
                let lifetime = service::TokenLifetime::of(&config);
                let issued =
                    service::create_token_with(&db, Actor::Cli, &user, &name, days, lifetime)
                        .await
                        .map_err(explain)?;
                let expires = issued
                    .info
                    .expires_at
                    .map(kernel::time::format_cst)
                    .unwrap_or_default();
                eprintln!(
                    "token {:?} for {user} (id {}), valid until {expires}; it is shown only now:",
                    issued.info.name, issued.info.id
                );
                println!("{}", issued.token);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
