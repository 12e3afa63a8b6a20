//! Sending through the Send API (`POST {graph}/me/messages`): Meta's messaging window, one
//! request per text part and per file, and Graph's errors read into retry-or-not.

use serde_json::{Value, json};
use throughline_core::Millis;
use throughline_core::messaging::{META_HUMAN_AGENT_WINDOW_MS, META_STANDARD_WINDOW_MS};

use super::Surface;
use crate::SendOutcome;
use crate::outbound::OutgoingMessage;

/// How a reply may be sent, given when the customer last wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    /// Within 24 hours: any reply (`messaging_type: RESPONSE`).
    Standard,
    /// 24 hours to 7 days, a person's reply only (`MESSAGE_TAG` + `HUMAN_AGENT`).
    HumanAgent,
}

/// Meta's window rule. `last_incoming_at` in the future (clocks disagree) counts as now.
pub(crate) fn window(
    surface: Surface,
    last_incoming_at: Option<Millis>,
    now_ms: Millis,
    by_person: bool,
) -> Result<Window, String> {
    let name = surface.display_name();
    let Some(last) = last_incoming_at else {
        return Err(format!(
            "the customer has not written to this inbox; {name} lets a page message only people \
             who wrote to it in the last 24 hours (7 days for a person's reply)"
        ));
    };
    let age = now_ms.saturating_sub(last);
    if age <= META_STANDARD_WINDOW_MS {
        Ok(Window::Standard)
    } else if age <= META_HUMAN_AGENT_WINDOW_MS && by_person {
        Ok(Window::HumanAgent)
    } else if age <= META_HUMAN_AGENT_WINDOW_MS {
        Err(format!(
            "the customer last wrote more than 24 hours ago; after that {name} accepts only a \
             reply written by a person (the HUMAN_AGENT tag), not an automated one"
        ))
    } else {
        Err(format!(
            "the customer last wrote more than 7 days ago; {name} allows no reply until they \
             write again"
        ))
    }
}

/// Text cut into parts of at most `limit` characters, at a space or line break where one is
/// near the end of a part; nothing is dropped (the parts joined are the text).
pub(crate) fn split_text(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    while chars.len() - start > limit {
        let window = &chars[start..start + limit];
        // A break in the last half keeps words whole without making tiny parts.
        let cut = window
            .iter()
            .rposition(|c| c.is_whitespace())
            .filter(|&i| i + 1 >= limit / 2)
            .map_or(limit, |i| i + 1);
        parts.push(window[..cut].iter().collect());
        start += cut;
    }
    if start < chars.len() {
        parts.push(chars[start..].iter().collect());
    }
    parts
}

/// Send API attachment kinds for a MIME type.
fn attachment_kind(content_type: &str) -> &'static str {
    match content_type.split('/').next().unwrap_or_default() {
        "image" => "image",
        "audio" => "audio",
        "video" => "video",
        _ => "file",
    }
}

/// The request bodies one stored message becomes, in sending order: the text (in parts),
/// then each file. An error is a permanent refusal.
pub(crate) fn bodies(
    surface: Surface,
    m: &OutgoingMessage,
    now_ms: Millis,
) -> Result<Vec<Value>, String> {
    let name = surface.display_name();
    if m.template.is_some() {
        return Err(format!(
            "{name} has no message templates; send the text as an ordinary reply"
        ));
    }
    let recipient = m
        .channel_address
        .as_deref()
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| format!("the contact has no {name} id in this inbox"))?;
    let window = window(surface, m.last_incoming_at, now_ms, m.agent_name.is_some())?;
    let envelope = |message: Value| {
        let mut body = json!({ "recipient": { "id": recipient }, "message": message });
        match window {
            Window::Standard => body["messaging_type"] = json!("RESPONSE"),
            Window::HumanAgent => {
                body["messaging_type"] = json!("MESSAGE_TAG");
                body["tag"] = json!("HUMAN_AGENT");
            }
        }
        body
    };
    let mut out = Vec::new();
    if !m.text.trim().is_empty() {
        for part in split_text(&m.text, surface.text_limit()) {
            out.push(envelope(json!({ "text": part })));
        }
    }
    for file in &m.attachments {
        let url = file
            .url
            .as_deref()
            .ok_or("an attachment has no public URL for Meta to fetch")?;
        out.push(envelope(json!({ "attachment": {
            "type": attachment_kind(&file.content_type),
            "payload": { "url": url, "is_reusable": false },
        }})));
    }
    if out.is_empty() {
        return Err("the message has nothing to send".into());
    }
    Ok(out)
}

/// Graph's error object, worded for the agent: `(#10) This message is sent outside of allowed
/// window.`
pub(crate) fn error_text(body: &Value) -> Option<String> {
    let e = &body["error"];
    let code = e["code"].as_i64()?;
    let message = e["message"].as_str().unwrap_or("error");
    Some(format!("(#{code}) {message}"))
}

/// Graph answers rate limits with a 400 or 403 and a code, not a 429: application (4), user
/// (17), page (32) and call-count (613) limits, the business-use-case limits of Instagram
/// (80002) and Messenger (80006), its own "temporarily unavailable" (1, 2) and anything it
/// marks `is_transient`.
fn retry_later(error: &Value) -> bool {
    matches!(
        error["code"].as_i64(),
        Some(1 | 2 | 4 | 17 | 32 | 613 | 80002 | 80006)
    ) || error["is_transient"].as_bool() == Some(true)
}

/// The Send API's answer: accepted with its `message_id`, or refused for now or for good.
/// Everything not known to pass is permanent (outside the window, code 10 / subcode 2018278;
/// the person unavailable, 551; a bad token, 190), so the agent sees Meta's words at once.
pub(crate) fn outcome(status: u16, text: &str) -> SendOutcome {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return SendOutcome::Accepted {
            provider_id: body["message_id"].as_str().map(str::to_owned),
            status: Some(status),
        };
    }
    let reason = error_text(&body).unwrap_or_else(|| {
        let snippet: String = text.chars().take(300).collect();
        format!("HTTP {status}: {snippet}")
    });
    if matches!(status, 408 | 425 | 429) || status >= 500 || retry_later(&body["error"]) {
        SendOutcome::Temporary {
            reason,
            status: Some(status),
        }
    } else {
        SendOutcome::Permanent {
            reason,
            status: Some(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::OutgoingFile;

    const HOUR: Millis = 3_600_000;
    const NOW: Millis = 1_700_000_000_000;

    fn outgoing(text: &str) -> OutgoingMessage {
        OutgoingMessage {
            message_id: 1,
            conversation_id: 2,
            conversation_uuid: "c".into(),
            text: text.into(),
            recipient: None,
            channel_address: Some("24012345678901234".into()),
            phone: None,
            template: None,
            reply_to_external_id: None,
            last_incoming_at: Some(NOW - HOUR),
            agent_name: Some("Ana".into()),
            inbox_name: "Page".into(),
            thread_keys: vec![],
            subject: None,
            attachments: vec![],
            automatic: false,
        }
    }

    #[test]
    fn the_window_decides_how_a_reply_is_sent() {
        let m = Surface::Messenger;
        assert_eq!(
            window(m, Some(NOW - HOUR), NOW, false),
            Ok(Window::Standard)
        );
        assert_eq!(
            window(m, Some(NOW - 24 * HOUR), NOW, false),
            Ok(Window::Standard)
        );
        assert_eq!(
            window(m, Some(NOW + HOUR), NOW, false),
            Ok(Window::Standard)
        );
        assert_eq!(
            window(m, Some(NOW - 30 * HOUR), NOW, true),
            Ok(Window::HumanAgent)
        );
        assert_eq!(
            window(m, Some(NOW - 7 * 24 * HOUR), NOW, true),
            Ok(Window::HumanAgent)
        );
        let automated = window(m, Some(NOW - 30 * HOUR), NOW, false).unwrap_err();
        assert!(automated.contains("24 hours") && automated.contains("HUMAN_AGENT"));
        let late = window(m, Some(NOW - 8 * 24 * HOUR), NOW, true).unwrap_err();
        assert!(late.contains("7 days"), "{late}");
        let never = window(Surface::Instagram, None, NOW, true).unwrap_err();
        assert!(never.contains("Instagram"), "{never}");
        assert!(window(m, Some(i64::MIN), i64::MAX, true).is_err());
    }

    #[test]
    fn texts_are_split_on_character_boundaries() {
        let text = "żółć ".repeat(500) + &"🙂".repeat(2500);
        let parts = split_text(&text, 2000);
        assert!(parts.len() >= 3);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(parts.concat(), text);
        assert!(parts[0].ends_with(' '), "a break at a space");
        assert_eq!(split_text("short", 1000), vec!["short".to_owned()]);
        assert!(split_text("", 1000).is_empty());
        assert_eq!(split_text("ab", 0), vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn a_message_becomes_send_api_bodies() {
        let mut m = outgoing(&"x".repeat(1500));
        m.attachments.push(OutgoingFile {
            file_name: "a.pdf".into(),
            content_type: "application/pdf".into(),
            data: vec![],
            url: Some("https://tl.example/f/1".into()),
        });
        let b = bodies(Surface::Instagram, &m, NOW).unwrap();
        assert_eq!(
            b.len(),
            3,
            "two text parts under Instagram's 1000, then the file"
        );
        assert_eq!(b[0]["recipient"]["id"], "24012345678901234");
        assert_eq!(b[0]["messaging_type"], "RESPONSE");
        assert_eq!(b[2]["message"]["attachment"]["type"], "file");
        assert_eq!(
            b[2]["message"]["attachment"]["payload"]["url"],
            "https://tl.example/f/1"
        );
        assert_eq!(bodies(Surface::Messenger, &m, NOW).unwrap().len(), 2);
        m.last_incoming_at = Some(NOW - 48 * HOUR);
        let b = bodies(Surface::Messenger, &m, NOW).unwrap();
        assert_eq!(b[0]["messaging_type"], "MESSAGE_TAG");
        assert_eq!(b[0]["tag"], "HUMAN_AGENT");
        m.attachments[0].url = None;
        assert!(bodies(Surface::Messenger, &m, NOW).is_err());
        let mut t = outgoing("hi");
        t.template = Some(json!({"name": "x"}));
        assert!(bodies(Surface::Messenger, &t, NOW).is_err());
        let mut nobody = outgoing("hi");
        nobody.channel_address = None;
        assert!(bodies(Surface::Messenger, &nobody, NOW).is_err());
        assert!(bodies(Surface::Messenger, &outgoing("  "), NOW).is_err());
    }

    #[test]
    fn graph_errors_are_classified() {
        let ok = outcome(200, r#"{"recipient_id":"1","message_id":"m_1"}"#);
        assert_eq!(
            ok,
            SendOutcome::Accepted {
                provider_id: Some("m_1".into()),
                status: Some(200)
            }
        );
        let err = |code: i64, sub: i64| {
            json!({"error": {"message": "Something", "type": "OAuthException", "code": code,
                "error_subcode": sub, "fbtrace_id": "x"}})
            .to_string()
        };
        for code in [4, 17, 32, 613] {
            assert!(
                matches!(outcome(400, &err(code, 0)), SendOutcome::Temporary { .. }),
                "{code}"
            );
        }
        let window = outcome(400, &err(10, 2_018_278));
        assert_eq!(
            window,
            SendOutcome::Permanent {
                reason: "(#10) Something".into(),
                status: Some(400)
            }
        );
        assert!(matches!(
            outcome(400, &err(551, 1_545_041)),
            SendOutcome::Permanent { .. }
        ));
        assert!(matches!(
            outcome(403, &err(200, 0)),
            SendOutcome::Permanent { .. }
        ));
        assert!(matches!(
            outcome(500, &err(1, 0)),
            SendOutcome::Temporary { .. }
        ));
        assert!(matches!(
            outcome(503, "down"),
            SendOutcome::Temporary { .. }
        ));
        assert!(matches!(outcome(429, ""), SendOutcome::Temporary { .. }));
        let SendOutcome::Permanent { reason, .. } = outcome(404, "<html>nope</html>") else {
            panic!("permanent")
        };
        assert_eq!(reason, "HTTP 404: <html>nope</html>");
    }
}
