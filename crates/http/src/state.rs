//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use throughline_realtime::{Bus, Hub, Progress};
use throughline_store::Store;
use throughline_store::blob::BlobStore;

use crate::ratelimit::{PublicLimits, PublicRates};
use crate::throttle::LoginThrottle;

#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The URL people and providers reach this server at (links, cookies, CSRF checks).
    pub public_url: String,
    /// Send the session cookie with `Secure` (on whenever `public_url` is https).
    pub cookie_secure: bool,
    pub session_ttl: Duration,
    /// Largest JSON body accepted.
    pub json_limit: usize,
    /// Largest upload (attachments).
    pub upload_limit: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy: bool,
    /// Rate limits of the Client API (the website widget's endpoints).
    pub public_rates: PublicRates,
    /// The realtime sockets ping their client this often…
    pub ws_ping_interval: Duration,
    /// …and close one that sent nothing (no pong, no frame) for this long.
    pub ws_idle_timeout: Duration,
    /// The bearer token `/metrics` asks for; without one it answers loopback callers only.
    pub metrics_token: Option<String>,
    /// The relay for invitations and password resets; without one, administrators are shown
    /// the invitation links to pass on themselves.
    pub system_mail: Option<throughline_service::system_mail::SystemMail>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:3000".into(),
            cookie_secure: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            json_limit: 1024 * 1024,
            upload_limit: 40 * 1024 * 1024,
            trust_proxy: false,
            public_rates: PublicRates::default(),
            ws_ping_interval: Duration::from_secs(30),
            ws_idle_timeout: Duration::from_secs(90),
            metrics_token: None,
            system_mail: None,
        }
    }
}

pub struct Inner {
    pub store: Store,
    pub bus: Bus,
    pub hub: Hub,
    pub progress: Progress,
    pub blobs: Arc<dyn BlobStore>,
    pub config: HttpConfig,
    pub throttle: LoginThrottle,
    /// Wrong second-factor codes (sign-in's second step, disabling), counted apart from
    /// passwords: a correct password must not reset the count of wrong codes.
    pub two_factor_throttle: LoginThrottle,
    /// Password reset requests (per address and email) and spent links tried (per address).
    pub reset_throttle: LoginThrottle,
    pub public_limits: PublicLimits,
    pub origin_policies: crate::public_guard::OriginPolicies,
    /// Which portal each custom domain serves, remembered briefly.
    pub portal_domains: crate::routes::help_center::domains::PortalDomains,
    /// What channel adapters send with.
    pub clients: throughline_channels::registry::Clients,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(
        store: Store,
        hub: Hub,
        progress: Progress,
        blobs: Arc<dyn BlobStore>,
        config: HttpConfig,
        clients: throughline_channels::registry::Clients,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            bus: hub.bus().clone(),
            hub,
            progress,
            blobs,
            public_limits: PublicLimits::new(config.public_rates),
            origin_policies: Default::default(),
            portal_domains: Default::default(),
            config,
            throttle: LoginThrottle::default(),
            two_factor_throttle: LoginThrottle::default(),
            reset_throttle: LoginThrottle::default(),
            clients,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
