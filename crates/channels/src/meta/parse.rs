//! Reading a Messenger (`object: page`) or Instagram (`object: instagram`) webhook.
//!
//! One POST may batch several pages' entries (the HTTP layer hands the whole body to each
//! page's inbox), and each entry several `messaging[]` events: a `message`, a `postback`, a
//! `reaction`, a `message_edit`, a `delivery` or a `read`. Each names the customer by their
//! page-scoped id (`sender.id`) and carries its time in milliseconds.

use serde_json::{Map, Value, json};
use throughline_core::linking::Evidence;
use throughline_core::message::DeliveryStatus;

use super::Surface;
use crate::inbound::{InboundSender, MessageEdit, ThreadKey};
use crate::{Inbound, MediaRef, NormalisedInbound, Rejected, StatusReport, ThreadHints};

/// Every event of `page_id` in one webhook, in the order Meta listed them. Entries of other
/// pages are another inbox's and are skipped.
pub fn parse_webhook(
    body: &[u8],
    surface: Surface,
    page_id: &str,
) -> Result<Vec<Inbound>, Rejected> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| Rejected::invalid(format!("the webhook is not JSON: {e}")))?;
    let object = surface.webhook_object();
    if root["object"].as_str() != Some(object) {
        return Err(Rejected::invalid(format!("object must be {object}")));
    }
    let entries = root["entry"]
        .as_array()
        .ok_or_else(|| Rejected::invalid("entry must be a list"))?;
    let mut out = Vec::new();
    for entry in entries {
        if id_of(&entry["id"]).as_deref() != Some(page_id) {
            continue;
        }
        // `standby[]` events belong to a thread another app controls (the handover protocol):
        // only `messaging[]` is ours to answer.
        for event in entry["messaging"].as_array().into_iter().flatten() {
            read_event(event, &entry["time"], surface, page_id, &mut out)?;
        }
    }
    Ok(out)
}

/// Meta writes ids as strings, but a number is the same id.
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v[key].as_str().filter(|s| !s.is_empty())
}

fn millis(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse::<i64>().ok()))
}

/// A page-scoped id becomes a path segment of the profile lookup, so only what Meta issues
/// (digits, in practice) is accepted.
pub(super) fn plausible_scoped_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What every event of one customer shares.
struct Event<'a> {
    surface: Surface,
    sender: String,
    /// Meta's milliseconds (the event's, else the entry's).
    timestamp: Option<i64>,
    raw: &'a Value,
}

fn read_event(
    event: &Value,
    entry_time: &Value,
    surface: Surface,
    page_id: &str,
    out: &mut Vec<Inbound>,
) -> Result<(), Rejected> {
    let timestamp = millis(&event["timestamp"]).or_else(|| millis(entry_time));
    // Delivery and read receipts are about our messages: they need no sender.
    if let Some(mids) = event["delivery"]["mids"].as_array() {
        for mid in mids.iter().filter_map(|m| text_value(m)) {
            out.push(status(mid, DeliveryStatus::Delivered));
        }
        return Ok(());
    }
    if event["read"].is_object() {
        // Instagram names the message seen; Messenger's `read` carries only a `watermark`
        // (everything before that time was read) and no ids, so there is nothing to mark.
        if let Some(mid) = text(&event["read"], "mid") {
            out.push(status(mid, DeliveryStatus::Read));
        }
        return Ok(());
    }
    let sender = id_of(&event["sender"]["id"]);
    if event["message"].is_object()
        || event["postback"].is_object()
        || event["reaction"].is_object()
        || event["message_edit"].is_object()
    {
        let Some(sender) = sender else {
            return Err(Rejected::invalid("an event has no sender.id"));
        };
        if sender == page_id {
            // The page's own doing (its replies, its reactions), never the customer's.
            return Ok(());
        }
        if !plausible_scoped_id(&sender) {
            return Err(Rejected::invalid(
                "an event's sender.id is not a page-scoped id",
            ));
        }
        let e = Event {
            surface,
            sender,
            timestamp,
            raw: event,
        };
        let item = if event["message"].is_object() {
            message(&e)?.map(|m| Inbound::Message(Box::new(m)))
        } else if event["postback"].is_object() {
            Some(Inbound::Message(Box::new(postback(&e)?)))
        } else if event["reaction"].is_object() {
            Some(Inbound::Message(Box::new(reaction(&e)?)))
        } else {
            edit(&e)?.map(Inbound::Edit)
        };
        out.extend(item);
    }
    // Referrals, opt-ins, handovers, policy notices…: nothing a conversation shows.
    Ok(())
}

fn text_value(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn status(mid: &str, status: DeliveryStatus) -> Inbound {
    Inbound::Status(StatusReport {
        thread_key: Some(mid.to_owned()),
        status,
        reason: String::new(),
        raw: None,
    })
}

fn message(e: &Event<'_>) -> Result<Option<NormalisedInbound>, Rejected> {
    let m = &e.raw["message"];
    if m["is_echo"].as_bool() == Some(true) {
        // A copy of what the page sent: our own sends (already stored as outgoing) and
        // replies typed in Meta Business Suite come back this way. Keeping them would store
        // our own messages a second time as if the customer had written them.
        return Ok(None);
    }
    if m["is_deleted"].as_bool() == Some(true) {
        // Instagram's "unsend": the customer withdrew a message. The conversation keeps
        // what was received (an agent may already have acted on it); there is nothing new
        // to store.
        return Ok(None);
    }
    let mid = text(m, "mid").ok_or_else(|| Rejected::invalid("a message has no mid"))?;
    let surface = e.surface;
    let mut details = Map::new();
    details.insert("mid".into(), json!(mid));
    let mut media = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    if let Some(t) = text(m, "text") {
        lines.push(t.to_owned());
    }
    for a in m["attachments"].as_array().into_iter().flatten() {
        if let Some(line) = attachment(a, surface, &mut details, &mut media) {
            lines.push(line);
        }
    }
    let mut referenced = Vec::new();
    if let Some(quoted) = text(&m["reply_to"], "mid") {
        details.insert("in_reply_to_external_id".into(), json!(quoted));
        referenced.push(quoted.to_owned());
    }
    let story = &m["reply_to"]["story"];
    if story.is_object() {
        details.insert(
            "story_reply".into(),
            json!({ "id": id_of(&story["id"]), "url": text(story, "url") }),
        );
    }
    if let Some(payload) = m["quick_reply"].get("payload") {
        details.insert("quick_reply".into(), json!({ "payload": payload }));
    }
    let mut content = lines.join("\n");
    if content.trim().is_empty() && media.is_empty() {
        content = if m["is_unsupported"].as_bool() == Some(true) {
            format!(
                "[a message {} does not pass on to the API]",
                surface.display_name()
            )
        } else {
            format!("[an empty {} message]", surface.display_name())
        };
    }
    Ok(Some(normalised(
        e,
        mid.to_owned(),
        content,
        details,
        media,
        referenced,
        Some(mid.to_owned()),
    )))
}

/// One attachment: a file to fetch (its URL as the handle) or a line of text for what has no
/// file (a pin, a shared link, a product).
fn attachment(
    a: &Value,
    surface: Surface,
    details: &mut Map<String, Value>,
    media: &mut Vec<MediaRef>,
) -> Option<String> {
    let kind = text(a, "type").unwrap_or("unknown");
    let payload = &a["payload"];
    let url = text(payload, "url");
    match kind {
        "image" | "audio" | "video" | "file" => {
            if let Some(sticker) = payload.get("sticker_id").filter(|s| !s.is_null()) {
                details.insert("sticker_id".into(), sticker.clone());
            }
            match url {
                Some(url) => {
                    media.push(MediaRef {
                        handle: url.to_owned(),
                        content_type: Some(default_type(kind).to_owned()),
                        file_name: None,
                    });
                    None
                }
                None => Some(format!(
                    "[a {kind} {} did not pass on]",
                    surface.display_name()
                )),
            }
        }
        "location" => {
            let c = &payload["coordinates"];
            let (lat, long) = (c["lat"].as_f64(), c["long"].as_f64());
            details.insert(
                "location".into(),
                json!({ "latitude": lat, "longitude": long,
                    "title": text(a, "title"), "url": text(a, "url") }),
            );
            Some(match (lat, long) {
                (Some(lat), Some(long)) => format!("📍 {lat}, {long}"),
                _ => format!("📍 {}", text(a, "title").unwrap_or("a location")),
            })
        }
        "story_mention" => {
            details.insert("story_mention".into(), json!({ "url": url }));
            if let Some(url) = url {
                media.push(MediaRef {
                    handle: url.to_owned(),
                    // A story is a photo or a video: what Meta serves says which.
                    content_type: None,
                    file_name: None,
                });
            }
            Some("[mentioned you in their story]".to_owned())
        }
        "fallback" | "share" | "ig_reel" | "reel" | "ig_post" => {
            let title = text(a, "title").or_else(|| text(payload, "title"));
            let link = text(a, "url").or_else(|| text(a, "URL")).or(url);
            details.insert(kind.into(), json!({ "title": title, "url": link }));
            let line = [title, link]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n");
            Some(if line.is_empty() {
                format!("[a {kind} {} did not describe]", surface.display_name())
            } else {
                line
            })
        }
        "template" => {
            details.insert("template".into(), payload.clone());
            let elements = payload["elements"]
                .as_array()
                .or_else(|| payload["product"]["elements"].as_array());
            let line = elements
                .into_iter()
                .flatten()
                .flat_map(|el| {
                    let link = text(el, "url").or_else(|| text(&el["default_action"], "url"));
                    [text(el, "title"), link]
                })
                .flatten()
                .collect::<Vec<_>>()
                .join("\n");
            Some(if line.is_empty() {
                "[a template message]".to_owned()
            } else {
                line
            })
        }
        other => Some(format!(
            "[a {} attachment of type `{other}` that Throughline cannot show]",
            surface.display_name()
        )),
    }
}

/// Meta's attachment kinds name no MIME type; the type it serves the file with wins when it
/// is specific (see `fetch_media`).
fn default_type(kind: &str) -> &'static str {
    match kind {
        "image" => "image/jpeg",
        "audio" => "audio/mpeg",
        "video" => "video/mp4",
        _ => "application/octet-stream",
    }
}

fn postback(e: &Event<'_>) -> Result<NormalisedInbound, Rejected> {
    let p = &e.raw["postback"];
    let mid = text(p, "mid");
    let external_id = match (mid, e.timestamp) {
        (Some(mid), _) => mid.to_owned(),
        (None, Some(t)) => format!("postback:{}:{t}", e.sender),
        (None, None) => {
            return Err(Rejected::invalid(
                "a postback has neither a mid nor a timestamp",
            ));
        }
    };
    let mut details = Map::new();
    if let Some(mid) = mid {
        details.insert("mid".into(), json!(mid));
    }
    let mut postback = Map::new();
    postback.insert("title".into(), json!(text(p, "title")));
    postback.insert("payload".into(), p["payload"].clone());
    if p["referral"].is_object() {
        postback.insert("referral".into(), p["referral"].clone());
    }
    details.insert("postback".into(), Value::Object(postback));
    let content = text(p, "title")
        .map(str::to_owned)
        .unwrap_or_else(|| "[pressed a button]".to_owned());
    Ok(normalised(
        e,
        external_id,
        content,
        details,
        Vec::new(),
        Vec::new(),
        mid.map(str::to_owned),
    ))
}

fn reaction(e: &Event<'_>) -> Result<NormalisedInbound, Rejected> {
    let r = &e.raw["reaction"];
    let mid = text(r, "mid").ok_or_else(|| Rejected::invalid("a reaction has no mid"))?;
    let t = e
        .timestamp
        .ok_or_else(|| Rejected::invalid("a reaction has no timestamp"))?;
    let action = text(r, "action").unwrap_or("react");
    let emoji = text(r, "emoji").or_else(|| text(r, "reaction"));
    let mut details = Map::new();
    details.insert("is_reaction".into(), json!(true));
    details.insert("in_reply_to_external_id".into(), json!(mid));
    details.insert("action".into(), json!(action));
    if let Some(name) = text(r, "reaction") {
        details.insert("reaction".into(), json!(name));
    }
    if let Some(emoji) = text(r, "emoji") {
        details.insert("emoji".into(), json!(emoji));
    }
    let content = match (action, emoji) {
        ("unreact", Some(emoji)) => format!("unreacted {emoji}"),
        ("unreact", None) => "unreacted".to_owned(),
        (_, Some(emoji)) => emoji.to_owned(),
        (_, None) => "[reacted to a message]".to_owned(),
    };
    Ok(normalised(
        e,
        format!("reaction:{}:{mid}:{t}", e.sender),
        content,
        details,
        Vec::new(),
        // The reaction belongs with the message it reacts to.
        vec![mid.to_owned()],
        None,
    ))
}

fn edit(e: &Event<'_>) -> Result<Option<MessageEdit>, Rejected> {
    let m = &e.raw["message_edit"];
    let mid = text(m, "mid").ok_or_else(|| Rejected::invalid("an edit has no mid"))?;
    // An edit without text (a change Meta does not describe) has nothing to show.
    Ok(text(m, "text").map(|t| MessageEdit {
        external_id: mid.to_owned(),
        content: t.to_owned(),
        edited_at: e.timestamp.map(|ms| ms / 1000),
    }))
}

fn normalised(
    e: &Event<'_>,
    external_id: String,
    content: String,
    details: Map<String, Value>,
    media: Vec<MediaRef>,
    referenced_ids: Vec<String>,
    key: Option<String>,
) -> NormalisedInbound {
    let mut new_attributes = Map::new();
    new_attributes.insert("source".into(), json!(e.surface.key()));
    let mut attributes = Map::new();
    attributes.insert(e.surface.key().into(), Value::Object(details));
    NormalisedInbound {
        sender: InboundSender {
            source_id: Some(e.sender.clone()),
            // Webhooks carry no names: `sender_name` asks the profile API once.
            name: None,
            email: None,
            phone: None,
        },
        external_id,
        content,
        content_attributes: Value::Object(attributes),
        attachments: Vec::new(),
        media,
        // Meta delivers from the account it authenticated, under the app's signature.
        evidence: Evidence::Proven,
        thread: ThreadHints {
            referenced_ids,
            new_conversation_attributes: new_attributes,
            ..ThreadHints::default()
        },
        provider_timestamp: e.timestamp.map(|ms| ms / 1000),
        raw: None,
        malformed: false,
        thread_key: key.map(|key| ThreadKey { key, subject: None }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "1234567890";
    const PSID: &str = "24012345678901234";
    const TS: i64 = 1_700_000_000_123;

    fn webhook(object: &str, events: Value) -> Vec<u8> {
        json!({"object": object, "entry": [{"id": PAGE, "time": TS, "messaging": events}]})
            .to_string()
            .into_bytes()
    }

    fn event(kind: &str, body: Value) -> Value {
        let mut e = json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": TS});
        e[kind] = body;
        e
    }

    fn messenger(events: Value) -> Vec<Inbound> {
        parse_webhook(&webhook("page", events), Surface::Messenger, PAGE).unwrap()
    }

    fn instagram(events: Value) -> Vec<Inbound> {
        parse_webhook(&webhook("instagram", events), Surface::Instagram, PAGE).unwrap()
    }

    fn only_message(items: &[Inbound]) -> &NormalisedInbound {
        assert_eq!(items.len(), 1, "{items:?}");
        match &items[0] {
            Inbound::Message(m) => m,
            other => panic!("a message, not {other:?}"),
        }
    }

    #[test]
    fn a_messenger_text_with_a_quick_reply() {
        let items = messenger(json!([event(
            "message",
            json!({"mid": "m_AbC", "text": "Yes please",
            "quick_reply": {"payload": "ORDER_YES"}})
        )]));
        let m = only_message(&items);
        assert_eq!(m.external_id, "m_AbC");
        assert_eq!(m.content, "Yes please");
        assert_eq!(m.sender.source_id.as_deref(), Some(PSID));
        assert_eq!(m.sender.name, None);
        assert_eq!(m.evidence, Evidence::Proven);
        assert_eq!(m.provider_timestamp, Some(1_700_000_000));
        assert_eq!(m.content_attributes["messenger"]["mid"], "m_AbC");
        assert_eq!(
            m.content_attributes["messenger"]["quick_reply"]["payload"],
            "ORDER_YES"
        );
        assert_eq!(
            m.thread_key,
            Some(ThreadKey {
                key: "m_AbC".into(),
                subject: None
            })
        );
        assert_eq!(m.thread.new_conversation_attributes["source"], "messenger");
        assert!(m.media.is_empty());
    }

    #[test]
    fn an_image_becomes_a_file_to_fetch() {
        let url = "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_cat=1";
        let items = messenger(json!([event(
            "message",
            json!({"mid": "m_img",
            "attachments": [{"type": "image", "payload": {"url": url}}]})
        )]));
        let m = only_message(&items);
        assert_eq!(m.content, "");
        assert_eq!(
            m.media,
            vec![MediaRef {
                handle: url.into(),
                content_type: Some("image/jpeg".into()),
                file_name: None
            }]
        );
    }

    #[test]
    fn a_location_pin_is_written_out() {
        let items = messenger(json!([event(
            "message",
            json!({"mid": "m_loc", "attachments": [{
            "type": "location", "title": "Pinned Location", "url": "https://l.facebook.com/l.php?u=x",
            "payload": {"coordinates": {"lat": 52.2297, "long": 21.0122}}}]})
        )]));
        let m = only_message(&items);
        assert_eq!(m.content, "📍 52.2297, 21.0122");
        let loc = &m.content_attributes["messenger"]["location"];
        assert_eq!(loc["latitude"], 52.2297);
        assert_eq!(loc["title"], "Pinned Location");
    }

    #[test]
    fn a_reply_names_the_quoted_message() {
        let items = messenger(json!([event(
            "message",
            json!({"mid": "m_2", "text": "this one",
            "reply_to": {"mid": "m_1"}})
        )]));
        let m = only_message(&items);
        assert_eq!(m.thread.referenced_ids, vec!["m_1".to_owned()]);
        assert_eq!(
            m.content_attributes["messenger"]["in_reply_to_external_id"],
            "m_1"
        );
    }

    #[test]
    fn a_fallback_and_a_share_become_text() {
        let items = messenger(json!([event(
            "message",
            json!({"mid": "m_fb", "text": "look",
            "attachments": [{"type": "fallback", "title": "A shop", "url": "https://shop.example/x",
                "payload": null}]})
        )]));
        let m = only_message(&items);
        assert_eq!(m.content, "look\nA shop\nhttps://shop.example/x");
        assert_eq!(
            m.content_attributes["messenger"]["fallback"]["title"],
            "A shop"
        );
        let items = instagram(json!([event(
            "message",
            json!({"mid": "ig_sh",
            "attachments": [{"type": "share", "payload": {"url": "https://www.instagram.com/p/xyz"}}]})
        )]));
        assert_eq!(
            only_message(&items).content,
            "https://www.instagram.com/p/xyz"
        );
    }

    #[test]
    fn a_postback_is_the_button_title() {
        let items = messenger(json!([event(
            "postback",
            json!({"mid": "m_pb", "title": "Get Started",
            "payload": "GET_STARTED"})
        )]));
        let m = only_message(&items);
        assert_eq!(m.external_id, "m_pb");
        assert_eq!(m.content, "Get Started");
        assert_eq!(
            m.content_attributes["messenger"]["postback"]["payload"],
            "GET_STARTED"
        );
        let items = messenger(json!([event(
            "postback",
            json!({"title": "Menu", "payload": "M"})
        )]));
        assert_eq!(
            only_message(&items).external_id,
            format!("postback:{PSID}:{TS}")
        );
    }

    #[test]
    fn reactions_name_the_message_they_react_to() {
        let items = messenger(json!([event(
            "reaction",
            json!({"mid": "m_out", "action": "react",
            "reaction": "love", "emoji": "❤️"})
        )]));
        let m = only_message(&items);
        assert_eq!(m.content, "❤️");
        assert_eq!(m.external_id, format!("reaction:{PSID}:m_out:{TS}"));
        let d = &m.content_attributes["messenger"];
        assert_eq!(d["is_reaction"], true);
        assert_eq!(d["in_reply_to_external_id"], "m_out");
        assert_eq!(d["action"], "react");
        assert_eq!(m.thread.referenced_ids, vec!["m_out".to_owned()]);
        let items = instagram(json!([event(
            "reaction",
            json!({"mid": "m_out", "action": "unreact"})
        )]));
        assert_eq!(only_message(&items).content, "unreacted");
    }

    #[test]
    fn echoes_and_the_pages_own_events_are_skipped() {
        let echo = json!({"sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": TS,
            "message": {"mid": "m_echo", "is_echo": true, "app_id": 1517776481860111_i64, "text": "hi"}});
        assert!(messenger(json!([echo])).is_empty());
        let echo_from_user_side = event(
            "message",
            json!({"mid": "m_e2", "is_echo": true, "text": "x"}),
        );
        assert!(messenger(json!([echo_from_user_side])).is_empty());
        let deleted = event("message", json!({"mid": "ig_del", "is_deleted": true}));
        assert!(instagram(json!([deleted])).is_empty());
    }

    #[test]
    fn deliveries_and_reads() {
        let items = messenger(json!([event(
            "delivery",
            json!({"mids": ["m_a", "m_b"],
            "watermark": TS})
        )]));
        let keys: Vec<_> = items
            .iter()
            .map(|i| match i {
                Inbound::Status(s) => {
                    assert_eq!(s.status, DeliveryStatus::Delivered);
                    assert!(s.reason.is_empty());
                    s.thread_key.clone().unwrap()
                }
                other => panic!("a status, not {other:?}"),
            })
            .collect();
        assert_eq!(keys, vec!["m_a".to_owned(), "m_b".to_owned()]);
        assert!(messenger(json!([event("read", json!({"watermark": TS}))])).is_empty());
        let items = instagram(json!([event("read", json!({"mid": "ig_out"}))]));
        let [Inbound::Status(s)] = items.as_slice() else {
            panic!("one status, not {items:?}")
        };
        assert_eq!(s.status, DeliveryStatus::Read);
        assert_eq!(s.thread_key.as_deref(), Some("ig_out"));
    }

    #[test]
    fn instagram_story_mentions_and_story_replies() {
        let url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x";
        let items = instagram(json!([event(
            "message",
            json!({"mid": "ig_sm",
            "attachments": [{"type": "story_mention", "payload": {"url": url}}]})
        )]));
        let m = only_message(&items);
        assert_eq!(m.content, "[mentioned you in their story]");
        assert_eq!(
            m.content_attributes["instagram"]["story_mention"]["url"],
            url
        );
        assert_eq!(m.media[0].handle, url);
        assert_eq!(m.thread.new_conversation_attributes["source"], "instagram");
        let items = instagram(json!([event(
            "message",
            json!({"mid": "ig_sr", "text": "so nice",
            "reply_to": {"story": {"id": "17900000000000000", "url": url}}})
        )]));
        let m = only_message(&items);
        assert_eq!(m.content, "so nice");
        assert_eq!(
            m.content_attributes["instagram"]["story_reply"]["id"],
            "17900000000000000"
        );
    }

    #[test]
    fn an_edit_replaces_the_text() {
        let items = instagram(json!([event(
            "message_edit",
            json!({"mid": "ig_1", "text": "fixed",
            "num_edit": 1})
        )]));
        let [Inbound::Edit(e)] = items.as_slice() else {
            panic!("one edit, not {items:?}")
        };
        assert_eq!(e.external_id, "ig_1");
        assert_eq!(e.content, "fixed");
        assert_eq!(e.edited_at, Some(1_700_000_000));
    }

    #[test]
    fn only_this_pages_entries_are_read() {
        let body = json!({"object": "page", "entry": [
            {"id": "999", "time": TS, "messaging": [event("message", json!({"mid": "m_other", "text": "x"}))]},
            {"id": 1234567890_i64, "time": TS, "messaging": [event("message", json!({"mid": "m_mine", "text": "y"}))]}
        ]})
        .to_string();
        let items = parse_webhook(body.as_bytes(), Surface::Messenger, PAGE).unwrap();
        assert_eq!(only_message(&items).external_id, "m_mine");
        assert!(
            parse_webhook(body.as_bytes(), Surface::Messenger, "555")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let ig = webhook("instagram", json!([]));
        assert_eq!(
            parse_webhook(&ig, Surface::Messenger, PAGE)
                .unwrap_err()
                .status,
            422
        );
        let page = webhook("page", json!([]));
        assert_eq!(
            parse_webhook(&page, Surface::Instagram, PAGE)
                .unwrap_err()
                .status,
            422
        );
        for garbage in [
            &b"{"[..],
            b"",
            b"\xff\xfe",
            b"[]",
            b"null",
            br#"{"object":"page","entry":{}}"#,
        ] {
            assert_eq!(
                parse_webhook(garbage, Surface::Messenger, PAGE)
                    .unwrap_err()
                    .status,
                422
            );
        }
        let bad_sender = webhook(
            "page",
            json!([{"sender": {"id": "../me"}, "message": {"mid": "m", "text": "x"}}]),
        );
        assert_eq!(
            parse_webhook(&bad_sender, Surface::Messenger, PAGE)
                .unwrap_err()
                .status,
            422
        );
        let no_mid = webhook("page", json!([event("message", json!({"text": "x"}))]));
        assert_eq!(
            parse_webhook(&no_mid, Surface::Messenger, PAGE)
                .unwrap_err()
                .status,
            422
        );
    }

    #[test]
    fn an_empty_message_says_so() {
        let items = instagram(json!([event(
            "message",
            json!({"mid": "ig_u", "is_unsupported": true})
        )]));
        assert!(only_message(&items).content.starts_with('['));
        let items = messenger(json!([event(
            "message",
            json!({"mid": "m_x",
            "attachments": [{"type": "mystery", "payload": {}}]})
        )]));
        assert!(only_message(&items).content.contains("`mystery`"));
    }

    #[test]
    fn odd_shapes_never_panic() {
        for body in [
            json!({"object": "page", "entry": [1, null, {"id": PAGE, "messaging": [1, "x", null, {}]}]}),
            json!({"object": "page", "entry": [{"id": PAGE, "messaging": [{"delivery": {"mids": [1, null, ""]}}]}]}),
            json!({"object": "page", "entry": [{"id": PAGE, "messaging": [{"sender": {"id": PSID},
                "message": {"mid": "m", "attachments": [1, {"type": 3}, {"type": "image", "payload": 7},
                {"type": "location", "payload": {"coordinates": "x"}}, {"type": "template", "payload": {"elements": 5}}]}}]}]}),
        ] {
            let _ = parse_webhook(body.to_string().as_bytes(), Surface::Messenger, PAGE);
        }
    }
}
