//! A WebSocket client for tests of the realtime sockets.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// `last_event_id` of the `ready` frame: events up to it may still arrive late (committed
    /// before the socket opened, relayed after) and a client drops them, as the web app does.
    ready_upto: Option<i64>,
}

/// How a handshake the server refused ended.
#[derive(Debug)]
pub enum Refused {
    Status(u16),
    Other(String),
}

impl WsClient {
    /// Connects to `url` (ws://…) with extra request headers.
    pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<WsClient, Refused> {
        let mut request = url
            .into_client_request()
            .map_err(|e| Refused::Other(e.to_string()))?;
        for (name, value) in headers {
            let name: tokio_tungstenite::tungstenite::http::HeaderName = name
                .parse()
                .map_err(|_| Refused::Other(format!("bad header {name}")))?;
            let value = value
                .parse()
                .map_err(|_| Refused::Other(format!("bad value for {name}")))?;
            request.headers_mut().insert(name, value);
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(WsClient {
                stream,
                ready_upto: None,
            }),
            Err(Error::Http(resp)) => Err(Refused::Status(resp.status().as_u16())),
            Err(e) => Err(Refused::Other(e.to_string())),
        }
    }

    /// The next JSON text frame, or `None` when the socket closed. Panics after `timeout`.
    pub async fn next_json(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(timeout, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {timeout:?}"));
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["type"] == "ready" {
                        self.ready_upto = v["last_event_id"].as_i64();
                    }
                    return Some(v);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next JSON text frame if one comes within `timeout` (for what must not come).
    pub async fn within(&mut self, timeout: Duration) -> Option<Value> {
        tokio::time::timeout(timeout, self.next_json(timeout * 2))
            .await
            .ok()
            .flatten()
    }

    /// The next frame that is not presence or typing (those come at any time).
    pub async fn next_event(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            let f = self.next_json(timeout).await?;
            let late = f["type"] == "event"
                && f["id"]
                    .as_i64()
                    .zip(self.ready_upto)
                    .is_some_and(|(id, upto)| id <= upto);
            if f["type"] != "presence" && f["type"] != "typing" && !late {
                return Some(f);
            }
        }
    }

    /// Frames until one with `type` == `kind`; returns it.
    pub async fn until(&mut self, kind: &str, timeout: Duration) -> Value {
        loop {
            let f = self
                .next_json(timeout)
                .await
                .unwrap_or_else(|| panic!("socket closed before a {kind} frame"));
            if f["type"] == kind {
                return f;
            }
        }
    }

    pub async fn send_json(&mut self, value: &Value) {
        self.stream
            .send(Message::Text(value.to_string().into()))
            .await
            .unwrap_or_else(|e| panic!("sending on the socket: {e}"));
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
