//! The one HTTP client everything outbound goes through (account webhooks, API inboxes'
//! callbacks, the messaging providers' APIs, files providers name), with a guard against
//! server-side request forgery: a tenant administrator (or a provider's webhook) choosing a URL
//! must not make Throughline call loopback, link-local (cloud metadata), private or otherwise
//! non-public addresses on their behalf.
//!
//! How a request goes out ([`OutboundClient`], [`Outgoing::send`]):
//!
//! ```text
//!  URL ──► allowed? (outbound_allow_private_networks, outbound_allowed_hosts, the providers'
//!          │         configured base URLs: host and port)
//!          ├─ yes ──► the trusted client (system resolver, no address check)
//!          └─ no ──► an IP literal? ── refused range ──► Refused, nothing is sent
//!                    │  public address, or a name
//!                    ▼
//!                  the checked client: its DNS resolver drops refused addresses from the
//!                  answer; hyper connects only to what the resolver returned (the addresses
//!                  are pinned: there is no second lookup between check and connect); no
//!                  address left ──► Refused, nothing is sent
//! ```
//!
//! Neither client follows redirects (a 3xx is the receiver's answer), and the checked one
//! ignores `HTTP(S)_PROXY`: a proxy would resolve the name itself, past our check.

use std::collections::HashSet;
use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::Serialize;

/// The instance's settings (`outbound_allow_private_networks`, `outbound_allowed_hosts`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Turns the address check off: every address may be called.
    pub allow_private_networks: bool,
    /// `host` or `host:port` (`[v6]:port`) that may be called whatever they resolve to.
    pub allowed_hosts: Vec<String>,
}

impl OutboundPolicy {
    /// No address is refused (tests whose fakes run on 127.0.0.1).
    pub fn allow_all() -> Self {
        Self {
            allow_private_networks: true,
            allowed_hosts: Vec::new(),
        }
    }

    /// Checks `allowed_hosts` (configuration time): each a host or host:port.
    pub fn validate(&self) -> Result<(), String> {
        for entry in &self.allowed_hosts {
            AllowedHost::parse(entry)?;
        }
        Ok(())
    }
}

// ── Address classification ──────────────────────────────────────────────────────────────────

/// A range of addresses the guard refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    Unspecified,
    ThisNetwork,
    Loopback,
    Private,
    SharedAddressSpace,
    LinkLocal,
    IetfProtocolAssignments,
    Documentation,
    Benchmarking,
    Multicast,
    Broadcast,
    Reserved,
    UniqueLocal,
    SiteLocal,
    DiscardOnly,
    LocalUseNat64,
}

impl Range {
    fn describe(self) -> &'static str {
        match self {
            Self::Unspecified => {
                "the unspecified address (0.0.0.0, ::), which reaches this machine"
            }
            Self::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            Self::Loopback => "a loopback address (127.0.0.0/8, ::1): this machine",
            Self::Private => {
                "a private network address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)"
            }
            Self::SharedAddressSpace => "a carrier-grade NAT address (100.64.0.0/10)",
            Self::LinkLocal => {
                "a link-local address (169.254.0.0/16, fe80::/10), where cloud metadata services \
                 answer"
            }
            Self::IetfProtocolAssignments => "an IETF protocol assignment (192.0.0.0/24)",
            Self::Documentation => "a documentation address (never a real host)",
            Self::Benchmarking => "a benchmarking address (198.18.0.0/15, 2001:2::/48)",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Reserved => "a reserved address (not public unicast)",
            Self::UniqueLocal => "a unique local IPv6 address (fc00::/7), a private network",
            Self::SiteLocal => "a site-local IPv6 address (fec0::/10), a private network",
            Self::DiscardOnly => "a discard-only IPv6 address (100::/64)",
            Self::LocalUseNat64 => "a local-use NAT64 address (64:ff9b:1::/48)",
        }
    }
}

/// How an IPv6 address carries an IPv4 one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`
    Mapped,
    /// `::ffff:0:a.b.c.d` (SIIT)
    Translated,
    /// `::a.b.c.d` (deprecated)
    Compatible,
    /// `64:ff9b::a.b.c.d` (NAT64's well-known prefix)
    Nat64,
    /// `2002:AABB:CCDD::/48`
    SixToFour,
    /// `2001:0::/32`, the server and (inverted) client addresses
    Teredo,
}

impl Embedding {
    fn describe(self) -> &'static str {
        match self {
            Self::Mapped => "IPv4-mapped",
            Self::Translated => "IPv4-translated",
            Self::Compatible => "IPv4-compatible",
            Self::Nat64 => "NAT64",
            Self::SixToFour => "6to4",
            Self::Teredo => "Teredo",
        }
    }
}

/// Why an address is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub range: Range,
    /// The IPv4 address an IPv6 one carries, when that is what is refused.
    pub embedded: Option<(Embedding, Ipv4Addr)>,
}

impl Blocked {
    fn plain(range: Range) -> Self {
        Self {
            range,
            embedded: None,
        }
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded {
            Some((how, v4)) => write!(
                f,
                "an {} IPv6 form of {v4}, {}",
                how.describe(),
                self.range.describe()
            ),
            None => f.write_str(self.range.describe()),
        }
    }
}

/// `None` for a public unicast address; otherwise the range that refuses it.
pub fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(Blocked::plain),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Range> {
    let o = ip.octets();
    Some(match o {
        [0, 0, 0, 0] => Range::Unspecified,
        [0, ..] => Range::ThisNetwork,
        [10, ..] | [192, 168, ..] => Range::Private,
        [172, b, ..] if b & 0xf0 == 16 => Range::Private,
        [100, b, ..] if b & 0xc0 == 64 => Range::SharedAddressSpace,
        [127, ..] => Range::Loopback,
        [169, 254, ..] => Range::LinkLocal,
        [192, 0, 0, _] => Range::IetfProtocolAssignments,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => Range::Documentation,
        // The deprecated 6to4 relay anycast.
        [192, 88, 99, _] => Range::Reserved,
        [198, b, ..] if b & 0xfe == 18 => Range::Benchmarking,
        [255, 255, 255, 255] => Range::Broadcast,
        [a, ..] if a >= 240 => Range::Reserved,
        [a, ..] if a >= 224 => Range::Multicast,
        _ => return None,
    })
}

fn v4_from(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

fn embedded(how: Embedding, v4: Ipv4Addr) -> Option<Blocked> {
    classify_v4(v4).map(|range| Blocked {
        range,
        embedded: Some((how, v4)),
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Blocked> {
    let s = ip.segments();
    let plain = |r| Some(Blocked::plain(r));
    if ip.is_unspecified() {
        return plain(Range::Unspecified);
    }
    if ip.is_loopback() {
        return plain(Range::Loopback);
    }
    match s {
        // ::ffff:a.b.c.d — the socket connects to the IPv4 address itself.
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => embedded(Embedding::Mapped, v4_from(hi, lo)),
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => embedded(Embedding::Translated, v4_from(hi, lo)),
        // ::a.b.c.d: deprecated, never a public destination.
        [0, 0, 0, 0, 0, 0, hi, lo] => embedded(Embedding::Compatible, v4_from(hi, lo))
            .or(Some(Blocked::plain(Range::Reserved))),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => embedded(Embedding::Nat64, v4_from(hi, lo)),
        [0x64, 0xff9b, 1, ..] => plain(Range::LocalUseNat64),
        [0x100, 0, 0, 0, ..] => plain(Range::DiscardOnly),
        [0x2001, 0xdb8, ..] => plain(Range::Documentation),
        [0x3fff, b, ..] if b & 0xf000 == 0 => plain(Range::Documentation),
        [0x2001, 2, 0, ..] => plain(Range::Benchmarking),
        [0x2001, 0, server_hi, server_lo, _, _, client_hi, client_lo] => {
            embedded(Embedding::Teredo, v4_from(!client_hi, !client_lo))
                .or_else(|| embedded(Embedding::Teredo, v4_from(server_hi, server_lo)))
        }
        [0x2002, hi, lo, ..] => embedded(Embedding::SixToFour, v4_from(hi, lo)),
        [a, ..] if a & 0xfe00 == 0xfc00 => plain(Range::UniqueLocal),
        [a, ..] if a & 0xffc0 == 0xfe80 => plain(Range::LinkLocal),
        [a, ..] if a & 0xffc0 == 0xfec0 => plain(Range::SiteLocal),
        [a, ..] if a & 0xff00 == 0xff00 => plain(Range::Multicast),
        // Public unicast is 2000::/3 only.
        [a, ..] if a & 0xe000 != 0x2000 => plain(Range::Reserved),
        _ => None,
    }
}

// ── Allowed hosts ───────────────────────────────────────────────────────────────────────────

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Name(String),
    Ip(IpAddr),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct AllowedHost {
    host: HostPattern,
    /// Any port when absent.
    port: Option<u16>,
}

fn normalise_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A URL's host. The URL parser has already turned every spelling of an IPv4 address
/// (`2130706433`, `0x7f.1`, `127.1`) into dotted form and put IPv6 ones in brackets.
fn host_of(url: &Url) -> Option<HostPattern> {
    let host = url.host_str().filter(|h| !h.is_empty())?;
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| HostPattern::Ip(IpAddr::V6(ip)));
    }
    Some(match host.parse::<Ipv4Addr>() {
        Ok(ip) => HostPattern::Ip(IpAddr::V4(ip)),
        Err(_) => HostPattern::Name(normalise_name(host)),
    })
}

impl AllowedHost {
    fn parse(entry: &str) -> Result<Self, String> {
        let e = entry.trim();
        let bad = |why: &str| {
            Err(format!(
                "outbound_allowed_hosts: `{entry}` {why}; give a host or host:port, such as \
                 n8n.internal, 10.0.0.7:5678 or [fd00::7]:443"
            ))
        };
        if e.is_empty() {
            return bad("is empty");
        }
        if e.contains("://") || e.contains(['/', '@', '?', '#']) {
            return bad("is not a host");
        }
        if let Ok(sa) = e.parse::<SocketAddr>() {
            return Ok(Self {
                host: HostPattern::Ip(sa.ip()),
                port: Some(sa.port()),
            });
        }
        if let Ok(ip) = e.parse::<IpAddr>() {
            return Ok(Self {
                host: HostPattern::Ip(ip),
                port: None,
            });
        }
        if let Some(inner) = e.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return match inner.parse::<Ipv6Addr>() {
                Ok(ip) => Ok(Self {
                    host: HostPattern::Ip(IpAddr::V6(ip)),
                    port: None,
                }),
                Err(_) => bad("is not an IPv6 address"),
            };
        }
        let (name, port) = match e.rsplit_once(':') {
            Some((name, port)) => match port.parse::<u16>() {
                Ok(p) if p > 0 => (name, Some(p)),
                _ => return bad("has no valid port"),
            },
            None => (e, None),
        };
        let name = normalise_name(name);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return bad("is not a host name");
        }
        Ok(Self {
            host: HostPattern::Name(name),
            port,
        })
    }

    /// The allowance for an http(s) URL's host and port (the providers' base URLs).
    fn of_url(url: &str) -> Option<Self> {
        let url = Url::parse(url).ok()?;
        Some(Self {
            host: host_of(&url)?,
            port: url.port_or_known_default(),
        })
    }

    fn matches(&self, host: &HostPattern, port: Option<u16>) -> bool {
        &self.host == host && (self.port.is_none() || self.port == port)
    }
}

// ── The guard ───────────────────────────────────────────────────────────────────────────────

/// What the guard decided for a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// Allowed by the operator: sent without an address check.
    Trusted,
    /// Sent through the checking resolver (a name), or a public IP literal.
    Checked,
}

/// The policy in force, with the providers' configured hosts added.
#[derive(Clone, Debug)]
pub struct Guard {
    allow_private: bool,
    allowed: Vec<AllowedHost>,
}

impl Guard {
    /// `trusted_urls`: the operator's own provider base URLs; their host and port are allowed.
    pub fn new(policy: &OutboundPolicy, trusted_urls: &[&str]) -> Result<Self, String> {
        let mut allowed = policy
            .allowed_hosts
            .iter()
            .map(|e| AllowedHost::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        allowed.extend(trusted_urls.iter().filter_map(|u| AllowedHost::of_url(u)));
        Ok(Self {
            allow_private: policy.allow_private_networks,
            allowed,
        })
    }

    fn route(&self, url: &Url) -> Result<Route, Refused> {
        if self.allow_private {
            return Ok(Route::Trusted);
        }
        // No host: reqwest refuses the URL itself.
        let Some(host) = host_of(url) else {
            return Ok(Route::Checked);
        };
        let port = url.port_or_known_default();
        if self.allowed.iter().any(|a| a.matches(&host, port)) {
            return Ok(Route::Trusted);
        }
        if let HostPattern::Ip(ip) = host
            && let Some(why) = classify(ip)
        {
            return Err(Refused {
                host: url.host_str().unwrap_or_default().to_owned(),
                port,
                address: ip,
                why,
                resolved: false,
            });
        }
        Ok(Route::Checked)
    }

    /// For a URL being entered (a webhook, a callback, a bot's URL): refuses at once an IP
    /// literal in a refused range. Names are accepted: what they resolve to is checked at each
    /// send.
    pub fn check_entered(&self, url: &str) -> Result<(), Refused> {
        match Url::parse(url.trim()) {
            Ok(parsed) => self.route(&parsed).map(|_| ()),
            // Not a URL this client can send to: the caller's validation says so.
            Err(_) => Ok(()),
        }
    }
}

/// A request refused before connecting, with the reason and how an operator allows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The URL's host as written (a name, or an address in brackets for IPv6).
    pub host: String,
    pub port: Option<u16>,
    /// The address refused (the literal, or what the name resolved to).
    pub address: IpAddr,
    pub why: Blocked,
    /// The host is a name that resolved to `address`.
    pub resolved: bool,
}

impl Refused {
    /// `host:port` as `outbound_allowed_hosts` takes it.
    fn allowance(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    fn with_port(mut self, port: Option<u16>) -> Self {
        if self.port.is_none() {
            self.port = port;
        }
        self
    }

    /// How the operator allows it.
    fn advice(&self) -> String {
        format!(
            "Throughline does not call private or internal addresses for accounts; the server's \
             operator can allow this one with outbound_allowed_hosts = [\"{}\"] \
             (THROUGHLINE_OUTBOUND_ALLOWED_HOSTS) or every private network with \
             outbound_allow_private_networks = true (THROUGHLINE_OUTBOUND_ALLOW_PRIVATE_NETWORKS)",
            self.allowance()
        )
    }

    /// The refusal of a URL being entered in `field` (a 422's message).
    pub fn for_field(&self, field: &str) -> String {
        format!(
            "{field} points at {}, {}. {}",
            self.address,
            self.why,
            self.advice()
        )
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resolved {
            write!(
                f,
                "refused to connect to {}: it resolves to {}, {}",
                self.host, self.address, self.why
            )?;
        } else {
            write!(f, "refused to connect to {}: {}", self.address, self.why)?;
        }
        write!(f, ". {}", self.advice())
    }
}

impl StdError for Refused {}

/// The checked client's resolver: the system's answer without refused addresses. What it
/// returns is exactly what hyper connects to.
#[derive(Debug)]
struct CheckingResolver;

impl Resolve for CheckingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let answer: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (usable, refused) = filter_resolved(&host, answer);
            if usable.is_empty() {
                return Err(match refused {
                    Some(r) => Box::new(r) as Box<dyn StdError + Send + Sync>,
                    None => format!("{host} has no address").into(),
                });
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

/// The addresses that may be used, and the first refusal (for the error when none may).
fn filter_resolved(host: &str, answer: Vec<SocketAddr>) -> (Vec<SocketAddr>, Option<Refused>) {
    let mut refused = None;
    let mut seen = HashSet::new();
    let usable = answer
        .into_iter()
        .filter(|a| seen.insert(*a))
        .filter(|a| match classify(a.ip()) {
            None => true,
            Some(why) => {
                refused.get_or_insert(Refused {
                    host: host.to_owned(),
                    port: None,
                    address: a.ip(),
                    why,
                    resolved: true,
                });
                false
            }
        })
        .collect();
    (usable, refused)
}

// ── The client ──────────────────────────────────────────────────────────────────────────────

/// A request that could not be sent.
#[derive(Debug)]
pub enum SendError {
    /// Refused by the guard before any connection.
    Refused(Refused),
    Http(reqwest::Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(r) => r.fmt(f),
            Self::Http(e) => e.fmt(f),
        }
    }
}

impl StdError for SendError {}

/// The refusal a reqwest error carries from the checking resolver, if any.
fn refusal_in(e: &reqwest::Error) -> Option<Refused> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

/// The guarded HTTP client: same timeouts for everything, no redirects. Requests are built
/// with [`OutboundClient::get`] / [`OutboundClient::post`] and sent with [`Outgoing::send`];
/// there is no way to send one past the guard.
#[derive(Clone, Debug)]
pub struct OutboundClient {
    checked: reqwest::Client,
    trusted: reqwest::Client,
    guard: Arc<Guard>,
}

impl OutboundClient {
    /// `trusted_urls`: the operator's own provider base URLs (their host and port are allowed).
    pub fn new(
        timeout: Duration,
        policy: &OutboundPolicy,
        trusted_urls: &[&str],
    ) -> Result<Self, String> {
        crate::ensure_crypto_provider();
        let guard = Guard::new(policy, trusted_urls)?;
        let builder = || {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                // A redirect would lead somewhere no one checked: never followed.
                .redirect(reqwest::redirect::Policy::none())
        };
        let checked = builder()
            // A proxy would resolve the name itself, past the resolver's check.
            .no_proxy()
            .dns_resolver(CheckingResolver)
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        let trusted = builder()
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        Ok(Self {
            checked,
            trusted,
            guard: Arc::new(guard),
        })
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    pub fn get(&self, url: impl reqwest::IntoUrl) -> Outgoing {
        self.request(reqwest::Method::GET, url)
    }

    pub fn post(&self, url: impl reqwest::IntoUrl) -> Outgoing {
        self.request(reqwest::Method::POST, url)
    }

    pub fn request(&self, method: reqwest::Method, url: impl reqwest::IntoUrl) -> Outgoing {
        Outgoing {
            // Built on the checked client: whatever happens, names go through its resolver.
            builder: self.checked.request(method, url),
            client: self.clone(),
        }
    }
}

/// A request being built; [`Outgoing::send`] checks where it goes before connecting.
#[derive(Debug)]
pub struct Outgoing {
    builder: reqwest::RequestBuilder,
    client: OutboundClient,
}

impl Outgoing {
    fn map(self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        Self {
            builder: f(self.builder),
            client: self.client,
        }
    }

    pub fn header(self, name: &'static str, value: impl Into<String>) -> Self {
        let value: String = value.into();
        self.map(|b| b.header(name, value))
    }

    pub fn bearer_auth(self, token: impl fmt::Display) -> Self {
        self.map(|b| b.bearer_auth(token))
    }

    pub fn basic_auth(self, user: impl fmt::Display, password: Option<impl fmt::Display>) -> Self {
        self.map(|b| b.basic_auth(user, password))
    }

    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        self.map(|b| b.json(body))
    }

    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        self.map(|b| b.body(body))
    }

    /// Bounds this request alone (instead of the client's timeout).
    pub fn timeout(self, timeout: std::time::Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    pub fn multipart(self, form: reqwest::multipart::Form) -> Self {
        self.map(|b| b.multipart(form))
    }

    /// Sends the request unless the guard refuses where it goes (before any connection).
    pub async fn send(self) -> Result<reqwest::Response, SendError> {
        let request = self.builder.build().map_err(SendError::Http)?;
        let port = request.url().port_or_known_default();
        let route = self
            .client
            .guard
            .route(request.url())
            .map_err(SendError::Refused)?;
        let client = match route {
            Route::Trusted => &self.client.trusted,
            Route::Checked => &self.client.checked,
        };
        client
            .execute(request)
            .await
            .map_err(|e| match refusal_in(&e) {
                Some(r) => SendError::Refused(r.with_port(port)),
                None => SendError::Http(e),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Option<Range> {
        classify(s.parse().unwrap()).map(|b| b.range)
    }

    fn v6(s: &str) -> Option<Blocked> {
        classify(s.parse().unwrap())
    }

    #[test]
    fn ipv4_ranges() {
        let refused = [
            ("0.0.0.0", Range::Unspecified),
            ("0.1.2.3", Range::ThisNetwork),
            ("10.0.0.1", Range::Private),
            ("10.255.255.255", Range::Private),
            ("100.64.0.1", Range::SharedAddressSpace),
            ("100.127.255.254", Range::SharedAddressSpace),
            ("127.0.0.1", Range::Loopback),
            ("127.255.0.9", Range::Loopback),
            ("169.254.169.254", Range::LinkLocal),
            ("172.16.0.1", Range::Private),
            ("172.31.255.255", Range::Private),
            ("192.0.0.8", Range::IetfProtocolAssignments),
            ("192.0.0.170", Range::IetfProtocolAssignments),
            ("192.0.2.1", Range::Documentation),
            ("198.51.100.7", Range::Documentation),
            ("203.0.113.9", Range::Documentation),
            ("192.88.99.1", Range::Reserved),
            ("192.168.1.1", Range::Private),
            ("198.18.0.1", Range::Benchmarking),
            ("198.19.255.255", Range::Benchmarking),
            ("224.0.0.1", Range::Multicast),
            ("239.255.255.250", Range::Multicast),
            ("240.0.0.1", Range::Reserved),
            ("255.255.255.254", Range::Reserved),
            ("255.255.255.255", Range::Broadcast),
        ];
        for (ip, range) in refused {
            assert_eq!(v4(ip), Some(range), "{ip}");
        }
        // Neighbours of each range, and ordinary public addresses, pass.
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.0.3.0",
            "192.88.98.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.1",
            "203.0.112.1",
            "223.255.255.255",
        ] {
            assert_eq!(v4(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges() {
        let refused = [
            ("::", Range::Unspecified),
            ("::1", Range::Loopback),
            ("fe80::1", Range::LinkLocal),
            ("febf:ffff::1", Range::LinkLocal),
            ("fec0::1", Range::SiteLocal),
            ("fc00::1", Range::UniqueLocal),
            ("fd12:3456:789a::1", Range::UniqueLocal),
            ("ff02::1", Range::Multicast),
            ("ff0e::101", Range::Multicast),
            ("100::1", Range::DiscardOnly),
            ("2001:db8::1", Range::Documentation),
            ("3fff::1", Range::Documentation),
            ("3fff:fff::1", Range::Documentation),
            ("2001:2::1", Range::Benchmarking),
            ("64:ff9b:1::a00:1", Range::LocalUseNat64),
            ("::2:0:0:1", Range::Reserved),
            ("4000::1", Range::Reserved),
            ("e000::1", Range::Reserved),
        ];
        for (ip, range) in refused {
            let b = v6(ip).unwrap_or_else(|| panic!("{ip} should be refused"));
            assert_eq!(b.range, range, "{ip}");
            assert_eq!(b.embedded, None, "{ip}");
        }
        for ip in [
            "2001:4860:4860::8888",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "3ffe::1",
            "3fff:1000::1",
            "2001:db9::1",
            "2001:3::1",
        ] {
            assert_eq!(v6(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_by_the_ipv4_address() {
        let loopback = Ipv4Addr::new(127, 0, 0, 1);
        let cases = [
            (
                "::ffff:127.0.0.1",
                Embedding::Mapped,
                loopback,
                Range::Loopback,
            ),
            (
                "::ffff:169.254.169.254",
                Embedding::Mapped,
                Ipv4Addr::new(169, 254, 169, 254),
                Range::LinkLocal,
            ),
            (
                "::ffff:10.1.2.3",
                Embedding::Mapped,
                Ipv4Addr::new(10, 1, 2, 3),
                Range::Private,
            ),
            (
                "::ffff:0.0.0.0",
                Embedding::Mapped,
                Ipv4Addr::UNSPECIFIED,
                Range::Unspecified,
            ),
            (
                "::ffff:0:127.0.0.1",
                Embedding::Translated,
                loopback,
                Range::Loopback,
            ),
            (
                "::127.0.0.1",
                Embedding::Compatible,
                loopback,
                Range::Loopback,
            ),
            (
                "::192.168.0.1",
                Embedding::Compatible,
                Ipv4Addr::new(192, 168, 0, 1),
                Range::Private,
            ),
            (
                "64:ff9b::127.0.0.1",
                Embedding::Nat64,
                loopback,
                Range::Loopback,
            ),
            (
                "64:ff9b::a9fe:a9fe",
                Embedding::Nat64,
                Ipv4Addr::new(169, 254, 169, 254),
                Range::LinkLocal,
            ),
            (
                "2002:7f00:1::",
                Embedding::SixToFour,
                loopback,
                Range::Loopback,
            ),
            (
                "2002:c0a8:101::1",
                Embedding::SixToFour,
                Ipv4Addr::new(192, 168, 1, 1),
                Range::Private,
            ),
            // Teredo: the client address is stored inverted (0x80ffffe = !127.0.0.1).
            (
                "2001:0:4136:e378:8000:63bf:80ff:fffe",
                Embedding::Teredo,
                loopback,
                Range::Loopback,
            ),
            (
                "2001:0:a00:1::f7f7:f7f7",
                Embedding::Teredo,
                Ipv4Addr::new(10, 0, 0, 1),
                Range::Private,
            ),
        ];
        for (ip, how, inner, range) in cases {
            assert_eq!(
                v6(ip),
                Some(Blocked {
                    range,
                    embedded: Some((how, inner))
                }),
                "{ip}"
            );
        }
        // A public IPv4 address in these forms is as good as the IPv4 address...
        for ip in [
            "::ffff:8.8.8.8",
            "::ffff:0:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        ] {
            assert_eq!(v6(ip), None, "{ip}");
        }
        // ...except the deprecated compatible form, which nothing routes.
        assert_eq!(v6("::8.8.8.8").unwrap().range, Range::Reserved);
        let shown = v6("::ffff:127.0.0.1").unwrap().to_string();
        assert!(
            shown.contains("IPv4-mapped")
                && shown.contains("127.0.0.1")
                && shown.contains("loopback"),
            "{shown}"
        );
    }

    #[test]
    fn allowed_hosts_parse_and_bad_entries_are_named() {
        let p = |s: &str| AllowedHost::parse(s).unwrap();
        assert_eq!(
            p("N8N.Internal."),
            AllowedHost {
                host: HostPattern::Name("n8n.internal".into()),
                port: None
            }
        );
        assert_eq!(
            p("crm.lan:8443"),
            AllowedHost {
                host: HostPattern::Name("crm.lan".into()),
                port: Some(8443)
            }
        );
        assert_eq!(
            p("10.0.0.7:5678"),
            AllowedHost {
                host: HostPattern::Ip("10.0.0.7".parse().unwrap()),
                port: Some(5678)
            }
        );
        assert_eq!(p("10.0.0.7").port, None);
        assert_eq!(p("[fd00::7]:443").port, Some(443));
        assert_eq!(
            p("[fd00::7]").host,
            HostPattern::Ip("fd00::7".parse().unwrap())
        );
        assert_eq!(
            p("fd00::7").host,
            HostPattern::Ip("fd00::7".parse().unwrap())
        );
        for bad in [
            "",
            "http://x.lan",
            "x.lan/path",
            "x.lan:http",
            "x.lan:0",
            "[nope]",
            "a b",
        ] {
            let err = AllowedHost::parse(bad).unwrap_err();
            assert!(err.contains("outbound_allowed_hosts"), "{bad}: {err}");
        }
    }

    fn guard(allowed: &[&str], trusted: &[&str]) -> Guard {
        Guard::new(
            &OutboundPolicy {
                allow_private_networks: false,
                allowed_hosts: allowed.iter().map(|s| (*s).to_owned()).collect(),
            },
            trusted,
        )
        .unwrap()
    }

    fn route(g: &Guard, url: &str) -> Result<Route, Refused> {
        g.route(&Url::parse(url).unwrap())
    }

    #[test]
    fn literals_are_refused_names_go_to_the_checking_resolver() {
        let g = guard(&[], &[]);
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "https://0.0.0.0/",
            // Other spellings of 127.0.0.1 that the URL parser normalises.
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[64:ff9b::7f00:1]/",
        ] {
            assert!(route(&g, url).is_err(), "{url}");
        }
        assert_eq!(route(&g, "https://8.8.8.8/"), Ok(Route::Checked));
        assert_eq!(route(&g, "http://localhost:8080/"), Ok(Route::Checked));
        assert_eq!(route(&g, "https://hooks.example.com/"), Ok(Route::Checked));

        let r = route(&g, "http://127.0.0.1:8080/hook").unwrap_err();
        let shown = r.to_string();
        assert!(shown.contains("127.0.0.1"), "{shown}");
        assert!(shown.contains("loopback"), "{shown}");
        assert!(
            shown.contains("outbound_allowed_hosts = [\"127.0.0.1:8080\"]"),
            "{shown}"
        );
        assert!(shown.contains("outbound_allow_private_networks"), "{shown}");
        let v6 = route(&g, "http://[::1]/").unwrap_err().to_string();
        assert!(v6.contains("[\"[::1]:80\"]"), "{v6}");
    }

    #[test]
    fn allowed_hosts_and_provider_bases_are_trusted_on_their_port_only() {
        let g = guard(
            &["127.0.0.1:9000", "n8n.lan", "crm.lan:8443", "[fd00::5]"],
            &["http://127.0.0.1:7000/v22.0", "https://api.twilio.com"],
        );
        assert_eq!(route(&g, "http://127.0.0.1:9000/x"), Ok(Route::Trusted));
        assert!(route(&g, "http://127.0.0.1:9001/x").is_err());
        assert_eq!(route(&g, "http://127.0.0.1:7000/me"), Ok(Route::Trusted));
        assert!(route(&g, "http://127.0.0.1:7001/me").is_err());
        assert_eq!(
            route(&g, "https://api.twilio.com/2010-04-01/x"),
            Ok(Route::Trusted)
        );
        assert_eq!(route(&g, "http://api.twilio.com/x"), Ok(Route::Checked));
        assert_eq!(route(&g, "http://N8N.lan:5678/webhook"), Ok(Route::Trusted));
        assert_eq!(route(&g, "https://crm.lan:8443/"), Ok(Route::Trusted));
        assert_eq!(route(&g, "https://crm.lan/"), Ok(Route::Checked));
        assert_eq!(route(&g, "http://[fd00::5]:81/"), Ok(Route::Trusted));
        assert!(route(&g, "http://[fd00::6]/").is_err());

        let open = Guard::new(&OutboundPolicy::allow_all(), &[]).unwrap();
        assert_eq!(route(&open, "http://169.254.169.254/"), Ok(Route::Trusted));
        assert!(open.check_entered("http://[::1]:3000/").is_ok());
        assert!(g.check_entered("http://[::1]:3000/").is_err());
        assert!(g.check_entered("http://localhost:3000/").is_ok());
        assert!(g.check_entered("not a url").is_ok());
    }

    #[test]
    fn resolved_answers_keep_only_public_addresses() {
        let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
        let (usable, refused) = filter_resolved(
            "mixed.example",
            vec![sa("10.0.0.1:0"), sa("93.184.215.14:0"), sa("[::1]:0")],
        );
        assert_eq!(usable, vec![sa("93.184.215.14:0")]);
        assert_eq!(
            refused.unwrap().address,
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        let (usable, refused) =
            filter_resolved("localhost", vec![sa("127.0.0.1:0"), sa("[::1]:0")]);
        assert!(usable.is_empty());
        let shown = refused.unwrap().with_port(Some(8080)).to_string();
        assert!(
            shown.contains("localhost: it resolves to 127.0.0.1, a loopback address"),
            "{shown}"
        );
        assert!(shown.contains("[\"localhost:8080\"]"), "{shown}");
    }

    fn strict() -> OutboundClient {
        OutboundClient::new(Duration::from_secs(5), &OutboundPolicy::default(), &[]).unwrap()
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_before_connecting() {
        let server =
            crate::test_server::ScriptedServer::start(|_, _| (200, "text/plain", b"ok".to_vec()))
                .await;
        let port = server.url.rsplit(':').next().unwrap().to_owned();
        let err = strict()
            .get(format!("http://localhost:{port}/secret"))
            .send()
            .await
            .unwrap_err();
        let SendError::Refused(r) = err else {
            panic!("expected a refusal, got {err}");
        };
        assert!(r.resolved);
        assert_eq!(r.port, Some(port.parse().unwrap()));
        assert!(r.to_string().contains("loopback"), "{r}");
        let err = strict()
            .get(format!("{}/secret", server.url))
            .send()
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Refused(_)), "{err}");
        assert!(server.seen().is_empty(), "nothing reached the server");

        // The same server, allowed by name and port, is reached.
        let allowed = OutboundClient::new(
            Duration::from_secs(5),
            &OutboundPolicy {
                allow_private_networks: false,
                allowed_hosts: vec![format!("localhost:{port}")],
            },
            &[],
        )
        .unwrap();
        let answer = allowed
            .get(format!("http://localhost:{port}/fine"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(server.seen().len(), 1);
    }

    #[tokio::test]
    async fn a_provider_named_file_on_a_private_address_is_not_fetched() {
        use crate::ChannelAdapter;
        use throughline_core::messaging::WhatsappCloudSettings;
        // Meta's Graph API (the operator's configured base, trusted) names a file on another
        // local server, as a hostile or confused answer would.
        let files = crate::test_server::ScriptedServer::start(|_, _| {
            (200, "image/png", b"internal".to_vec())
        })
        .await;
        let file_url = format!("{}/internal.png", files.url);
        let graph = crate::test_server::ScriptedServer::start(move |_, _| {
            crate::test_server::json_reply(
                200,
                &serde_json::json!({"url": file_url, "mime_type": "image/png"}),
            )
        })
        .await;
        let endpoints = crate::registry::ProviderEndpoints {
            meta_graph: graph.url.clone(),
            ..Default::default()
        };
        let http = OutboundClient::new(
            Duration::from_secs(5),
            &OutboundPolicy::default(),
            &[endpoints.meta_graph.as_str()],
        )
        .unwrap();
        let adapter = crate::whatsapp::WhatsappAdapter::new(
            WhatsappCloudSettings {
                phone_number: "+5511999990000".into(),
                phone_number_id: "1".into(),
                business_account_id: "2".into(),
                api_key: "k".into(),
                webhook_verify_token: "v".into(),
                app_secret: None,
                templates: Vec::new(),
                templates_synced_at: None,
            },
            http,
            &endpoints,
        );
        let err = adapter
            .fetch_media(
                &crate::MediaRef {
                    handle: "media-1".into(),
                    content_type: None,
                    file_name: None,
                },
                1 << 20,
            )
            .await
            .unwrap_err();
        assert_eq!(graph.seen().len(), 1, "the provider's API was asked");
        assert!(
            files.seen().is_empty(),
            "the named file was never requested"
        );
        assert!(err.contains("refused to connect to 127.0.0.1"), "{err}");
    }
}
