//! The assistant's configuration as an administrator writes it in the `openai` hook's
//! `settings` (Chatwoot keeps only `api_key` there; we add where the model is and what may be
//! sent to it). The key itself is not part of these settings: it is sealed apart and never shown
//! again.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validate::{FieldError, http_url, optional_text};

/// OpenAI's own API, where Chatwoot's hook sends everything.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// OpenAI's speech-to-text model, which voicemails are transcribed with unless the
/// administrator names another (or none).
pub const DEFAULT_TRANSCRIPTION_MODEL: &str = "whisper-1";
/// A local model on modest hardware can take long on a whole conversation; an agent waits no
/// longer than this by default.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 30;
pub const MAX_TIMEOUT_SECONDS: u32 = 120;
pub const MAX_API_KEY: usize = 500;
const MAX_MODEL: usize = 200;
const MAX_INBOXES: usize = 1_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantSettings {
    /// An OpenAI-compatible API's base, `/v1` included (`http://ollama:11434/v1`).
    pub base_url: String,
    /// The chat-completions model.
    pub model: String,
    /// The embeddings model for semantic article search; `None`: lexical search only.
    #[serde(default)]
    pub embedding_model: Option<String>,
    /// The speech-to-text model voicemails are transcribed with (`/audio/transcriptions`);
    /// `None`: voicemails are not transcribed (a local server without one). Settings saved
    /// before it existed get the default.
    #[serde(default = "default_transcription_model")]
    pub transcription_model: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
    /// Inboxes whose conversations (customer data) may be sent to the model. Empty: none.
    #[serde(default)]
    pub customer_data_inbox_ids: Vec<i64>,
}

fn default_timeout() -> u32 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_transcription_model() -> Option<String> {
    Some(DEFAULT_TRANSCRIPTION_MODEL.into())
}

impl Default for AssistantSettings {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.into(),
            model: DEFAULT_MODEL.into(),
            embedding_model: None,
            transcription_model: default_transcription_model(),
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            customer_data_inbox_ids: Vec::new(),
        }
    }
}

/// What a write does to the sealed key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    Keep,
    Clear,
    Set(String),
}

impl AssistantSettings {
    /// Whether conversations of `inbox_id` may be sent to the model.
    pub fn may_send_conversation(&self, inbox_id: i64) -> bool {
        self.customer_data_inbox_ids.contains(&inbox_id)
    }

    /// `settings` as a client sent it, over `self` (a PATCH changes only what it names; a
    /// create starts from the defaults). `api_key` is taken out as a [`KeyChange`].
    pub fn apply(
        &self,
        settings: &Map<String, Value>,
    ) -> Result<(AssistantSettings, KeyChange), Vec<FieldError>> {
        let mut out = self.clone();
        let mut key = KeyChange::Keep;
        let mut errors = Vec::new();
        for (name, value) in settings {
            let field = format!("settings.{name}");
            let result = match name.as_str() {
                "api_key" => text(&field, value, MAX_API_KEY).map(|k| {
                    key = match k {
                        Some(k) => KeyChange::Set(k),
                        None => KeyChange::Clear,
                    }
                }),
                "base_url" => match value.as_str() {
                    Some(s) => http_url(&field, s).map(|u| {
                        out.base_url = u.trim_end_matches('/').to_owned();
                    }),
                    None => Err(not_text(&field)),
                },
                "model" => text(&field, value, MAX_MODEL).and_then(|m| {
                    out.model = m.ok_or_else(|| {
                        FieldError::new(&field, "blank", format!("{field} can't be blank"))
                    })?;
                    Ok(())
                }),
                "embedding_model" => {
                    text(&field, value, MAX_MODEL).map(|m| out.embedding_model = m)
                }
                "transcription_model" => {
                    text(&field, value, MAX_MODEL).map(|m| out.transcription_model = m)
                }
                "timeout_seconds" => match value.as_u64() {
                    Some(n) if (1..=u64::from(MAX_TIMEOUT_SECONDS)).contains(&n) => {
                        out.timeout_seconds = n as u32;
                        Ok(())
                    }
                    _ => Err(FieldError::new(
                        &field,
                        "invalid",
                        format!("{field} must be a whole number from 1 to {MAX_TIMEOUT_SECONDS}"),
                    )),
                },
                "customer_data_inbox_ids" => inbox_ids(&field, value).map(|ids| {
                    out.customer_data_inbox_ids = ids;
                }),
                // What we show back (`api_key_set`) may come back from a form: ignored.
                "api_key_set" => Ok(()),
                _ => Err(FieldError::new(
                    &field,
                    "unknown",
                    format!("{field} is not a setting of this integration"),
                )),
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok((out, key))
        } else {
            Err(errors)
        }
    }
}

fn not_text(field: &str) -> FieldError {
    FieldError::new(field, "invalid", format!("{field} must be a string"))
}

/// A string setting (`null` clears it).
fn text(field: &str, value: &Value, max: usize) -> Result<Option<String>, FieldError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => optional_text(field, s, max),
        _ => Err(not_text(field)),
    }
}

fn inbox_ids(field: &str, value: &Value) -> Result<Vec<i64>, FieldError> {
    let invalid = || {
        FieldError::new(
            field,
            "invalid",
            format!("{field} must be a list of inbox ids"),
        )
    };
    let list = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) if list.len() <= MAX_INBOXES => list,
        _ => return Err(invalid()),
    };
    let mut ids = Vec::with_capacity(list.len());
    for v in list {
        let id = v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|id| *id > 0)
            .ok_or_else(invalid)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(
        base: &AssistantSettings,
        v: Value,
    ) -> Result<(AssistantSettings, KeyChange), Vec<FieldError>> {
        base.apply(v.as_object().unwrap())
    }

    #[test]
    fn a_local_server_needs_no_key() {
        let (s, key) = apply(
            &AssistantSettings::default(),
            json!({"base_url": "http://ollama.lan:11434/v1/", "model": "llama3.1",
                   "customer_data_inbox_ids": [3, "4", 3]}),
        )
        .unwrap();
        assert_eq!(s.base_url, "http://ollama.lan:11434/v1");
        assert_eq!(s.model, "llama3.1");
        assert_eq!(s.customer_data_inbox_ids, vec![3, 4]);
        assert!(s.may_send_conversation(4) && !s.may_send_conversation(5));
        assert_eq!(key, KeyChange::Keep);
    }

    #[test]
    fn voicemails_are_transcribed_with_whisper_unless_told_otherwise() {
        let base = AssistantSettings::default();
        assert_eq!(base.transcription_model.as_deref(), Some("whisper-1"));
        // Settings saved before the field existed read as the default; a cleared one stays off.
        let older: AssistantSettings =
            serde_json::from_value(json!({"base_url": "http://x/v1", "model": "m"})).unwrap();
        assert_eq!(older.transcription_model.as_deref(), Some("whisper-1"));
        let (s, _) = apply(&base, json!({"transcription_model": " gpt-4o-transcribe "})).unwrap();
        assert_eq!(s.transcription_model.as_deref(), Some("gpt-4o-transcribe"));
        let (off, _) = apply(&s, json!({"transcription_model": null})).unwrap();
        assert_eq!(off.transcription_model, None);
        let saved: AssistantSettings =
            serde_json::from_value(serde_json::to_value(&off).unwrap()).unwrap();
        assert_eq!(saved.transcription_model, None);
        let (blank, _) = apply(&s, json!({"transcription_model": ""})).unwrap();
        assert_eq!(blank.transcription_model, None);
        let errors = apply(&base, json!({"transcription_model": 1})).unwrap_err();
        assert_eq!(errors[0].field, "settings.transcription_model");
    }

    #[test]
    fn the_key_is_taken_apart_and_can_be_cleared() {
        let base = AssistantSettings::default();
        let (_, key) = apply(&base, json!({"api_key": " sk-1 "})).unwrap();
        assert_eq!(key, KeyChange::Set("sk-1".into()));
        let (_, key) = apply(&base, json!({"api_key": null})).unwrap();
        assert_eq!(key, KeyChange::Clear);
    }

    #[test]
    fn bad_settings_name_their_field() {
        let errors = apply(
            &AssistantSettings::default(),
            json!({"base_url": "file:///etc/passwd", "model": "", "timeout_seconds": 0,
                   "customer_data_inbox_ids": [-1], "temperature": 2, "api_key": 5}),
        )
        .unwrap_err();
        let mut fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "settings.api_key",
                "settings.base_url",
                "settings.customer_data_inbox_ids",
                "settings.model",
                "settings.temperature",
                "settings.timeout_seconds"
            ]
        );
    }
}
