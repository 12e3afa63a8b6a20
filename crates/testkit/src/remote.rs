//! A signed-in API client for a server the test runs as a child process.

use std::time::Duration;

use serde_json::{Value, json};

use crate::Answer;

pub struct Remote {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
    pub account: i64,
}

impl Remote {
    pub async fn sign_in(base: &str, email: &str, password: &str) -> Remote {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let signed: Value = client
            .post(format!("{base}/auth/sign_in"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Remote {
            client,
            base: base.to_owned(),
            token: signed["data"]["access_token"].as_str().unwrap().to_owned(),
            account: signed["data"]["account_id"].as_i64().unwrap(),
        }
    }

    /// `/api/v1/accounts/{account}{rest}`
    pub fn url(&self, rest: &str) -> String {
        format!("{}/api/v1/accounts/{}{rest}", self.base, self.account)
    }

    /// Any answer, or the transport error as text (connection refused, time-out).
    pub async fn try_call(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, url)
            .header("api_access_token", &self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        match req.send().await {
            Ok(resp) => Ok(crate::read(resp).await),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A call that must succeed.
    pub async fn call(&self, method: &str, rest: &str, body: Option<Value>) -> Value {
        let url = self.url(rest);
        let answer = self
            .try_call(method, &url, body.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        assert!(
            (200..300).contains(&answer.status),
            "{method} {url}: {} {}",
            answer.status,
            answer.body
        );
        answer.body
    }

    pub async fn post(&self, rest: &str, body: Value) -> Value {
        self.call("POST", rest, Some(body)).await
    }

    pub async fn get(&self, rest: &str) -> Value {
        self.call("GET", rest, None).await
    }

    /// An API inbox with one contact and one open conversation; returns the conversation id.
    pub async fn conversation(&self, inbox_id: i64, name: &str) -> i64 {
        let contact = self
            .post("/contacts", json!({"name": name, "inbox_id": inbox_id}))
            .await;
        let contact_id = contact["payload"]["contact"]["id"]
            .as_i64()
            .or_else(|| contact["id"].as_i64())
            .unwrap();
        let conversation = self
            .post(
                "/conversations",
                json!({"inbox_id": inbox_id, "contact_id": contact_id}),
            )
            .await;
        conversation["id"].as_i64().unwrap()
    }
}
