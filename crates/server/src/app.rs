//! Wiring: store, blob store, realtime bus, event consumers and the HTTP server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use throughline_channels::registry::Clients;
use throughline_core::crypto::{self, ServerKey};
use throughline_core::webhook::RetryPolicy;
use throughline_http::{AppState, HttpConfig};
use throughline_jobs::{Jobs, JobsConfig};
use throughline_realtime::{Bus, Hub, HubConfig, Progress};
use throughline_store::auth::{self, TokenOwner};
use throughline_store::blob::LocalBlobStore;
use throughline_store::{Store, StoreOptions, accounts, settings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// Reads the server key from the configuration or `<data_dir>/secret.key`, creating the file
/// (readable by its owner only) on first start.
pub fn server_key(config: &Config) -> anyhow::Result<ServerKey> {
    if let Some(k) = &config.secret_key {
        return ServerKey::from_base64(k)
            .map_err(|e| anyhow::anyhow!("THROUGHLINE_SECRET_KEY: {e}"));
    }
    let path = config.data_dir.join("secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return ServerKey::from_base64(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let key = ServerKey::generate();
    write_private(&path, &key.to_base64())?;
    Ok(key)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let key = server_key(config)?;
    let mut options = StoreOptions::new(&config.database_url);
    options.public_url = config.public_url.clone();
    options.max_connections = config.db_max_connections;
    Store::open(&options, key).await.with_context(|| {
        format!(
            "opening {}",
            throughline_store::redact_url(&config.database_url)
        )
    })
}

/// What the first start created, to print once.
pub struct FirstStart {
    pub email: String,
    /// Present when it was generated (not given by the operator).
    pub generated_password: Option<String>,
    pub account_name: String,
}

const BOOTSTRAPPED: &str = "bootstrapped_at";

/// On the very first start: an account and its administrator.
pub async fn bootstrap(store: &Store, config: &Config) -> anyhow::Result<Option<FirstStart>> {
    let mut tx = store.begin().await?;
    if settings::get(tx.conn(), BOOTSTRAPPED).await?.is_some()
        || accounts::count_accounts(tx.conn()).await? > 0
    {
        return Ok(None);
    }
    let email = throughline_core::identity::normalize_email(
        config
            .admin_email
            .as_deref()
            .unwrap_or("admin@throughline.local"),
    )
    .map_err(|e| anyhow::anyhow!("THROUGHLINE_ADMIN_EMAIL: {e}"))?;
    let (password, generated) = match &config.admin_password {
        Some(p) if p.chars().count() >= crypto::MIN_PASSWORD_LEN => (p.clone(), false),
        Some(_) => anyhow::bail!(
            "THROUGHLINE_ADMIN_PASSWORD must be at least {} characters",
            crypto::MIN_PASSWORD_LEN
        ),
        None => (crypto::random_password(), true),
    };
    let hash = tokio::task::spawn_blocking(move || {
        crypto::hash_password(&password).map(|h| (h, password))
    })
    .await??;
    let account_name = config
        .account_name
        .clone()
        .unwrap_or_else(|| "My Company".into());
    let account = accounts::create_account(tx.conn(), &account_name, "en").await?;
    let user = accounts::create_user(
        tx.conn(),
        accounts::NewUser {
            email: email.clone(),
            name: "Administrator".into(),
            display_name: None,
            password_hash: Some(hash.0),
            custom_attributes: serde_json::json!({}),
        },
    )
    .await?;
    accounts::add_member(
        tx.conn(),
        account.id,
        user.id,
        throughline_core::role::Role::Administrator,
        None,
    )
    .await?;
    auth::issue_token(tx.conn(), store.key(), TokenOwner::User(user.id)).await?;
    settings::set(
        tx.conn(),
        BOOTSTRAPPED,
        &throughline_store::now_ms().to_string(),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(FirstStart {
        email,
        generated_password: generated.then_some(hash.1),
        account_name,
    }))
}

fn jobs_config(config: &Config) -> JobsConfig {
    JobsConfig {
        webhook_timeout: Duration::from_secs(config.webhook_timeout_secs),
        retry: RetryPolicy {
            max_attempts: config.webhook_max_attempts,
            base_delay_ms: config.webhook_retry_base_ms,
            max_delay_ms: 3_600_000,
        },
        delivery_lease_ms: config.delivery_lease_ms,
        providers: config.providers.clone(),
        media_limit: config.upload_limit_mb << 20,
        outbound: config.outbound.clone(),
        // An agent at work reads a notification in the app within ten minutes; one who does
        // not gets at most one digest every half hour.
        digest: config
            .system_mail
            .clone()
            .map(|mail| throughline_service::digest::Digest {
                mail,
                public_url: config.public_url.clone(),
                grace_ms: 10 * 60_000,
                interval_ms: 30 * 60_000,
            }),
        ..JobsConfig::default()
    }
}

/// A running Throughline: HTTP server and event consumers.
pub struct App {
    pub addr: SocketAddr,
    pub public_url: String,
    pub store: Store,
    pub bus: Bus,
    pub hub: Hub,
    pub first_start: Option<FirstStart>,
    config: Config,
    progress: Progress,
    jobs: Option<Jobs>,
    /// Attachment and raw-email bytes.
    pub blobs: Arc<LocalBlobStore>,
    /// The built-in SMTP receiver, when configured.
    pub smtp_addr: Option<SocketAddr>,
    /// Open HTTP connections (WebSockets included), in all and per client address.
    pub connections: crate::serve::ConnectionCount,
    smtp: Option<throughline_channels::email::smtp_server::SmtpServerHandle>,
    imap: Option<crate::email::ImapPollers>,
    stop_http: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
}

impl App {
    /// The notification digest as this instance runs it (none without system mail): tests
    /// drive a pass at a chosen time rather than wait for the timer.
    pub fn digest(&self) -> Option<throughline_service::digest::Digest> {
        jobs_config(&self.config).digest
    }

    /// Opens the database (migrating it), bootstraps on first start, starts the consumers and
    /// begins serving. Returns once the listener is bound.
    pub async fn start(mut config: Config) -> anyhow::Result<App> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        if !config.public_url_explicit {
            config.public_url = format!("http://{addr}");
            config.providers.public_url = config.public_url.clone();
        }
        let store = open_store(&config).await?;
        let first_start = bootstrap(&store, &config).await?;
        let bus = Bus::default();
        let progress = Progress::default();
        let blobs = Arc::new(LocalBlobStore::new(config.data_dir.join("attachments")));
        let jobs = Jobs::start(
            store.clone(),
            blobs.clone(),
            bus.clone(),
            progress.clone(),
            jobs_config(&config),
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let http = HttpConfig {
            public_url: config.public_url.clone(),
            cookie_secure: config.public_url.starts_with("https://"),
            session_ttl: Duration::from_secs(config.session_ttl_hours * 3600),
            upload_limit: config.upload_limit_mb * 1024 * 1024,
            trust_proxy: config.trust_proxy,
            public_rates: config.public_rates,
            metrics_token: config.metrics_token.clone(),
            ws_ping_interval: config.connections.ws_ping_interval,
            ws_idle_timeout: config.connections.ws_idle_timeout,
            system_mail: config.system_mail.clone(),
            ..HttpConfig::default()
        };
        let hub = Hub::start(bus.clone(), HubConfig::default());
        let (smtp_addr, smtp) =
            match crate::email::start_smtp(&config, &store, blobs.clone()).await? {
                Some((addr, handle)) => (Some(addr), Some(handle)),
                None => (None, None),
            };
        let imap = crate::email::ImapPollers::start(
            store.clone(),
            blobs.clone(),
            Duration::from_secs(config.imap_poll_secs),
        );
        let state = AppState::new(
            store.clone(),
            hub.clone(),
            progress.clone(),
            blobs.clone(),
            http,
            Clients::new(
                Duration::from_secs(config.webhook_timeout_secs),
                config.providers.clone(),
                &config.outbound,
            )
            .map_err(|e| anyhow::anyhow!(e))?,
        );
        let router = throughline_http::app(state);
        let (stop_http, mut stopped) = watch::channel(false);
        // Timeouts for slow and idle clients, connection caps: see serve.rs.
        let connections = crate::serve::ConnectionCount::default();
        let server = tokio::spawn(crate::serve::run(
            listener,
            router,
            config.connections.clone(),
            connections.clone(),
            async move {
                let _ = stopped.changed().await;
            },
        ));
        Ok(App {
            addr,
            public_url: config.public_url.clone(),
            store,
            bus,
            hub,
            first_start,
            config,
            progress,
            jobs: Some(jobs),
            blobs,
            smtp_addr,
            connections,
            smtp,
            imap: Some(imap),
            stop_http,
            server,
        })
    }

    /// Kills the event consumers where they stand, as a crash would (tests of recovery).
    pub fn crash_jobs(&mut self) {
        if let Some(jobs) = self.jobs.take() {
            jobs.abort();
        }
    }

    /// Starts the event consumers again; they resume from their durable cursors.
    pub fn restart_jobs(&mut self) -> anyhow::Result<()> {
        if self.jobs.is_none() {
            let jobs = Jobs::start(
                self.store.clone(),
                self.blobs.clone(),
                self.bus.clone(),
                self.progress.clone(),
                jobs_config(&self.config),
            )
            .map_err(|e| anyhow::anyhow!(e))?;
            self.jobs = Some(jobs);
        }
        Ok(())
    }

    /// Graceful shutdown: stop accepting, finish in-flight requests, let consumers finish their
    /// step, close the database.
    pub async fn shutdown(mut self) {
        // Open sockets would hold the graceful shutdown until its time-out: close them first.
        self.hub.close();
        let _ = self.stop_http.send(true);
        match tokio::time::timeout(Duration::from_secs(20), &mut self.server).await {
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "HTTP server stopped with an error"),
            Err(_) => tracing::warn!("in-flight requests did not finish within 20 s"),
            _ => {}
        }
        if let Some(smtp) = self.smtp.take() {
            smtp.shutdown().await;
        }
        if let Some(imap) = self.imap.take() {
            imap.stop().await;
        }
        if let Some(jobs) = self.jobs.take() {
            jobs.stop().await;
        }
        self.store.close().await;
    }
}
