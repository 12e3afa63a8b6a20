//! Serving HTTP/1.1 over TCP with the limits `axum::serve` does not have: how long a request
//! head, an idle keep-alive connection and a request body may take, and how many connections the
//! server — and one client address — may hold open.
//!
//! Each connection is driven by hyper's HTTP/1 connection beside a watchdog that knows what the
//! connection is doing:
//!
//! - **waiting** for a request: a new connection must start one within the header timeout, a
//!   kept-alive one within the idle timeout;
//! - **reading a head** (bytes arrived, no request yet): the head must be complete within the
//!   header timeout of its first byte, however slowly it trickles;
//! - **answering** (a request is with the application until its response body is sent): no
//!   connection deadline; the request body has its own (below);
//! - **upgraded** (a WebSocket): none of these apply; the realtime socket pings and closes
//!   silent clients itself.
//!
//! hyper's own `header_read_timeout` is not used: it runs from the moment hyper waits for the
//! next request, so it would also be the keep-alive idle timeout.
//!
//! A request body must bring bytes at least every body timeout, and after that first allowance
//! average the minimum rate; otherwise reading it fails, the application's answer is replaced by
//! `408` and the connection is closed.
//!
//! Connections are counted at accept, per client address (an IPv6 /64 counts as one address) and
//! in total; the total is also kept under the process's open-file limit. A connection over a cap
//! gets a minimal `503` with `Retry-After` and a one-line reason, and is closed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::Service;

use crate::config::Settings;

/// Connection timeouts and caps, resolved from the settings (`Config::connections`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request head must arrive whole within this of its first byte; a new connection must
    /// begin its first request within it too.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request in progress is closed after this.
    pub idle_timeout: Duration,
    /// A request body bringing nothing for this long is cut with 408; it is also the allowance
    /// before `body_min_rate` applies.
    pub body_timeout: Duration,
    /// Bytes per second a request body must average after `body_timeout` (0: no rate rule).
    pub body_min_rate: u64,
    /// Open connections in all (0: only the open-file limit bounds them).
    pub max_connections: usize,
    /// Open connections from one client address (0: no per-address cap).
    pub max_connections_per_ip: usize,
    /// The realtime sockets ping their client this often.
    pub ws_ping_interval: Duration,
    /// A realtime socket whose client sent nothing (no pong, no frame) for this long is closed.
    pub ws_idle_timeout: Duration,
}

pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 15;
pub const DEFAULT_BODY_MIN_RATE: u64 = 1024;
pub const DEFAULT_MAX_CONNECTIONS: usize = 20_000;
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 1_000;
pub const DEFAULT_WS_PING_INTERVAL_SECS: u64 = 30;
pub const DEFAULT_WS_IDLE_TIMEOUT_SECS: u64 = 90;

/// Seconds asked for a response after the connection is refused.
const RETRY_AFTER_SECS: u64 = 10;
/// Refusals being answered at once (each holds its socket briefly so the answer is read);
/// beyond this a refused connection is just closed.
const LINGERING_REFUSALS: usize = 64;

impl ConnectionLimits {
    pub(crate) fn resolve(s: &Settings) -> anyhow::Result<ConnectionLimits> {
        let secs =
            |v: Option<u64>, default: u64| Duration::from_secs(v.unwrap_or(default).clamp(1, 3600));
        let limits = ConnectionLimits {
            header_timeout: secs(s.http_header_timeout_secs, DEFAULT_HEADER_TIMEOUT_SECS),
            idle_timeout: secs(s.http_idle_timeout_secs, DEFAULT_IDLE_TIMEOUT_SECS),
            body_timeout: secs(s.http_body_timeout_secs, DEFAULT_BODY_TIMEOUT_SECS),
            body_min_rate: s.http_body_min_rate.unwrap_or(DEFAULT_BODY_MIN_RATE),
            max_connections: s.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            // Behind a reverse proxy every connection comes from the proxy: no per-address cap
            // unless one is asked for.
            max_connections_per_ip: s.max_connections_per_ip.unwrap_or(
                if s.trust_proxy.unwrap_or(false) {
                    0
                } else {
                    DEFAULT_MAX_CONNECTIONS_PER_IP
                },
            ),
            ws_ping_interval: secs(s.ws_ping_interval_secs, DEFAULT_WS_PING_INTERVAL_SECS),
            ws_idle_timeout: secs(s.ws_idle_timeout_secs, DEFAULT_WS_IDLE_TIMEOUT_SECS),
        };
        anyhow::ensure!(
            limits.ws_idle_timeout > limits.ws_ping_interval,
            "ws_idle_timeout_secs must be longer than ws_ping_interval_secs (a client answers \
             pings; it cannot answer one it was never sent)"
        );
        Ok(limits)
    }
}

/// How many connections are open, in all and per client address.
#[derive(Clone, Default)]
pub struct ConnectionCount(Arc<Mutex<Counts>>);

#[derive(Default)]
struct Counts {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    Total,
    Client,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::Total => "the server has too many open connections; try again shortly",
            Refusal::Client => "too many open connections from your address",
        }
    }
}

/// The address a client is counted under: IPv4 as is (also when mapped into IPv6), IPv6 by its
/// /64, which one subscriber usually holds whole.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

impl ConnectionCount {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    /// Connections open now from `ip` (counted as [`client_key`] groups them).
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.lock()
            .by_client
            .get(&client_key(ip))
            .copied()
            .unwrap_or(0)
    }

    fn admit(
        &self,
        ip: IpAddr,
        max_total: usize,
        max_per_client: usize,
    ) -> Result<Permit, Refusal> {
        let key = client_key(ip);
        let mut counts = self.lock();
        if counts.total >= max_total {
            return Err(Refusal::Total);
        }
        let mine = counts.by_client.entry(key).or_insert(0);
        if max_per_client > 0 && *mine >= max_per_client {
            return Err(Refusal::Client);
        }
        *mine += 1;
        counts.total += 1;
        Ok(Permit {
            count: self.clone(),
            key,
        })
    }
}

/// One counted connection; dropped with its socket (also after a WebSocket upgrade).
struct Permit {
    count: ConnectionCount,
    key: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.count.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_client.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.by_client.remove(&self.key);
            }
        }
    }
}

/// The open-file limit of this process (Linux), when it has one.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The connection cap actually applied: the configured one, kept under the open-file limit with
/// room for the database pool, files, the SMTP receiver and refusals being answered.
fn effective_max(configured: usize, open_files: Option<usize>) -> usize {
    let configured = if configured == 0 {
        usize::MAX
    } else {
        configured
    };
    match open_files {
        Some(n) => configured.min(n.saturating_sub(256 + n / 20).max(1)),
        None => configured,
    }
}

/// Logs refusals, at most one line a second (with how many were not logged).
#[derive(Default)]
struct RefusalLog {
    last: Mutex<Option<Instant>>,
    unlogged: AtomicU64,
}

impl RefusalLog {
    fn note(&self, ip: IpAddr, refusal: Refusal, max_total: usize, max_per_client: usize) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1)) {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        let also = self.unlogged.swap(0, Ordering::Relaxed);
        match refusal {
            Refusal::Total => tracing::warn!(
                client = %ip, max_connections = max_total, refused_since_last_line = also,
                "connection refused: the server is at its connection cap"
            ),
            Refusal::Client => tracing::warn!(
                client = %ip, max_connections_per_ip = max_per_client,
                refused_since_last_line = also,
                "connection refused: too many connections from this address"
            ),
        }
    }
}

struct Shared {
    router: Router,
    limits: ConnectionLimits,
    count: ConnectionCount,
    max_total: usize,
    refusals: RefusalLog,
    lingering: Arc<Semaphore>,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish and returns once every HTTP connection is closed (upgraded
/// WebSockets are the realtime hub's to close).
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    count: ConnectionCount,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let open_files = open_file_limit();
    let max_total = effective_max(limits.max_connections, open_files);
    if let Some(files) = open_files
        && (limits.max_connections == 0 || max_total < limits.max_connections)
    {
        tracing::info!(
            max_connections = limits.max_connections,
            open_file_limit = files,
            applied = max_total,
            "connection cap lowered to fit the open-file limit (raise it, e.g. LimitNOFILE, \
             for more)"
        );
    }
    let shared = Arc::new(Shared {
        router,
        limits,
        count,
        max_total,
        refusals: RefusalLog::default(),
        lingering: Arc::new(Semaphore::new(LINGERING_REFUSALS)),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a receiver: `closed()` is all of them gone.
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    shared.clone().accept(tcp, remote, stop_rx.clone(), open_rx.clone());
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Out of file descriptors, most likely: wait instead of spinning.
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
        }
    }
    drop(listener);
    drop(open_rx);
    let _ = stop_tx.send(true);
    open_tx.closed().await;
    Ok(())
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl Shared {
    fn accept(
        self: Arc<Self>,
        tcp: TcpStream,
        remote: SocketAddr,
        stop: watch::Receiver<bool>,
        open: watch::Receiver<()>,
    ) {
        // Without TCP_NODELAY a response written in two segments waits for the client's
        // delayed ACK: ~40 ms per request, whatever the server's own speed.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        let per_client = self.limits.max_connections_per_ip;
        match self.count.admit(remote.ip(), self.max_total, per_client) {
            Ok(permit) => {
                tokio::spawn(self.serve_connection(tcp, remote, permit, stop, open));
            }
            Err(refusal) => {
                self.refusals
                    .note(remote.ip(), refusal, self.max_total, per_client);
                let answer = refusal_answer(refusal);
                match self.lingering.clone().try_acquire_owned() {
                    Ok(slot) => {
                        tokio::spawn(refuse(tcp, answer, slot));
                    }
                    // Too many refusals in progress: a best-effort answer, then close.
                    Err(_) => {
                        let _ = tcp.try_write(answer.as_bytes());
                    }
                }
            }
        }
    }

    async fn serve_connection(
        self: Arc<Self>,
        tcp: TcpStream,
        remote: SocketAddr,
        permit: Permit,
        mut stop: watch::Receiver<bool>,
        _open: watch::Receiver<()>,
    ) {
        let watch = Arc::new(ConnWatch::new());
        let io = TokioIo::new(Watched {
            _permit: permit,
            tcp,
            watch: watch.clone(),
        });
        let service = ConnService {
            shared: self.clone(),
            remote,
            watch: watch.clone(),
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.keep_alive(true).header_read_timeout(None);
        let conn = builder.serve_connection(io, service).with_upgrades();
        let mut conn = std::pin::pin!(conn);
        let mut stopping = *stop.borrow();
        if stopping {
            conn.as_mut().graceful_shutdown();
        }
        loop {
            let deadline = watch.deadline(&self.limits);
            let expiry = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(client = %remote, error = %e, "connection ended");
                    }
                    break;
                }
                () = expiry => {
                    if let Some(why) = watch.expired(&self.limits) {
                        tracing::debug!(client = %remote, "closing the connection: {why}");
                        break;
                    }
                }
                () = watch.changed.notified() => {}
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
        // Upgraded or closed: reads no longer concern the watchdog.
        watch.live.store(false, Ordering::Relaxed);
    }
}

fn refusal_answer(refusal: Refusal) -> String {
    let body = format!("{}\n", refusal.reason());
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         retry-after: {RETRY_AFTER_SECS}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Answers a refused connection and closes it. What the client sent is read and dropped for a
/// moment after the answer: closing a socket with unread data resets it, and the client could
/// lose the answer.
async fn refuse(mut tcp: TcpStream, answer: String, _slot: OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async move {
        tcp.write_all(answer.as_bytes()).await?;
        tcp.shutdown().await?;
        let mut sink = [0u8; 1024];
        while tcp.read(&mut sink).await? > 0 {}
        Ok::<_, io::Error>(())
    })
    .await;
}

/// What a connection is doing, for its watchdog.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for a request, none of which has arrived; `fresh`: no request yet on this
    /// connection.
    Waiting { since: Instant, fresh: bool },
    /// Part of a request head has arrived.
    Head { since: Instant },
    /// Requests with the application or their responses being sent.
    Answering { requests: usize },
}

struct ConnWatch {
    phase: Mutex<Phase>,
    changed: Notify,
    /// False once the connection task is over (closed, or upgraded to a WebSocket).
    live: AtomicBool,
}

impl ConnWatch {
    fn new() -> ConnWatch {
        ConnWatch {
            phase: Mutex::new(Phase::Waiting {
                since: Instant::now(),
                fresh: true,
            }),
            changed: Notify::new(),
            live: AtomicBool::new(true),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        match *self.phase() {
            Phase::Waiting { since, fresh: true } | Phase::Head { since } => {
                Some(since + limits.header_timeout)
            }
            Phase::Waiting {
                since,
                fresh: false,
            } => Some(since + limits.idle_timeout),
            Phase::Answering { .. } => None,
        }
    }

    /// Why the connection should close now, if it should.
    fn expired(&self, limits: &ConnectionLimits) -> Option<&'static str> {
        let due = self.deadline(limits)?;
        if Instant::now() < due {
            return None;
        }
        Some(match *self.phase() {
            Phase::Waiting { fresh: true, .. } => "no request within the header timeout",
            Phase::Waiting { fresh: false, .. } => "idle keep-alive connection",
            _ => "request head not complete within the header timeout",
        })
    }

    /// Bytes arrived from the client.
    fn received(&self) {
        if !self.live.load(Ordering::Relaxed) {
            return;
        }
        let mut phase = self.phase();
        if let Phase::Waiting { .. } = *phase {
            *phase = Phase::Head {
                since: Instant::now(),
            };
            drop(phase);
            self.changed.notify_one();
        }
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Answering { requests } => Phase::Answering {
                requests: requests + 1,
            },
            _ => Phase::Answering { requests: 1 },
        };
        InFlight(self.clone())
    }
}

/// A request until its response body is sent (or dropped).
struct InFlight(Arc<ConnWatch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        if let Phase::Answering { requests } = *phase {
            *phase = if requests > 1 {
                Phase::Answering {
                    requests: requests - 1,
                }
            } else {
                Phase::Waiting {
                    since: Instant::now(),
                    fresh: false,
                }
            };
        }
        drop(phase);
        self.0.changed.notify_one();
    }
}

/// The client's socket, telling the watchdog when bytes arrive; holds the connection's place in
/// the count for as long as the socket lives.
struct Watched {
    // First, so it is released before the socket closes: a client that saw the close can
    // connect again.
    _permit: Permit,
    tcp: TcpStream,
    watch: Arc<ConnWatch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.watch.received();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// The application, per connection: the client's address as `ConnectInfo`, request bodies
/// paced, responses tracked until sent.
#[derive(Clone)]
struct ConnService {
    shared: Arc<Shared>,
    remote: SocketAddr,
    watch: Arc<ConnWatch>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Tracked>, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let in_flight = self.watch.request_started();
        let timed_out = Arc::new(AtomicBool::new(false));
        let limits = &self.shared.limits;
        let mut req = req.map(|body| Paced {
            inner: body,
            timeout: limits.body_timeout,
            min_rate: limits.body_min_rate,
            clock: None,
            sleep: None,
            timed_out: timed_out.clone(),
        });
        req.extensions_mut().insert(ConnectInfo(self.remote));
        let mut router = self.shared.router.clone();
        Box::pin(async move {
            let response = match router.call(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let response = if timed_out.load(Ordering::Relaxed) {
                body_timed_out()
            } else {
                response
            };
            Ok(response.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

fn body_timed_out() -> Response<Body> {
    let mut response = Response::new(Body::from(
        r#"{"error":"request_timeout","message":"the request body did not arrive in time"}"#,
    ));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A response body; the request counts as in progress until it is sent or dropped.
pub struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that must keep coming: some bytes every `timeout`, and after the first
/// `timeout` an average of `min_rate` bytes per second. Its clock starts when the application
/// first reads it.
struct Paced {
    inner: Incoming,
    timeout: Duration,
    min_rate: u64,
    clock: Option<Clock>,
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

#[derive(Clone, Copy)]
struct Clock {
    started: Instant,
    last_progress: Instant,
    received: u64,
}

impl Clock {
    fn deadline(&self, timeout: Duration, min_rate: u64) -> Instant {
        let stalled = self.last_progress + timeout;
        if min_rate == 0 {
            return stalled;
        }
        let earned = Duration::from_millis(self.received.saturating_mul(1000) / min_rate);
        stalled.min(self.started + timeout + earned)
    }
}

#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

impl HttpBody for Paced {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.timed_out.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        let now = Instant::now();
        let clock = this.clock.get_or_insert(Clock {
            started: now,
            last_progress: now,
            received: 0,
        });
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && !data.is_empty()
                {
                    clock.received = clock.received.saturating_add(data.len() as u64);
                    clock.last_progress = now;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let due = clock.deadline(this.timeout, this.min_rate);
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                if sleep.deadline() != due {
                    sleep.as_mut().reset(due);
                }
                if now >= due || sleep.as_mut().poll(cx).is_ready() {
                    this.timed_out.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_cap_stays_under_the_open_file_limit() {
        assert_eq!(effective_max(20_000, None), 20_000);
        assert_eq!(effective_max(20_000, Some(1_000_000)), 20_000);
        // 20 000 files: 256 + 1 000 kept for everything else.
        assert_eq!(effective_max(20_000, Some(20_000)), 18_744);
        assert_eq!(effective_max(0, Some(1024)), 1024 - 256 - 51);
        assert_eq!(effective_max(0, None), usize::MAX);
    }

    #[test]
    fn counts_per_client_and_in_all_and_releases_on_drop() {
        let count = ConnectionCount::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = count.admit(a, 3, 2).unwrap();
        let _second = count.admit(a, 3, 2).unwrap();
        assert!(matches!(count.admit(a, 3, 2), Err(Refusal::Client)));
        let _third = count.admit(b, 3, 2).unwrap();
        assert!(matches!(count.admit(b, 3, 2), Err(Refusal::Total)));
        assert_eq!((count.open(), count.open_from(a)), (3, 2));
        drop(first);
        assert_eq!((count.open(), count.open_from(a)), (2, 1));
        assert!(count.admit(a, 3, 2).is_ok());
    }

    #[test]
    fn a_body_earns_time_by_its_bytes_but_never_past_a_stall() {
        let t0 = Instant::now();
        let timeout = Duration::from_secs(15);
        let fresh = Clock {
            started: t0,
            last_progress: t0,
            received: 0,
        };
        assert_eq!(fresh.deadline(timeout, 1024), t0 + timeout);
        // A trickle: a few bytes earn milliseconds.
        let trickle = Clock {
            last_progress: t0 + Duration::from_secs(14),
            received: 7,
            ..fresh
        };
        assert_eq!(
            trickle.deadline(timeout, 1024),
            t0 + timeout + Duration::from_millis(6)
        );
        // A fast start earns long, but a stall is still cut after `timeout`.
        let stalled = Clock {
            last_progress: t0 + Duration::from_secs(1),
            received: 10 << 20,
            ..fresh
        };
        assert_eq!(
            stalled.deadline(timeout, 1024),
            t0 + Duration::from_secs(16)
        );
        assert_eq!(stalled.deadline(timeout, 0), t0 + Duration::from_secs(16));
    }

    #[test]
    fn settings_resolve_with_documented_defaults_and_checks() {
        let d = ConnectionLimits::resolve(&Settings::default()).unwrap();
        assert_eq!(d.header_timeout, Duration::from_secs(10));
        assert_eq!(d.idle_timeout, Duration::from_secs(60));
        assert_eq!(d.body_timeout, Duration::from_secs(15));
        assert_eq!(d.body_min_rate, 1024);
        assert_eq!(
            (d.max_connections, d.max_connections_per_ip),
            (20_000, 1_000)
        );
        assert_eq!(d.ws_ping_interval, Duration::from_secs(30));
        assert_eq!(d.ws_idle_timeout, Duration::from_secs(90));
        // Behind a proxy every connection has the proxy's address.
        let proxied = Settings {
            trust_proxy: Some(true),
            ..Default::default()
        };
        assert_eq!(
            ConnectionLimits::resolve(&proxied)
                .unwrap()
                .max_connections_per_ip,
            0
        );
        let asked = Settings {
            trust_proxy: Some(true),
            max_connections_per_ip: Some(50),
            ..Default::default()
        };
        assert_eq!(
            ConnectionLimits::resolve(&asked)
                .unwrap()
                .max_connections_per_ip,
            50
        );
        let never_pinged = Settings {
            ws_ping_interval_secs: Some(60),
            ws_idle_timeout_secs: Some(60),
            ..Default::default()
        };
        assert!(ConnectionLimits::resolve(&never_pinged).is_err());
    }

    #[test]
    fn the_refusal_is_a_complete_http_answer() {
        let answer = refusal_answer(Refusal::Client);
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains("retry-after: 10"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(body, "too many open connections from your address\n");
    }
}
