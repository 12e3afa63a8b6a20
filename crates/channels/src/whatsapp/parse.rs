//! Reading a WhatsApp Cloud API webhook (`object: whatsapp_business_account`).

use serde_json::{Map, Value, json};
use throughline_core::linking::Evidence;
use throughline_core::message::DeliveryStatus;

use crate::inbound::{InboundSender, ThreadKey};
use crate::{Inbound, MediaRef, NormalisedInbound, Rejected, StatusReport, ThreadHints};

/// Every message and status of `phone_number_id` in one webhook. Changes for another number of
/// the same business account are not this inbox's and are skipped.
pub fn parse_webhook(body: &[u8], phone_number_id: &str) -> Result<Vec<Inbound>, Rejected> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| Rejected::invalid(format!("the webhook is not JSON: {e}")))?;
    if root["object"].as_str() != Some("whatsapp_business_account") {
        return Err(Rejected::invalid(
            "object must be whatsapp_business_account",
        ));
    }
    let entries = root["entry"]
        .as_array()
        .ok_or_else(|| Rejected::invalid("entry must be a list"))?;
    let mut out = Vec::new();
    for change in entries
        .iter()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
    {
        let value = &change["value"];
        if change["field"].as_str().is_some_and(|f| f != "messages") {
            continue;
        }
        if value["metadata"]["phone_number_id"]
            .as_str()
            .is_some_and(|id| id != phone_number_id)
        {
            continue;
        }
        let names: Vec<(&str, &str)> = value["contacts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c["wa_id"].as_str()?, c["profile"]["name"].as_str()?)))
            .collect();
        for m in value["messages"].as_array().into_iter().flatten() {
            out.push(Inbound::Message(Box::new(message(m, &names)?)));
        }
        for s in value["statuses"].as_array().into_iter().flatten() {
            out.push(Inbound::Status(status(s)?));
        }
    }
    Ok(out)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v[key].as_str().filter(|s| !s.is_empty())
}

fn message(m: &Value, names: &[(&str, &str)]) -> Result<NormalisedInbound, Rejected> {
    let id = text(m, "id").ok_or_else(|| Rejected::invalid("a message has no id"))?;
    let from = text(m, "from").ok_or_else(|| Rejected::invalid("a message has no sender"))?;
    if from.len() > 32 || !from.chars().all(|c| c.is_ascii_digit()) {
        return Err(Rejected::invalid(
            "a message's sender is not a WhatsApp number",
        ));
    }
    let kind = text(m, "type").unwrap_or("unknown");
    let mut details = Map::new();
    details.insert("type".into(), json!(kind));
    let mut media = Vec::new();
    let content = match kind {
        "text" => m["text"]["body"].as_str().unwrap_or_default().to_owned(),
        "image" | "audio" | "video" | "document" | "sticker" => {
            let file = &m[kind];
            let handle = text(file, "id").ok_or_else(|| Rejected::invalid("a file has no id"))?;
            media.push(MediaRef {
                handle: handle.to_owned(),
                content_type: text(file, "mime_type")
                    .map(|t| t.split(';').next().unwrap_or(t).trim().to_owned()),
                file_name: text(file, "filename").map(str::to_owned),
            });
            if file["voice"].as_bool() == Some(true) {
                details.insert("voice".into(), json!(true));
            }
            file["caption"].as_str().unwrap_or_default().to_owned()
        }
        "location" => {
            let l = &m["location"];
            details.insert("location".into(), l.clone());
            let place = [text(l, "name"), text(l, "address")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            match (l["latitude"].as_f64(), l["longitude"].as_f64()) {
                (Some(lat), Some(lon)) if place.is_empty() => format!("📍 {lat}, {lon}"),
                (Some(lat), Some(lon)) => format!("📍 {place} ({lat}, {lon})"),
                _ => format!("📍 {place}"),
            }
        }
        "contacts" => {
            details.insert("contacts".into(), m["contacts"].clone());
            let cards: Vec<String> = m["contacts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let name = c["name"]["formatted_name"].as_str().unwrap_or("?");
                    let phones: Vec<&str> = c["phones"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["phone"].as_str())
                        .collect();
                    format!("👤 {name} {}", phones.join(", ")).trim().to_owned()
                })
                .collect();
            cards.join("\n")
        }
        "interactive" => {
            let i = &m["interactive"];
            let reply = if i["button_reply"].is_object() {
                &i["button_reply"]
            } else {
                &i["list_reply"]
            };
            details.insert("interactive_reply".into(), reply.clone());
            reply["title"].as_str().unwrap_or_default().to_owned()
        }
        "button" => {
            details.insert("button".into(), m["button"].clone());
            m["button"]["text"].as_str().unwrap_or_default().to_owned()
        }
        "reaction" => {
            let r = &m["reaction"];
            details.insert("is_reaction".into(), json!(true));
            if let Some(target) = text(r, "message_id") {
                details.insert("in_reply_to_external_id".into(), json!(target));
            }
            r["emoji"].as_str().unwrap_or_default().to_owned()
        }
        other => format!("[a WhatsApp message of type `{other}` that Throughline cannot show]"),
    };
    let quoted = m["context"]["id"].as_str().map(str::to_owned);
    if let Some(q) = &quoted {
        details.insert("in_reply_to_external_id".into(), json!(q));
    }
    let timestamp = m["timestamp"]
        .as_str()
        .and_then(|t| t.parse::<i64>().ok())
        .or_else(|| m["timestamp"].as_i64());
    if let Some(t) = timestamp {
        details.insert("sent_at".into(), json!(t));
    }
    let name = names
        .iter()
        .find(|(wa, _)| *wa == from)
        .map(|(_, n)| (*n).to_owned());
    let mut new_attributes = Map::new();
    new_attributes.insert("source".into(), json!("whatsapp"));
    Ok(NormalisedInbound {
        sender: InboundSender {
            source_id: Some(from.to_owned()),
            name,
            email: None,
            // WhatsApp often drops Brazil's ninth digit; the core's normaliser restores it so
            // the same person's SMS finds them.
            phone: throughline_core::identity::normalize_phone(&format!("+{from}"), None).ok(),
        },
        external_id: id.to_owned(),
        content,
        content_attributes: json!({ "whatsapp": Value::Object(details) }),
        attachments: Vec::new(),
        media,
        // WhatsApp delivers from the number it verified.
        evidence: Evidence::Proven,
        thread: ThreadHints {
            referenced_ids: quoted.into_iter().collect(),
            new_conversation_attributes: new_attributes,
            ..ThreadHints::default()
        },
        provider_timestamp: timestamp,
        raw: None,
        malformed: false,
        thread_key: Some(ThreadKey {
            key: id.to_owned(),
            subject: None,
        }),
    })
}

fn status(s: &Value) -> Result<StatusReport, Rejected> {
    let id = text(s, "id").ok_or_else(|| Rejected::invalid("a status has no message id"))?;
    let state = text(s, "status").unwrap_or_default();
    let status = match state {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        // `deleted`, `warning` and statuses Meta may add: nothing for the message's state.
        _ => DeliveryStatus::Queued,
    };
    let reason = s["errors"]
        .as_array()
        .and_then(|e| e.first())
        .map(|e| {
            let code = e["code"].as_i64().unwrap_or_default();
            let title = e["title"]
                .as_str()
                .or(e["message"].as_str())
                .unwrap_or("error");
            match e["error_data"]["details"].as_str() {
                Some(d) => format!("(#{code}) {title} — {d}"),
                None => format!("(#{code}) {title}"),
            }
        })
        .unwrap_or_default();
    Ok(StatusReport {
        thread_key: Some(id.to_owned()),
        status,
        reason,
        raw: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(value: Value) -> Vec<u8> {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [
            {"field": "messages", "value": value}]}]})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_text_from_a_brazilian_number_gains_the_ninth_digit() {
        let body = webhook(json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1001"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "551187654321"}],
            "messages": [{"from": "551187654321", "id": "wamid.A", "timestamp": "1700000000",
                "type": "text", "text": {"body": "Oi"}, "context": {"from": "15550001111", "id": "wamid.prev"}}]
        }));
        let items = parse_webhook(&body, "1001").unwrap();
        let Inbound::Message(m) = &items[0] else {
            panic!("a message")
        };
        assert_eq!(m.sender.phone.as_deref(), Some("+5511987654321"));
        assert_eq!(m.sender.name.as_deref(), Some("Ana"));
        assert_eq!(m.content, "Oi");
        assert_eq!(m.thread.referenced_ids, vec!["wamid.prev".to_owned()]);
        assert_eq!(m.evidence, Evidence::Proven);
        assert!(parse_webhook(&body, "other-number").unwrap().is_empty());
    }

    #[test]
    fn media_statuses_and_bad_input() {
        let body = webhook(json!({
            "metadata": {"phone_number_id": "1001"},
            "messages": [{"from": "48501234567", "id": "wamid.B", "type": "audio",
                "audio": {"id": "MEDIA1", "mime_type": "audio/ogg; codecs=opus", "voice": true}}],
            "statuses": [{"id": "wamid.OUT", "status": "failed", "errors": [{"code": 131047,
                "title": "Re-engagement message"}]}]
        }));
        let items = parse_webhook(&body, "1001").unwrap();
        let Inbound::Message(m) = &items[0] else {
            panic!("a message")
        };
        assert_eq!(m.media[0].handle, "MEDIA1");
        assert_eq!(m.media[0].content_type.as_deref(), Some("audio/ogg"));
        let Inbound::Status(s) = &items[1] else {
            panic!("a status")
        };
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert!(s.reason.contains("131047"));
        assert_eq!(parse_webhook(b"{", "1001").unwrap_err().status, 422);
        assert_eq!(
            parse_webhook(br#"{"object":"page"}"#, "1001")
                .unwrap_err()
                .status,
            422
        );
        let bad_sender = webhook(json!({"messages": [{"from": "x<script>", "id": "w"}]}));
        assert_eq!(parse_webhook(&bad_sender, "1001").unwrap_err().status, 422);
    }
}
