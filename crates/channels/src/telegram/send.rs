//! Turning an agent's message into Bot API calls: text in pieces Telegram accepts, files
//! uploaded by the method that shows them best.

use serde_json::{Value, json};

use crate::outbound::{OutgoingFile, OutgoingMessage};

/// `sendMessage` takes at most this many characters of text.
pub(crate) const TEXT_LIMIT: usize = 4096;
/// A file's caption takes at most this many characters.
pub(crate) const CAPTION_LIMIT: usize = 1024;
/// Bots upload files of at most 50 MB.
pub(crate) const UPLOAD_LIMIT: usize = 50 * 1024 * 1024;
/// `sendPhoto` refuses pictures over 10 MB; larger ones go as documents.
const PHOTO_LIMIT: usize = 10 * 1024 * 1024;

/// One Bot API call of a send.
#[derive(Clone, Debug)]
pub(crate) enum Call<'a> {
    /// `sendMessage` with this text.
    Text(&'a str),
    /// A multipart upload of one file.
    Upload {
        file: &'a OutgoingFile,
        method: &'static str,
        field: &'static str,
        caption: Option<&'a str>,
    },
}

/// `text` in pieces of at most `limit` characters, cut between characters (never inside a
/// UTF-8 sequence).
pub(crate) fn split_text(text: &str, limit: usize) -> Vec<&str> {
    let limit = limit.max(1);
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .char_indices()
            .nth(limit)
            .map_or(rest.len(), |(at, _)| at);
        let (head, tail) = rest.split_at(end);
        parts.push(head);
        rest = tail;
    }
    parts
}

/// The Bot API method and its file field for a file of this type and size.
pub(crate) fn upload_method(content_type: &str, size: usize) -> (&'static str, &'static str) {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        // A GIF sent as a photo loses its animation; as a document it keeps it.
        "image/jpeg" | "image/jpg" | "image/pjpeg" | "image/png" | "image/webp"
            if size <= PHOTO_LIMIT =>
        {
            ("sendPhoto", "photo")
        }
        // Voice notes are OGG/Opus, the format Telegram's own clients record.
        "audio/ogg" | "audio/opus" => ("sendVoice", "voice"),
        // sendAudio's player takes MP3 and M4A; other sound files stay downloadable documents.
        "audio/mpeg" | "audio/mp3" | "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => {
            ("sendAudio", "audio")
        }
        "video/mp4" => ("sendVideo", "video"),
        _ => ("sendDocument", "document"),
    }
}

/// The calls that deliver `m`, in order, or why it cannot be sent.
pub(crate) fn plan(m: &OutgoingMessage) -> Result<Vec<Call<'_>>, String> {
    if m.template.is_some() {
        return Err(
            "Telegram has no message templates: send the text as an ordinary message".into(),
        );
    }
    for file in &m.attachments {
        if file.data.len() > UPLOAD_LIMIT {
            return Err(format!(
                "Telegram bots can send files of at most 50 MB; {} is {} MB",
                file.file_name,
                file.data.len().div_ceil(1024 * 1024)
            ));
        }
    }
    let text = if m.text.trim().is_empty() {
        ""
    } else {
        m.text.as_str()
    };
    let caption_fits = !text.is_empty() && text.chars().count() <= CAPTION_LIMIT;
    let mut calls = Vec::new();
    if !text.is_empty() && (m.attachments.is_empty() || !caption_fits) {
        calls.extend(split_text(text, TEXT_LIMIT).into_iter().map(Call::Text));
    }
    for (i, file) in m.attachments.iter().enumerate() {
        let (method, field) = upload_method(&file.content_type, file.data.len());
        calls.push(Call::Upload {
            file,
            method,
            field,
            caption: (i == 0 && caption_fits).then_some(text),
        });
    }
    if calls.is_empty() {
        return Err("the message has nothing to send".into());
    }
    Ok(calls)
}

/// `chat_id` as Telegram takes it: the number when it is one (a user or group id), else the
/// text (a public `@channel` name).
pub(crate) fn chat_id_value(chat: &str) -> Value {
    match chat.parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => json!(chat),
    }
}

/// `reply_parameters` quoting the customer's message `"{chat}:{id}"`, when it is in this chat.
/// Sent without the quote if the customer deleted it meanwhile.
pub(crate) fn reply_parameters(chat: &str, reply_to: Option<&str>) -> Option<Value> {
    let (quoted_chat, id) = reply_to?.rsplit_once(':')?;
    if quoted_chat != chat {
        return None;
    }
    let id = id.parse::<i64>().ok()?;
    Some(json!({ "message_id": id, "allow_sending_without_reply": true }))
}

/// Telegram's error answer, worded for the agent.
pub(crate) fn error_text(body: &Value) -> Option<String> {
    let description = body["description"].as_str()?;
    let parameters = &body["parameters"];
    Some(
        if let Some(chat) = parameters["migrate_to_chat_id"].as_i64() {
            format!("{description} (the group is now the supergroup {chat})")
        } else if let Some(wait) = parameters["retry_after"].as_i64()
            && !description.contains("retry after")
        {
            format!("{description} (retry after {wait} s)")
        } else {
            description.to_owned()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content_type: &str, len: usize) -> OutgoingFile {
        OutgoingFile {
            file_name: "f.bin".into(),
            content_type: content_type.into(),
            data: vec![0; len],
            url: None,
        }
    }

    pub(crate) fn outgoing(text: &str, attachments: Vec<OutgoingFile>) -> OutgoingMessage {
        OutgoingMessage {
            message_id: 1,
            conversation_id: 1,
            conversation_uuid: "u".into(),
            text: text.into(),
            recipient: None,
            channel_address: Some("4242".into()),
            phone: None,
            template: None,
            reply_to_external_id: None,
            last_incoming_at: None,
            agent_name: None,
            inbox_name: "Bot".into(),
            thread_keys: vec![],
            subject: None,
            attachments,
            automatic: false,
        }
    }

    #[test]
    fn long_text_is_cut_between_characters() {
        // 'ç' is two bytes and '😀' four: a byte cut at 4096 would fall inside either.
        let text = format!("{}{}", "ç".repeat(4095), "😀".repeat(10));
        let parts = split_text(&text, TEXT_LIMIT);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].chars().count(), 4096);
        assert!(parts[0].ends_with('😀'));
        assert_eq!(parts[1], "😀".repeat(9));
        assert_eq!(parts.concat(), text);

        let exact = "a".repeat(4096);
        assert_eq!(split_text(&exact, TEXT_LIMIT), vec![exact.as_str()]);
        let three = "ł".repeat(4096 * 2 + 1);
        let parts = split_text(&three, TEXT_LIMIT);
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            vec![4096, 4096, 1]
        );
        assert!(split_text("", TEXT_LIMIT).is_empty());
    }

    #[test]
    fn each_file_type_goes_by_the_method_that_shows_it() {
        let small = 1000;
        assert_eq!(upload_method("image/jpeg", small), ("sendPhoto", "photo"));
        assert_eq!(upload_method("image/PNG", small), ("sendPhoto", "photo"));
        assert_eq!(
            upload_method("image/png", PHOTO_LIMIT + 1),
            ("sendDocument", "document")
        );
        assert_eq!(
            upload_method("image/gif", small),
            ("sendDocument", "document")
        );
        assert_eq!(
            upload_method("audio/ogg; codecs=opus", small),
            ("sendVoice", "voice")
        );
        assert_eq!(upload_method("audio/mpeg", small), ("sendAudio", "audio"));
        assert_eq!(
            upload_method("audio/wav", small),
            ("sendDocument", "document")
        );
        assert_eq!(upload_method("video/mp4", small), ("sendVideo", "video"));
        assert_eq!(
            upload_method("video/quicktime", small),
            ("sendDocument", "document")
        );
        assert_eq!(
            upload_method("application/pdf", small),
            ("sendDocument", "document")
        );
        assert_eq!(upload_method("", small), ("sendDocument", "document"));
    }

    #[test]
    fn a_short_text_is_the_first_files_caption_a_long_one_goes_first() {
        let m = outgoing(
            "See attached",
            vec![file("image/png", 10), file("application/pdf", 10)],
        );
        let calls = plan(&m).unwrap();
        assert_eq!(calls.len(), 2);
        assert!(matches!(
            calls[0],
            Call::Upload {
                method: "sendPhoto",
                caption: Some("See attached"),
                ..
            }
        ));
        assert!(matches!(
            calls[1],
            Call::Upload {
                method: "sendDocument",
                caption: None,
                ..
            }
        ));

        let long = "x".repeat(CAPTION_LIMIT + 1);
        let m = outgoing(&long, vec![file("audio/ogg", 10)]);
        let calls = plan(&m).unwrap();
        assert!(matches!(calls[0], Call::Text(t) if t == long));
        assert!(matches!(
            calls[1],
            Call::Upload {
                method: "sendVoice",
                caption: None,
                ..
            }
        ));

        let hi = outgoing("hi", vec![]);
        let calls = plan(&hi).unwrap();
        assert!(matches!(calls[..], [Call::Text("hi")]));
        assert!(plan(&outgoing("  ", vec![])).is_err());
        let mut templated = outgoing("hi", vec![]);
        templated.template = Some(json!({"name": "hello_world"}));
        assert!(
            plan(&templated)
                .unwrap_err()
                .contains("no message templates")
        );
        assert!(
            plan(&outgoing("", vec![file("video/mp4", UPLOAD_LIMIT + 1)]))
                .unwrap_err()
                .contains("50 MB")
        );
    }

    #[test]
    fn replies_quote_only_messages_of_the_same_chat() {
        assert_eq!(
            reply_parameters("4242", Some("4242:17")),
            Some(json!({"message_id": 17, "allow_sending_without_reply": true}))
        );
        assert_eq!(
            reply_parameters("-100987", Some("-100987:5")).unwrap()["message_id"],
            5
        );
        assert_eq!(reply_parameters("4242", Some("99:17")), None);
        assert_eq!(reply_parameters("4242", Some("callback:abc")), None);
        assert_eq!(reply_parameters("4242", Some("4242:x")), None);
        assert_eq!(reply_parameters("4242", None), None);
    }

    #[test]
    fn telegram_errors_keep_its_description() {
        let blocked = json!({"ok": false, "error_code": 403,
            "description": "Forbidden: bot was blocked by the user"});
        assert_eq!(
            error_text(&blocked).unwrap(),
            "Forbidden: bot was blocked by the user"
        );
        let migrated = json!({"ok": false, "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1001234}});
        assert!(error_text(&migrated).unwrap().contains("-1001234"));
        assert!(error_text(&json!({"ok": false})).is_none());
        assert_eq!(chat_id_value("-100123"), json!(-100_123));
        assert_eq!(chat_id_value("@shop"), json!("@shop"));
    }
}
