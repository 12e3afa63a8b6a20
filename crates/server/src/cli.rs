//! Subcommands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use throughline_core::crypto;
use throughline_core::role::Role;
use throughline_store::accounts;
use throughline_store::auth::{self, TokenOwner};

use crate::app::{self, App};
use crate::config::{Config, LogFormat, Settings};

#[derive(Parser, Debug)]
#[command(
    name = "throughline",
    version,
    about = "Omnichannel customer service in one binary"
)]
pub struct Cli {
    /// TOML configuration file [default: ./throughline.toml when present]
    #[arg(long, global = true, env = "THROUGHLINE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the server (migrating the database first).
    Serve(#[command(flatten)] Box<Settings>),
    /// Applies database migrations and exits.
    Migrate(#[command(flatten)] Box<Settings>),
    /// Prints a documented configuration file with every default.
    DefaultConfig,
    /// Writes one archive (.tar.gz) of this deployment while it keeps serving: a snapshot of
    /// the SQLite database, the attachments and the server key, with a manifest. On
    /// PostgreSQL, prints the pg_dump command for the database and archives the rest.
    Backup {
        #[command(flatten)]
        settings: Box<Settings>,
        /// Where to write the archive (it must not exist yet).
        archive: PathBuf,
    },
    /// Restores an archive made by `backup` into an empty data directory (checked against
    /// its manifest first); `serve` then serves the same data.
    Restore {
        #[command(flatten)]
        settings: Box<Settings>,
        /// The archive written by `throughline backup`.
        archive: PathBuf,
        /// Replace the database, server key and attachments of a non-empty data directory
        /// (stop the server first).
        #[arg(long)]
        force: bool,
    },
    /// Administration tasks that work directly on the database.
    Admin {
        #[command(flatten)]
        settings: Box<Settings>,
        #[command(subcommand)]
        task: AdminTask,
    },
    /// Loads a realistic sample (inboxes, agents, contacts and conversations in English,
    /// Portuguese and Polish).
    Demo {
        #[command(flatten)]
        settings: Box<Settings>,
        /// How many contacts.
        #[arg(long, default_value_t = 300)]
        contacts: usize,
        /// Seed for reproducible data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Measures this build against the performance budgets: seeds a data set, starts the
    /// server as its own process and drives it over real sockets.
    Bench(#[command(flatten)] Box<crate::bench::BenchArgs>),
}

#[derive(Subcommand, Debug)]
pub enum AdminTask {
    /// Creates an account.
    CreateAccount {
        #[arg(long)]
        name: String,
    },
    /// Creates a user (or adds an existing one) as a member of an account.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Generated and printed when omitted.
        #[arg(long)]
        password: Option<String>,
        /// The account to join [default: the first account].
        #[arg(long)]
        account_id: Option<i64>,
        /// administrator or agent
        #[arg(long, default_value = "agent")]
        role: String,
    },
    /// Sets a new password (generated and printed when omitted) and signs the user out.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Creates a platform app and prints its access token (for the Platform API).
    CreatePlatformApp {
        #[arg(long)]
        name: String,
    },
}

pub fn init_logging(config: &Config) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let fmt = match config.log_format {
        LogFormat::Json => fmt.json().with_filter(filter).boxed(),
        LogFormat::Text => fmt.with_filter(filter).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(crate::profile::requested().then(crate::profile::layer))
        .try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::DefaultConfig => {
            print!("{}", crate::config::default_config_toml());
            Ok(())
        }
        Command::Serve(settings) => serve(Config::load(*settings, file)?).await,
        Command::Bench(args) => crate::bench::run(*args).await,
        Command::Backup { settings, archive } => {
            crate::backup::backup(&Config::load(*settings, file)?, &archive).await
        }
        Command::Restore {
            settings,
            archive,
            force,
        } => crate::backup::restore(&Config::load(*settings, file)?, &archive, force).await,
        Command::Migrate(settings) => {
            let config = Config::load(*settings, file)?;
            init_logging(&config);
            let store = app::open_store(&config).await?;
            store.close().await;
            println!("Database is up to date ({}).", store.backend().name());
            Ok(())
        }
        Command::Admin { settings, task } => {
            let config = Config::load(*settings, file)?;
            admin(&config, task).await
        }
        Command::Demo {
            settings,
            contacts,
            seed,
        } => {
            let config = Config::load(*settings, file)?;
            init_logging(&config);
            let store = app::open_store(&config).await?;
            app::bootstrap(&store, &config).await?;
            let started = std::time::Instant::now();
            let s = crate::demo::load(&store, contacts, seed).await?;
            store.close().await;
            println!(
                "Loaded demo account {} in {:.1} s: {} contacts, {} conversations, {} messages.\n\
                 Agents emma.clarke@acme.example (administrator), ana.souza@acme.example and \
                 jan.kowalski@acme.example sign in with password: {}",
                s.account_id,
                started.elapsed().as_secs_f64(),
                s.contacts,
                s.conversations,
                s.messages,
                s.agent_password
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    let started = std::time::Instant::now();
    let app = App::start(config).await?;
    tracing::info!(
        address = %app.addr,
        database = app.store.backend().name(),
        ready_in_ms = started.elapsed().as_millis() as u64,
        "Throughline is serving"
    );
    if let Some(first) = &app.first_start {
        println!("\nThroughline is ready at {}", app.public_url);
        println!("Account:  {}", first.account_name);
        println!("Sign in:  {}", first.email);
        match &first.generated_password {
            Some(p) => {
                println!("Password: {p}\n(shown only this once; change it in your profile)\n")
            }
            None => println!("Password: the one given in THROUGHLINE_ADMIN_PASSWORD\n"),
        }
    } else {
        println!("Throughline is ready at {}", app.public_url);
    }
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    app.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

async fn admin(config: &Config, task: AdminTask) -> anyhow::Result<()> {
    let store = app::open_store(config).await?;
    let result = admin_task(&store, task).await;
    store.close().await;
    result
}

async fn hash(password: String) -> anyhow::Result<String> {
    if password.chars().count() < crypto::MIN_PASSWORD_LEN {
        anyhow::bail!(
            "passwords need at least {} characters",
            crypto::MIN_PASSWORD_LEN
        );
    }
    Ok(tokio::task::spawn_blocking(move || crypto::hash_password(&password)).await??)
}

async fn admin_task(store: &throughline_store::Store, task: AdminTask) -> anyhow::Result<()> {
    match task {
        AdminTask::CreateAccount { name } => {
            let mut tx = store.begin().await?;
            let a = accounts::create_account(tx.conn(), name.trim(), "en").await?;
            tx.commit().await?;
            println!("Created account {} ({}).", a.id, a.name);
        }
        AdminTask::CreateUser {
            email,
            name,
            password,
            account_id,
            role,
        } => {
            let role = Role::parse(&role).context("role must be administrator or agent")?;
            let email = throughline_core::identity::normalize_email(&email)?;
            let (password, generated) = match password {
                Some(p) => (p, false),
                None => (crypto::random_password(), true),
            };
            let hashed = hash(password.clone()).await?;
            let mut tx = store.begin().await?;
            let account_id = match account_id {
                Some(id) => {
                    accounts::get_account(tx.conn(), id)
                        .await
                        .context("no such account")?
                        .id
                }
                None => {
                    accounts::get_account(tx.conn(), 1)
                        .await
                        .context("no account yet: run serve once or admin create-account")?
                        .id
                }
            };
            // An existing user only gains the membership: their password stays as it is.
            let (user, created) =
                match accounts::find_user_by_email_unscoped(tx.conn(), &email).await? {
                    Some((u, _)) => (u, false),
                    None => {
                        let u = accounts::create_user(
                            tx.conn(),
                            accounts::NewUser {
                                email: email.clone(),
                                name,
                                display_name: None,
                                password_hash: Some(hashed),
                                custom_attributes: serde_json::json!({}),
                            },
                        )
                        .await?;
                        auth::issue_token(tx.conn(), store.key(), TokenOwner::User(u.id)).await?;
                        (u, true)
                    }
                };
            accounts::add_member(tx.conn(), account_id, user.id, role, None).await?;
            tx.commit().await?;
            println!(
                "User {} ({email}) is {} of account {account_id}.",
                user.id,
                role.as_str()
            );
            if !created {
                println!("The user already existed; their password is unchanged.");
            } else if generated {
                println!("Password: {password}");
            }
        }
        AdminTask::ResetPassword { email, password } => {
            let (password, generated) = match password {
                Some(p) => (p, false),
                None => (crypto::random_password(), true),
            };
            let hashed = hash(password.clone()).await?;
            let mut tx = store.begin().await?;
            let (user, _) = accounts::find_user_by_email_unscoped(tx.conn(), &email)
                .await?
                .with_context(|| format!("no user with email {email}"))?;
            accounts::set_password_unscoped(tx.conn(), user.id, &hashed).await?;
            auth::delete_sessions_of_user(tx.conn(), user.id).await?;
            tx.commit().await?;
            println!(
                "Password of {} changed; their browser sessions were ended.",
                user.email
            );
            if generated {
                println!("Password: {password}");
            }
        }
        AdminTask::CreatePlatformApp { name } => {
            let mut tx = store.begin().await?;
            let id = auth::create_platform_app(tx.conn(), name.trim()).await?;
            let token =
                auth::issue_token(tx.conn(), store.key(), TokenOwner::PlatformApp(id)).await?;
            tx.commit().await?;
            println!("Platform app {id} created. Its api_access_token: {token}");
        }
    }
    Ok(())
}
