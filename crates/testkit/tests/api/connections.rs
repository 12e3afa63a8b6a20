//! Slow, idle and too many clients, over raw sockets: a request head or body that trickles is
//! cut while other clients are served, an idle keep-alive connection is closed, connections over
//! a cap (per address, in all) are refused with 503 + Retry-After and admitted again once
//! others close, and a realtime socket that never answers the server's pings is closed while one
//! that answers stays open.
//!
//! Closing is asserted to happen (the socket reads EOF or is reset) within a generous bound
//! derived from the configured timeout, never how fast.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::thread;

on_both_databases!(
    slow_request_heads_are_closed_while_others_are_served,
    idle_keep_alive_connections_are_closed,
    a_trickled_or_stalled_body_gets_408_and_nothing_is_stored,
    one_address_over_its_cap_is_refused_while_others_are_served,
    the_total_cap_refuses_every_address_then_admits_again,
    a_websocket_that_never_answers_pings_is_closed,
);

/// Bound on anything that should simply happen (an answer, a frame).
const WAIT: Duration = Duration::from_secs(15);
/// Added to a configured timeout to bound when its closing must have happened.
const SLACK: Duration = Duration::from_secs(10);

/// A TCP connection to the server from the loopback address `from` (127.0.0.0/8 is all local
/// on Linux: each test's clients get their own address, apart from the harness's 127.0.0.1).
async fn connect_from(t: &TestApp, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket.connect(t.app.addr).await.unwrap()
}

/// A parsed HTTP/1.1 answer.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// Reads one answer (head + `content-length` body) from a kept-alive connection.
async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut buf = Vec::new();
    let read = async {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed before a whole answer: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed in the middle of an answer");
            buf.extend_from_slice(&chunk[..n]);
        }
        let status = head[9..12].parse().unwrap();
        Answer {
            status,
            body: buf[head_end..head_end + length].to_vec(),
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("no answer in time")
}

/// A GET on a kept-alive connection.
async fn get(stream: &mut TcpStream, path: &str) -> Answer {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    read_answer(stream).await
}

/// Reads until the server closes the connection (EOF or reset), within `bound`; returns what
/// was received.
async fn closed_within(stream: &mut TcpStream, bound: Duration, what: &str) -> Vec<u8> {
    let mut received = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    };
    if tokio::time::timeout(bound, read).await.is_err() {
        panic!("{what}: still open after {bound:?}");
    }
    received
}

/// Writes `bytes` one at a time, `every` apart, reporting each byte written; stops when the
/// server has closed (a write fails).
fn trickle(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    bytes: Vec<u8>,
    every: Duration,
) -> (tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<usize>) {
    let (sent_tx, sent_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        for (i, b) in bytes.into_iter().enumerate() {
            if writer.write_all(&[b]).await.is_err() {
                return;
            }
            let _ = sent_tx.send(i + 1);
            tokio::time::sleep(every).await;
        }
        // Then silence, the connection held open.
        std::future::pending::<()>().await;
    });
    (task, sent_rx)
}

async fn slow_request_heads_are_closed_while_others_are_served(b: Backend) {
    let header = Duration::from_secs(1);
    let t = TestApp::start_with(b, |s| {
        s.http_header_timeout_secs = Some(1);
        // Far above the bound below: only the header timeout can close these.
        s.http_idle_timeout_secs = Some(600);
    })
    .await;

    // One byte of a request head every 200 ms, forever.
    let slow = connect_from(&t, "127.0.0.2").await;
    let (mut slow_reader, slow_writer) = slow.into_split();
    let head = b"GET /healthz HTTP/1.1\r\nhost: test\r\nx-padding: "
        .iter()
        .copied()
        .chain(std::iter::repeat(b'a'))
        .take(10_000)
        .collect();
    let (writer, mut sent) = trickle(slow_writer, head, Duration::from_millis(200));
    // A connection that never says anything.
    let mut silent = connect_from(&t, "127.0.0.2").await;

    // While the slow head is under way, another client is served.
    for _ in 0..3 {
        sent.recv().await.expect("the slow client wrote");
    }
    let mut other = connect_from(&t, "127.0.0.3").await;
    let answer = get(&mut other, "/healthz").await;
    assert_eq!(answer.status, 200);
    let health: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(health["status"], "ok");

    let mut received = Vec::new();
    let read = async {
        let mut chunk = [0u8; 1024];
        loop {
            match slow_reader.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(header + SLACK, read)
        .await
        .expect("a request head trickling byte by byte is still open");
    assert!(
        !received.starts_with(b"HTTP/1.1 200"),
        "the slow request was served"
    );
    writer.abort();
    let said = closed_within(&mut silent, header + SLACK, "a silent new connection").await;
    assert!(said.is_empty(), "{}", String::from_utf8_lossy(&said));

    // The server still serves, on a kept connection and a new one.
    assert_eq!(get(&mut other, "/readyz").await.status, 200);
    let mut fresh = connect_from(&t, "127.0.0.2").await;
    assert_eq!(get(&mut fresh, "/healthz").await.status, 200);
}

async fn idle_keep_alive_connections_are_closed(b: Backend) {
    let idle = Duration::from_secs(1);
    let t = TestApp::start_with(b, |s| {
        s.http_idle_timeout_secs = Some(1);
        // Far above the bound below: only the idle timeout can close this.
        s.http_header_timeout_secs = Some(600);
    })
    .await;
    let mut conn = connect_from(&t, "127.0.0.2").await;
    // Kept alive between requests…
    assert_eq!(get(&mut conn, "/healthz").await.status, 200);
    assert_eq!(get(&mut conn, "/readyz").await.status, 200);
    // …and closed once idle, without a word.
    let said = closed_within(&mut conn, idle + SLACK, "an idle keep-alive connection").await;
    assert!(said.is_empty(), "{}", String::from_utf8_lossy(&said));
    let ip = "127.0.0.2".parse().unwrap();
    t.eventually(WAIT, "the closed connection to be let go", || async {
        (t.app.connections.open_from(ip) == 0).then_some(())
    })
    .await;
}

async fn a_trickled_or_stalled_body_gets_408_and_nothing_is_stored(b: Backend) {
    let body_timeout = Duration::from_secs(1);
    let t = TestApp::start_with(b, |s| {
        s.http_body_timeout_secs = Some(1);
        s.http_body_min_rate = Some(1024);
        s.http_idle_timeout_secs = Some(600);
        s.http_header_timeout_secs = Some(600);
    })
    .await;
    let inbox = t.api_inbox("Site", None).await;
    let th = thread(&t, &inbox, "first").await;
    let path = format!(
        "/public/api/v1/inboxes/{}/contacts/{}/conversations/{}/messages",
        inbox["inbox_identifier"].as_str().unwrap(),
        th.source_id,
        th.conversation_id
    );
    let post_head = |len: usize| {
        format!(
            "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
             content-length: {len}\r\n\r\n"
        )
    };

    // The same request sent whole is stored: the refusals below are the pace's doing.
    let whole = json!({"content": "sent whole"}).to_string();
    let mut conn = connect_from(&t, "127.0.0.2").await;
    conn.write_all(format!("{}{whole}", post_head(whole.len())).as_bytes())
        .await
        .unwrap();
    let answer = read_answer(&mut conn).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );

    // A body one byte every 300 ms: far below 1 KiB/s.
    let trickled = json!({"content": "trickled body"}).to_string();
    let mut conn = connect_from(&t, "127.0.0.2").await;
    conn.write_all(post_head(trickled.len()).as_bytes())
        .await
        .unwrap();
    let (mut reader, writer) = conn.into_split();
    let (trickler, _sent) = trickle(
        writer,
        trickled.as_bytes().to_vec(),
        Duration::from_millis(300),
    );
    let mut received = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(body_timeout + SLACK, read)
        .await
        .expect("a trickled body is still being read");
    trickler.abort();
    let text = String::from_utf8_lossy(&received).to_string();
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(text.contains("request_timeout"), "{text}");

    // Half a body, then nothing.
    let stalled = json!({"content": "stalled body"}).to_string();
    let mut conn = connect_from(&t, "127.0.0.2").await;
    let half = stalled.len() / 2;
    conn.write_all(format!("{}{}", post_head(stalled.len()), &stalled[..half]).as_bytes())
        .await
        .unwrap();
    let got = closed_within(&mut conn, body_timeout + SLACK, "a stalled body").await;
    let text = String::from_utf8_lossy(&got).to_string();
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");

    // Only the whole one was stored.
    let messages = t
        .get(&t.acc(&format!("/conversations/{}/messages", th.conversation_id)))
        .await["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>();
    assert!(messages.contains(&"sent whole".to_owned()), "{messages:?}");
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("trickled") || m.contains("stalled")),
        "{messages:?}"
    );
}

async fn one_address_over_its_cap_is_refused_while_others_are_served(b: Backend) {
    let t = TestApp::start_with(b, |s| {
        s.max_connections_per_ip = Some(3);
        s.http_idle_timeout_secs = Some(600);
    })
    .await;
    let crowd = "127.0.0.2";
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = connect_from(&t, crowd).await;
        assert_eq!(get(&mut conn, "/healthz").await.status, 200);
        held.push(conn);
    }

    // The fourth from that address: a 503 with Retry-After and a reason, then closed.
    let mut fourth = connect_from(&t, crowd).await;
    let refusal = closed_within(&mut fourth, WAIT, "a refused connection").await;
    let text = String::from_utf8_lossy(&refusal).to_lowercase();
    assert!(text.starts_with("http/1.1 503 "), "{text}");
    assert!(text.contains("\r\nretry-after: "), "{text}");
    assert!(
        text.ends_with("\r\n\r\ntoo many open connections from your address\n"),
        "{text}"
    );

    // The first three are still served, and so is everyone else: health checks from another
    // address (the harness's own client) and a new client.
    assert_eq!(get(&mut held[0], "/readyz").await.status, 200);
    assert_eq!(t.raw_get("/healthz").await.0, 200);
    assert_eq!(t.raw_get("/readyz").await.0, 200);
    let mut neighbour = connect_from(&t, "127.0.0.3").await;
    assert_eq!(get(&mut neighbour, "/healthz").await.status, 200);

    // Once one of the three closes, the address may connect again.
    drop(held.pop());
    let ip = crowd.parse().unwrap();
    t.eventually(WAIT, "the closed connection to be let go", || async {
        (t.app.connections.open_from(ip) < 3).then_some(())
    })
    .await;
    let mut again = connect_from(&t, crowd).await;
    assert_eq!(get(&mut again, "/healthz").await.status, 200);
}

async fn the_total_cap_refuses_every_address_then_admits_again(b: Backend) {
    const CAP: usize = 4;
    let t = TestApp::start_with(b, |s| {
        s.max_connections = Some(CAP);
        s.http_idle_timeout_secs = Some(600);
    })
    .await;
    // The harness's own client may keep a connection from signing in.
    let before = t.app.connections.open();
    assert!(before < CAP, "{before} connections open already");
    let mut held = Vec::new();
    for i in 0..CAP - before {
        // From different addresses: the cap is on all of them together.
        let mut conn = connect_from(&t, &format!("127.0.1.{}", i + 1)).await;
        assert_eq!(get(&mut conn, "/healthz").await.status, 200);
        held.push(conn);
    }
    let mut late = connect_from(&t, "127.0.2.1").await;
    let refusal = closed_within(&mut late, WAIT, "a connection over the total cap").await;
    let text = String::from_utf8_lossy(&refusal).to_lowercase();
    assert!(text.starts_with("http/1.1 503 "), "{text}");
    assert!(text.contains("\r\nretry-after: "), "{text}");
    assert!(text.contains("too many open connections"), "{text}");
    // Those in are still served.
    assert_eq!(get(&mut held[0], "/healthz").await.status, 200);

    drop(held.pop());
    t.eventually(WAIT, "the closed connection to be let go", || async {
        (t.app.connections.open() < CAP).then_some(())
    })
    .await;
    let mut admitted = connect_from(&t, "127.0.2.1").await;
    assert_eq!(get(&mut admitted, "/readyz").await.status, 200);
}

/// The server's frames as (opcode, payload); the handshake's head is skipped.
fn parse_frames(buf: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut rest = buf;
    while rest.len() >= 2 {
        let opcode = rest[0] & 0x0f;
        assert_eq!(rest[1] & 0x80, 0, "server frames are not masked");
        let (len, header) = match rest[1] & 0x7f {
            126 if rest.len() >= 4 => (u16::from_be_bytes([rest[2], rest[3]]) as usize, 4),
            127 if rest.len() >= 10 => (
                u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
                10,
            ),
            126 | 127 => break,
            n => (n as usize, 2),
        };
        if rest.len() < header + len {
            break;
        }
        frames.push((opcode, rest[header..header + len].to_vec()));
        rest = &rest[header + len..];
    }
    frames
}

async fn a_websocket_that_never_answers_pings_is_closed(b: Backend) {
    let ws_idle = Duration::from_secs(3);
    let t = TestApp::start_with(b, |s| {
        s.ws_ping_interval_secs = Some(1);
        s.ws_idle_timeout_secs = Some(3);
        // The HTTP timeouts, far shorter, must not touch upgraded connections.
        s.http_header_timeout_secs = Some(1);
        s.http_idle_timeout_secs = Some(1);
    })
    .await;
    let inbox = t.api_inbox("Site", None).await;
    let th = thread(&t, &inbox, "first").await;
    let ident = inbox["inbox_identifier"].as_str().unwrap();

    // A visitor whose client answers pings (tungstenite does while it reads), opened first.
    let url = t.ws_url(&format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}/realtime",
        th.source_id
    ));
    let (polite, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (mut polite_tx, mut polite_rx) = polite.split();
    let (frames_tx, mut frames) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = polite_rx.next().await {
            if frames_tx.send(message).is_err() {
                return;
            }
        }
    });
    let first = tokio::time::timeout(WAIT, frames.recv()).await.unwrap();
    assert!(
        matches!(&first, Some(Message::Text(t)) if t.as_str().contains("\"ready\"")),
        "{first:?}"
    );

    // An agent whose client never answers: the handshake by hand, then only reading.
    let mut rude = connect_from(&t, "127.0.0.2").await;
    rude.write_all(
        format!(
            "GET /api/v1/realtime HTTP/1.1\r\nhost: test\r\nupgrade: websocket\r\n\
             connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             sec-websocket-version: 13\r\napi_access_token: {}\r\n\r\n",
            t.token
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let received = closed_within(&mut rude, ws_idle + SLACK, "a socket that never pongs").await;
    let head_end = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a handshake answer")
        + 4;
    let head = String::from_utf8_lossy(&received[..head_end]).to_string();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let frames_seen = parse_frames(&received[head_end..]);
    let opcodes: Vec<u8> = frames_seen.iter().map(|f| f.0).collect();
    assert_eq!(opcodes.first(), Some(&0x1), "the ready frame: {opcodes:?}");
    assert!(opcodes.contains(&0x9), "the server pinged: {opcodes:?}");
    let (_, close) = frames_seen
        .iter()
        .find(|f| f.0 == 0x8)
        .unwrap_or_else(|| panic!("a close frame: {opcodes:?}"));
    assert_eq!(&close[..2], &1001u16.to_be_bytes());
    assert_eq!(&close[2..], b"idle");

    // The visitor, open longer than that silence and the HTTP timeouts, is still served: it was
    // pinged and its pongs kept it.
    polite_tx
        .send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .unwrap();
    let mut pinged = false;
    loop {
        let message = tokio::time::timeout(WAIT, frames.recv())
            .await
            .expect("no pong in time")
            .expect("the visitor's socket was closed");
        match message {
            Message::Ping(_) => pinged = true,
            Message::Text(t) if t.as_str().contains("\"pong\"") => break,
            _ => {}
        }
    }
    assert!(pinged, "the visitor's socket was pinged");
    let _ = polite_tx.close().await;
    reader.abort();
}
