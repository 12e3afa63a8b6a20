//! Reading a Telegram Bot API `Update` (<https://core.telegram.org/bots/api#update>).
//!
//! One update carries at most one of its optional fields; we read `message`, `edited_message`
//! and `callback_query` (what `setWebhook` asks for) and answer every other kind with nothing,
//! so Telegram counts it delivered instead of retrying it.

use serde_json::{Map, Value, json};
use throughline_core::linking::Evidence;

use crate::inbound::{InboundSender, ThreadKey};
use crate::{Inbound, MediaRef, MessageEdit, NormalisedInbound, Rejected, ThreadHints};

/// Fields of a `Message` that say something happened in the chat (a member joined, the title
/// changed, a message was pinned…) rather than carry what someone wrote to us.
const SERVICE_FIELDS: &[&str] = &[
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "message_auto_delete_timer_changed",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "users_shared",
    "chat_shared",
    "write_access_allowed",
    "proximity_alert_triggered",
    "boost_added",
    "chat_background_set",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "video_chat_scheduled",
    "video_chat_started",
    "video_chat_ended",
    "video_chat_participants_invited",
];

/// Message kinds we cannot show, named for the note the agent reads.
const UNSHOWN_KINDS: &[(&str, &str)] = &[
    ("poll", "poll"),
    ("dice", "dice roll"),
    ("game", "game"),
    ("story", "story"),
    ("invoice", "invoice"),
    ("successful_payment", "payment"),
    ("refunded_payment", "refund"),
    ("paid_media", "paid media post"),
    ("giveaway", "giveaway"),
    ("giveaway_winners", "giveaway result"),
    ("checklist", "checklist"),
];

/// Everything one update asks us to store (zero or one item).
pub fn parse_update(body: &[u8]) -> Result<Vec<Inbound>, Rejected> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| Rejected::invalid(format!("the update is not JSON: {e}")))?;
    let update_id = root["update_id"]
        .as_i64()
        .ok_or_else(|| Rejected::invalid("update_id must be an integer"))?;
    if let Some(m) = root.get("message") {
        return Ok(message(m, update_id)?
            .map(|m| Inbound::Message(Box::new(m)))
            .into_iter()
            .collect());
    }
    if let Some(m) = root.get("edited_message") {
        return Ok(edit(m)?.map(Inbound::Edit).into_iter().collect());
    }
    if let Some(q) = root.get("callback_query") {
        return Ok(callback(q, update_id)?
            .map(|m| Inbound::Message(Box::new(m)))
            .into_iter()
            .collect());
    }
    Ok(Vec::new())
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v[key].as_str().filter(|s| !s.is_empty())
}

/// `first_name last_name` of a `User` (or of a private `Chat`).
fn person_name(user: &Value) -> Option<String> {
    let name = [text(user, "first_name"), text(user, "last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = name.trim();
    if name.is_empty() {
        text(user, "username").map(str::to_owned)
    } else {
        Some(name.to_owned())
    }
}

fn is_bot(user: &Value) -> bool {
    user["is_bot"].as_bool() == Some(true)
}

/// The chat a message belongs to: its id, and whether it is a person's private chat with the
/// bot (a group is one contact with several people writing).
struct Chat<'a> {
    id: i64,
    value: &'a Value,
    private: bool,
}

impl<'a> Chat<'a> {
    fn of(chat: &'a Value) -> Option<Self> {
        let id = chat["id"].as_i64()?;
        let private = match chat["type"].as_str() {
            Some(kind) => kind == "private",
            // Telegram always says; without it, user ids are positive and group ids negative.
            None => id > 0,
        };
        Some(Self {
            id,
            value: chat,
            private,
        })
    }

    fn details(&self) -> Value {
        let mut chat = Map::new();
        chat.insert("id".into(), json!(self.id));
        chat.insert(
            "type".into(),
            json!(self.value["type"].as_str().unwrap_or(if self.private {
                "private"
            } else {
                "group"
            })),
        );
        if let Some(title) = text(self.value, "title") {
            chat.insert("title".into(), json!(title));
        }
        Value::Object(chat)
    }

    /// The contact's name: the person in a private chat, the group's title otherwise.
    fn contact_name(&self, from: &Value) -> Option<String> {
        if self.private {
            person_name(from).or_else(|| person_name(self.value))
        } else {
            text(self.value, "title")
                .map(str::to_owned)
                .or_else(|| person_name(from))
        }
    }
}

/// Who actually wrote, for the UI to show in groups.
fn from_details(from: &Value) -> Option<Value> {
    let id = from["id"].as_i64()?;
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    if let Some(name) = person_name(from) {
        out.insert("name".into(), json!(name));
    }
    if let Some(username) = text(from, "username") {
        out.insert("username".into(), json!(username));
    }
    Some(Value::Object(out))
}

fn file_id(file: &Value) -> Option<String> {
    text(file, "file_id").map(str::to_owned)
}

/// The largest of a photo's sizes (Telegram lists several thumbnails of one picture).
fn largest_photo(sizes: &Value) -> Option<&Value> {
    sizes
        .as_array()?
        .iter()
        .enumerate()
        .filter(|(_, p)| file_id(p).is_some())
        .max_by_key(|(i, p)| {
            let w = p["width"].as_u64().unwrap_or(0);
            let h = p["height"].as_u64().unwrap_or(0);
            (
                w.saturating_mul(h),
                p["file_size"].as_u64().unwrap_or(0),
                *i,
            )
        })
        .map(|(_, p)| p)
}

fn media_ref(file: &Value, default_type: &str) -> Option<MediaRef> {
    Some(MediaRef {
        handle: file_id(file)?,
        content_type: Some(
            text(file, "mime_type")
                .map(|t| t.split(';').next().unwrap_or(t).trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| default_type.to_owned()),
        ),
        file_name: text(file, "file_name").map(str::to_owned),
    })
}

/// The file a message carries, with the kind's name and any detail worth keeping.
fn media_of(m: &Value, details: &mut Map<String, Value>) -> Option<(&'static str, MediaRef)> {
    if let Some(photo) = largest_photo(&m["photo"]) {
        return Some((
            "photo",
            MediaRef {
                handle: file_id(photo)?,
                content_type: Some("image/jpeg".into()),
                file_name: None,
            },
        ));
    }
    if m["voice"].is_object() {
        details.insert("voice".into(), json!(true));
        return Some(("voice", media_ref(&m["voice"], "audio/ogg")?));
    }
    if m["audio"].is_object() {
        return Some(("audio", media_ref(&m["audio"], "audio/mpeg")?));
    }
    if m["video_note"].is_object() {
        return Some(("video_note", media_ref(&m["video_note"], "video/mp4")?));
    }
    if m["video"].is_object() {
        return Some(("video", media_ref(&m["video"], "video/mp4")?));
    }
    // Telegram sets `document` too on an animation, for old clients: the animation is the
    // better description.
    if m["animation"].is_object() {
        return Some(("animation", media_ref(&m["animation"], "video/mp4")?));
    }
    if m["sticker"].is_object() {
        let s = &m["sticker"];
        let content_type = if s["is_animated"].as_bool() == Some(true) {
            "application/x-tgsticker"
        } else if s["is_video"].as_bool() == Some(true) {
            "video/webm"
        } else {
            "image/webp"
        };
        let mut sticker = Map::new();
        if let Some(emoji) = text(s, "emoji") {
            sticker.insert("emoji".into(), json!(emoji));
        }
        if let Some(set) = text(s, "set_name") {
            sticker.insert("set_name".into(), json!(set));
        }
        details.insert("sticker".into(), Value::Object(sticker));
        return Some((
            "sticker",
            MediaRef {
                handle: file_id(s)?,
                content_type: Some(content_type.into()),
                file_name: None,
            },
        ));
    }
    if m["document"].is_object() {
        let d = &m["document"];
        return Some((
            "document",
            MediaRef {
                handle: file_id(d)?,
                content_type: text(d, "mime_type")
                    .map(|t| t.split(';').next().unwrap_or(t).trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty()),
                file_name: text(d, "file_name").map(str::to_owned),
            },
        ));
    }
    None
}

fn coordinates(l: &Value) -> Option<(f64, f64)> {
    Some((l["latitude"].as_f64()?, l["longitude"].as_f64()?))
}

/// What a message without a file says, when it is not text: a place, a contact card, or a
/// note naming what we cannot show.
fn non_text_content(m: &Value, details: &mut Map<String, Value>) -> (&'static str, String) {
    // A venue carries its `location` too: the venue says more.
    if m["venue"].is_object() {
        let v = &m["venue"];
        let mut location = Map::new();
        let point = coordinates(&v["location"]);
        if let Some((lat, lon)) = point {
            location.insert("latitude".into(), json!(lat));
            location.insert("longitude".into(), json!(lon));
        }
        let title = text(v, "title");
        let address = text(v, "address");
        if let Some(t) = title {
            location.insert("name".into(), json!(t));
        }
        if let Some(a) = address {
            location.insert("address".into(), json!(a));
        }
        details.insert("location".into(), Value::Object(location));
        let place = [title, address]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        let content = match point {
            Some((lat, lon)) if place.is_empty() => format!("📍 {lat}, {lon}"),
            Some((lat, lon)) => format!("📍 {place} ({lat}, {lon})"),
            None => format!("📍 {place}"),
        };
        return ("venue", content);
    }
    if m["location"].is_object() {
        let l = &m["location"];
        details.insert("location".into(), l.clone());
        let content = match coordinates(l) {
            Some((lat, lon)) => format!("📍 {lat}, {lon}"),
            None => "📍".to_owned(),
        };
        return ("location", content);
    }
    if m["contact"].is_object() {
        let c = &m["contact"];
        details.insert("contact".into(), c.clone());
        let name = person_name(c).unwrap_or_else(|| "?".to_owned());
        let phone = text(c, "phone_number").unwrap_or_default();
        return ("contact", format!("👤 {name} {phone}").trim().to_owned());
    }
    // What a Web App button sent back: the customer's answer, though not typed.
    if let Some(data) = m["web_app_data"]["data"].as_str() {
        details.insert("web_app_data".into(), m["web_app_data"].clone());
        return ("web_app_data", data.to_owned());
    }
    let (kind, label) = UNSHOWN_KINDS
        .iter()
        .find(|(key, _)| !m[*key].is_null())
        .copied()
        .unwrap_or(("unknown", "message"));
    (
        kind,
        format!("[a Telegram {label} that Throughline cannot show]"),
    )
}

fn new_conversation_attributes() -> Map<String, Value> {
    let mut attributes = Map::new();
    attributes.insert("source".into(), json!("telegram"));
    attributes
}

/// A customer's message; `None` for what is not someone writing to us (a bot's message, a
/// member joining a group…).
fn message(m: &Value, update_id: i64) -> Result<Option<NormalisedInbound>, Rejected> {
    let chat = Chat::of(&m["chat"]).ok_or_else(|| Rejected::invalid("a message has no chat id"))?;
    let message_id = m["message_id"]
        .as_i64()
        .ok_or_else(|| Rejected::invalid("a message has no message_id"))?;
    let from = &m["from"];
    if is_bot(from) || SERVICE_FIELDS.iter().any(|f| !m[*f].is_null()) {
        return Ok(None);
    }
    let external_id = format!("{}:{message_id}", chat.id);

    let mut details = Map::new();
    details.insert("update_id".into(), json!(update_id));
    details.insert("message_id".into(), json!(message_id));
    details.insert("chat".into(), chat.details());
    if let Some(f) = from_details(from) {
        details.insert("from".into(), f);
    }

    let mut media = Vec::new();
    let (kind, content) = if let Some(t) = m["text"].as_str() {
        if t.starts_with('/') {
            details.insert("command".into(), json!(true));
        }
        ("text", t.to_owned())
    } else if let Some((kind, file)) = media_of(m, &mut details) {
        media.push(file);
        (kind, m["caption"].as_str().unwrap_or_default().to_owned())
    } else if let Some(caption) = text(m, "caption") {
        // A file whose id we could not read: its caption is still what the customer wrote.
        ("caption", caption.to_owned())
    } else {
        non_text_content(m, &mut details)
    };
    details.insert("type".into(), json!(kind));

    let reply = &m["reply_to_message"];
    let quoted = reply["message_id"].as_i64().map(|id| {
        let quoted_chat = reply["chat"]["id"].as_i64().unwrap_or(chat.id);
        format!("{quoted_chat}:{id}")
    });
    if let Some(q) = &quoted {
        details.insert("in_reply_to_external_id".into(), json!(q));
    }
    if m["forward_origin"].is_object() || !m["forward_date"].is_null() {
        details.insert("forwarded".into(), json!(true));
    }
    if let Some(group) = text(m, "media_group_id") {
        details.insert("media_group_id".into(), json!(group));
    }

    Ok(Some(NormalisedInbound {
        sender: InboundSender {
            source_id: Some(chat.id.to_string()),
            name: chat.contact_name(from),
            email: None,
            phone: None,
        },
        external_id: external_id.clone(),
        content,
        content_attributes: json!({ "telegram": Value::Object(details) }),
        attachments: Vec::new(),
        media,
        // Telegram delivered it from that account (or group): nobody else can write as it.
        evidence: Evidence::Proven,
        thread: ThreadHints {
            referenced_ids: quoted.into_iter().collect(),
            new_conversation_attributes: new_conversation_attributes(),
            ..ThreadHints::default()
        },
        provider_timestamp: m["date"].as_i64(),
        raw: None,
        malformed: false,
        thread_key: Some(ThreadKey {
            key: external_id,
            subject: None,
        }),
    }))
}

/// A customer changed a message's text or caption. Other edits (a live location moving, a
/// file replaced without a caption on a message that had none) change nothing we show.
fn edit(m: &Value) -> Result<Option<MessageEdit>, Rejected> {
    let chat = Chat::of(&m["chat"])
        .ok_or_else(|| Rejected::invalid("an edited message has no chat id"))?;
    let message_id = m["message_id"]
        .as_i64()
        .ok_or_else(|| Rejected::invalid("an edited message has no message_id"))?;
    if is_bot(&m["from"]) {
        return Ok(None);
    }
    let has_file = ["photo", "video", "document", "audio", "animation"]
        .iter()
        .any(|k| !m[*k].is_null());
    let content = match (m["text"].as_str(), m["caption"].as_str()) {
        (Some(t), _) => t.to_owned(),
        (None, Some(c)) => c.to_owned(),
        // Telegram leaves `caption` out once it is removed.
        (None, None) if has_file => String::new(),
        (None, None) => return Ok(None),
    };
    Ok(Some(MessageEdit {
        external_id: format!("{}:{message_id}", chat.id),
        content,
        edited_at: m["edit_date"].as_i64(),
    }))
}

/// The label of the inline button whose `callback_data` is `data`, on the message it was
/// pressed under.
fn button_text<'a>(message: &'a Value, data: &str) -> Option<&'a str> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()?
        .iter()
        .filter_map(Value::as_array)
        .flatten()
        .find(|b| b["callback_data"].as_str() == Some(data))
        .and_then(|b| text(b, "text"))
}

/// A customer pressed an inline button: what they chose is their message.
fn callback(q: &Value, update_id: i64) -> Result<Option<NormalisedInbound>, Rejected> {
    let id = text(q, "id").ok_or_else(|| Rejected::invalid("a callback_query has no id"))?;
    let from = &q["from"];
    if is_bot(from) {
        return Ok(None);
    }
    let message = &q["message"];
    // A button on an inline-mode message has no chat we can see: the person's own chat with
    // the bot is where they can be answered.
    let chat = Chat::of(&message["chat"])
        .or_else(|| {
            from["id"].as_i64().map(|id| Chat {
                id,
                value: &Value::Null,
                private: true,
            })
        })
        .ok_or_else(|| Rejected::invalid("a callback_query names no chat and no user"))?;
    let data = text(q, "data");
    let content = match data {
        Some(d) => button_text(message, d).unwrap_or(d).to_owned(),
        None => match text(q, "game_short_name") {
            Some(game) => format!("[pressed the button of the Telegram game `{game}`]"),
            None => "[pressed a Telegram button that carries no data]".to_owned(),
        },
    };
    let external_id = format!("callback:{id}");

    let mut details = Map::new();
    details.insert("update_id".into(), json!(update_id));
    details.insert("type".into(), json!("callback_query"));
    details.insert("chat".into(), chat.details());
    if let Some(f) = from_details(from) {
        details.insert("from".into(), f);
    }
    details.insert("callback_query".into(), json!({ "id": id, "data": data }));
    // The buttons sit under one of our messages: the press answers it.
    let quoted = message["message_id"]
        .as_i64()
        .filter(|_| message["chat"]["id"].as_i64().is_some())
        .map(|mid| format!("{}:{mid}", chat.id));
    if let Some(q) = &quoted {
        details.insert("message_id".into(), message["message_id"].clone());
        details.insert("in_reply_to_external_id".into(), json!(q));
    }

    Ok(Some(NormalisedInbound {
        sender: InboundSender {
            source_id: Some(chat.id.to_string()),
            name: chat.contact_name(from),
            email: None,
            phone: None,
        },
        external_id: external_id.clone(),
        content,
        content_attributes: json!({ "telegram": Value::Object(details) }),
        attachments: Vec::new(),
        media: Vec::new(),
        evidence: Evidence::Proven,
        thread: ThreadHints {
            referenced_ids: quoted.into_iter().collect(),
            new_conversation_attributes: new_conversation_attributes(),
            ..ThreadHints::default()
        },
        // A press has no date of its own (the message's date is when we sent the buttons).
        provider_timestamp: None,
        raw: None,
        malformed: false,
        thread_key: Some(ThreadKey {
            key: external_id,
            subject: None,
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    fn one_message(value: Value) -> NormalisedInbound {
        let mut items = parse_update(&update(value)).unwrap();
        assert_eq!(items.len(), 1, "one item");
        match items.remove(0) {
            Inbound::Message(m) => *m,
            other => panic!("a message, got {other:?}"),
        }
    }

    fn ana() -> Value {
        json!({"id": 111_222_333, "is_bot": false, "first_name": "Ana", "last_name": "Souza",
            "username": "anasouza", "language_code": "pt-br"})
    }

    fn private_chat() -> Value {
        json!({"id": 111_222_333, "first_name": "Ana", "last_name": "Souza",
            "username": "anasouza", "type": "private"})
    }

    fn private(message: Value) -> Value {
        let mut m = json!({"message_id": 52, "from": ana(), "chat": private_chat(),
            "date": 1_700_000_000});
        for (k, v) in message.as_object().unwrap() {
            m[k] = v.clone();
        }
        json!({"update_id": 900_001, "message": m})
    }

    #[test]
    fn a_private_text_is_the_persons_message() {
        let m = one_message(private(json!({"text": "Olá, meu pedido não chegou"})));
        assert_eq!(m.external_id, "111222333:52");
        assert_eq!(m.content, "Olá, meu pedido não chegou");
        assert_eq!(m.sender.source_id.as_deref(), Some("111222333"));
        assert_eq!(m.sender.name.as_deref(), Some("Ana Souza"));
        assert_eq!(m.sender.email, None);
        assert_eq!(m.sender.phone, None);
        assert_eq!(m.evidence, Evidence::Proven);
        assert_eq!(m.provider_timestamp, Some(1_700_000_000));
        assert_eq!(m.thread_key.as_ref().unwrap().key, "111222333:52");
        assert_eq!(m.thread.new_conversation_attributes["source"], "telegram");
        assert!(m.thread.referenced_ids.is_empty());
        let t = &m.content_attributes["telegram"];
        assert_eq!(t["update_id"], 900_001);
        assert_eq!(t["message_id"], 52);
        assert_eq!(t["chat"], json!({"id": 111_222_333, "type": "private"}));
        assert_eq!(
            t["from"],
            json!({"id": 111_222_333, "name": "Ana Souza", "username": "anasouza"})
        );
        assert_eq!(t["type"], "text");
        assert!(t.get("command").is_none());
        assert!(m.media.is_empty());
    }

    #[test]
    fn two_people_in_a_group_are_one_contact_named_by_the_group() {
        let chat = json!({"id": -1_001_234_567_890_i64, "title": "Loja — suporte",
            "type": "supergroup"});
        let first = one_message(json!({"update_id": 1, "message": {"message_id": 7,
            "from": ana(), "chat": chat, "date": 1_700_000_100, "text": "Alguém aí?"}}));
        let second = one_message(json!({"update_id": 2, "message": {"message_id": 8,
            "from": {"id": 555, "is_bot": false, "first_name": "Bruno"}, "chat": chat,
            "date": 1_700_000_160, "text": "Também estou esperando"}}));
        assert_eq!(first.sender.source_id.as_deref(), Some("-1001234567890"));
        assert_eq!(first.sender.source_id, second.sender.source_id);
        assert_eq!(first.sender.name.as_deref(), Some("Loja — suporte"));
        assert_eq!(second.sender.name.as_deref(), Some("Loja — suporte"));
        assert_eq!(first.external_id, "-1001234567890:7");
        assert_eq!(second.external_id, "-1001234567890:8");
        let (a, b) = (
            &first.content_attributes["telegram"],
            &second.content_attributes["telegram"],
        );
        assert_eq!(a["chat"]["title"], "Loja — suporte");
        assert_eq!(a["chat"]["type"], "supergroup");
        assert_eq!(a["from"]["name"], "Ana Souza");
        assert_eq!(b["from"], json!({"id": 555, "name": "Bruno"}));
    }

    #[test]
    fn a_photo_keeps_its_largest_size_and_its_caption() {
        let m = one_message(private(json!({
            "photo": [
                {"file_id": "AgAD-small", "file_unique_id": "s", "file_size": 1200, "width": 90, "height": 67},
                {"file_id": "AgAD-large", "file_unique_id": "l", "file_size": 98_000, "width": 1280, "height": 960},
                {"file_id": "AgAD-medium", "file_unique_id": "m", "file_size": 24_000, "width": 320, "height": 240}
            ],
            "caption": "A caixa chegou assim",
            "media_group_id": "13579"
        })));
        assert_eq!(m.content, "A caixa chegou assim");
        assert_eq!(
            m.media,
            vec![MediaRef {
                handle: "AgAD-large".into(),
                content_type: Some("image/jpeg".into()),
                file_name: None,
            }]
        );
        assert_eq!(m.content_attributes["telegram"]["type"], "photo");
        assert_eq!(m.content_attributes["telegram"]["media_group_id"], "13579");
    }

    #[test]
    fn voice_and_documents_become_files_to_fetch() {
        let voice = one_message(private(json!({"voice": {"file_id": "AwACAgvoice",
            "file_unique_id": "v", "duration": 4, "mime_type": "audio/ogg", "file_size": 9000}})));
        assert_eq!(voice.content, "");
        assert_eq!(voice.media[0].handle, "AwACAgvoice");
        assert_eq!(voice.media[0].content_type.as_deref(), Some("audio/ogg"));
        assert_eq!(voice.content_attributes["telegram"]["voice"], true);

        let doc = one_message(private(json!({"document": {"file_id": "BQACAgdoc",
            "file_unique_id": "d", "file_name": "nota fiscal.pdf", "mime_type": "application/pdf",
            "file_size": 52_000}, "caption": "Segue a nota"})));
        assert_eq!(doc.content, "Segue a nota");
        assert_eq!(
            doc.media,
            vec![MediaRef {
                handle: "BQACAgdoc".into(),
                content_type: Some("application/pdf".into()),
                file_name: Some("nota fiscal.pdf".into()),
            }]
        );

        // An animation also carries `document` for old clients: one file, the animation.
        let gif = one_message(private(json!({
            "animation": {"file_id": "CgACAgani", "file_unique_id": "a", "width": 320,
                "height": 240, "duration": 2, "file_name": "lol.mp4", "mime_type": "video/mp4"},
            "document": {"file_id": "CgACAgani", "file_unique_id": "a", "file_name": "lol.mp4",
                "mime_type": "video/mp4"}})));
        assert_eq!(gif.media.len(), 1);
        assert_eq!(gif.content_attributes["telegram"]["type"], "animation");

        let sticker = one_message(private(json!({"sticker": {"file_id": "CAACAgtgs",
            "file_unique_id": "t", "type": "regular", "width": 512, "height": 512,
            "is_animated": true, "is_video": false, "emoji": "😂", "set_name": "Funny"}})));
        assert_eq!(
            sticker.media[0].content_type.as_deref(),
            Some("application/x-tgsticker")
        );
        assert_eq!(
            sticker.content_attributes["telegram"]["sticker"]["emoji"],
            "😂"
        );
        let round = one_message(private(json!({"video_note": {"file_id": "DQACAgnote",
            "file_unique_id": "n", "length": 240, "duration": 5}})));
        assert_eq!(round.media[0].content_type.as_deref(), Some("video/mp4"));
    }

    #[test]
    fn places_and_contact_cards_are_written_out() {
        let loc = one_message(private(
            json!({"location": {"latitude": -23.5505, "longitude": -46.6333}}),
        ));
        assert_eq!(loc.content, "📍 -23.5505, -46.6333");
        assert_eq!(
            loc.content_attributes["telegram"]["location"]["latitude"],
            -23.5505
        );

        let venue = one_message(private(json!({
            "location": {"latitude": 52.2297, "longitude": 21.0122},
            "venue": {"location": {"latitude": 52.2297, "longitude": 21.0122},
                "title": "Pałac Kultury", "address": "plac Defilad 1, Warszawa"}})));
        assert_eq!(
            venue.content,
            "📍 Pałac Kultury, plac Defilad 1, Warszawa (52.2297, 21.0122)"
        );
        assert_eq!(venue.content_attributes["telegram"]["type"], "venue");

        let card = one_message(private(
            json!({"contact": {"phone_number": "+5511987654321",
            "first_name": "Carla", "last_name": "Dias", "user_id": 777}}),
        ));
        assert_eq!(card.content, "👤 Carla Dias +5511987654321");
        assert_eq!(
            card.content_attributes["telegram"]["contact"]["user_id"],
            777
        );
        // The card's number is not the sender's.
        assert_eq!(card.sender.phone, None);

        let poll = one_message(private(json!({"poll": {"id": "1", "question": "?",
            "options": [], "total_voter_count": 0, "is_closed": false, "is_anonymous": true,
            "type": "regular", "allows_multiple_answers": false}})));
        assert_eq!(
            poll.content,
            "[a Telegram poll that Throughline cannot show]"
        );
    }

    #[test]
    fn a_reply_references_the_quoted_message_and_commands_pass_as_text() {
        let reply = one_message(private(json!({"text": "Isso mesmo", "reply_to_message": {
            "message_id": 50, "from": {"id": 999, "is_bot": true, "first_name": "Loja"},
            "chat": private_chat(), "date": 1_699_999_000, "text": "Seu pedido é o 1042?"}})));
        assert_eq!(reply.thread.referenced_ids, vec!["111222333:50".to_owned()]);
        assert_eq!(
            reply.content_attributes["telegram"]["in_reply_to_external_id"],
            "111222333:50"
        );

        let command = one_message(private(json!({"text": "/start promo42",
            "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]})));
        assert_eq!(command.content, "/start promo42");
        assert_eq!(command.content_attributes["telegram"]["command"], true);
    }

    #[test]
    fn an_edit_names_the_message_it_changes() {
        let items = parse_update(&update(json!({"update_id": 900_010, "edited_message": {
            "message_id": 52, "from": ana(), "chat": private_chat(), "date": 1_700_000_000,
            "edit_date": 1_700_000_300, "text": "Olá, meu pedido 1042 não chegou"}})))
        .unwrap();
        let [Inbound::Edit(edit)] = &items[..] else {
            panic!("one edit, got {items:?}")
        };
        assert_eq!(
            edit,
            &MessageEdit {
                external_id: "111222333:52".into(),
                content: "Olá, meu pedido 1042 não chegou".into(),
                edited_at: Some(1_700_000_300),
            }
        );
        // A live location moving is an edit with nothing we show.
        let moved = parse_update(&update(json!({"update_id": 900_011, "edited_message": {
            "message_id": 53, "from": ana(), "chat": private_chat(), "date": 1_700_000_000,
            "edit_date": 1_700_000_060, "location": {"latitude": 1.0, "longitude": 2.0,
            "live_period": 900}}})))
        .unwrap();
        assert!(moved.is_empty());
    }

    #[test]
    fn a_pressed_button_is_the_customers_answer() {
        let body = update(json!({"update_id": 900_020, "callback_query": {
            "id": "4382bfdwdsb323b2d9", "from": ana(), "chat_instance": "-8214",
            "data": "order:1042:cancel",
            "message": {"message_id": 60, "from": {"id": 999, "is_bot": true, "first_name": "Loja"},
                "chat": private_chat(), "date": 1_700_000_400, "text": "O que deseja fazer?",
                "reply_markup": {"inline_keyboard": [
                    [{"text": "Rastrear", "callback_data": "order:1042:track"}],
                    [{"text": "Cancelar pedido", "callback_data": "order:1042:cancel"},
                     {"text": "Site", "url": "https://example.com"}]]}}}}));
        let m = one_message(serde_json::from_slice(&body).unwrap());
        assert_eq!(m.external_id, "callback:4382bfdwdsb323b2d9");
        assert_eq!(m.content, "Cancelar pedido");
        assert_eq!(m.sender.source_id.as_deref(), Some("111222333"));
        assert_eq!(m.sender.name.as_deref(), Some("Ana Souza"));
        assert_eq!(m.thread.referenced_ids, vec!["111222333:60".to_owned()]);
        assert_eq!(
            m.content_attributes["telegram"]["callback_query"],
            json!({"id": "4382bfdwdsb323b2d9", "data": "order:1042:cancel"})
        );

        // Without the message (an inline-mode button) or a matching button: the data, in the
        // person's own chat.
        let bare = one_message(json!({"update_id": 900_021, "callback_query": {
            "id": "77", "from": ana(), "chat_instance": "1", "inline_message_id": "AAA",
            "data": "yes"}}));
        assert_eq!(bare.content, "yes");
        assert_eq!(bare.sender.source_id.as_deref(), Some("111222333"));
        assert!(bare.thread.referenced_ids.is_empty());
    }

    #[test]
    fn what_is_not_someone_writing_to_us_stores_nothing() {
        let bot = json!({"update_id": 3, "message": {"message_id": 9,
            "from": {"id": 999, "is_bot": true, "first_name": "Loja", "username": "loja_bot"},
            "chat": {"id": -100_555, "title": "Suporte", "type": "group"},
            "date": 1_700_000_000, "text": "Olá! Como posso ajudar?"}});
        assert!(parse_update(&update(bot)).unwrap().is_empty());
        let joined = json!({"update_id": 4, "message": {"message_id": 10, "from": ana(),
            "chat": {"id": -100_555, "title": "Suporte", "type": "group"}, "date": 1_700_000_000,
            "new_chat_members": [{"id": 999, "is_bot": true, "first_name": "Loja"}]}});
        assert!(parse_update(&update(joined)).unwrap().is_empty());
        for other in [
            json!({"update_id": 5, "channel_post": {"message_id": 1, "date": 1,
                "chat": {"id": -100_777, "type": "channel", "title": "News"}, "text": "hi"}}),
            json!({"update_id": 6, "my_chat_member": {"chat": {"id": 1, "type": "private"},
                "from": ana(), "date": 1, "old_chat_member": {}, "new_chat_member": {}}}),
            json!({"update_id": 7, "poll": {"id": "1"}}),
            json!({"update_id": 8}),
        ] {
            assert!(parse_update(&update(other)).unwrap().is_empty());
        }
    }

    #[test]
    fn garbage_and_updates_without_an_id_are_refused() {
        for body in [
            &b"not json"[..],
            b"",
            b"[]",
            b"null",
            b"{\"update_id\": \"12\"}",
            b"{\"update_id\": 1.5}",
            b"{\"message\": {\"message_id\": 1, \"chat\": {\"id\": 1}, \"text\": \"hi\"}}",
        ] {
            assert_eq!(parse_update(body).unwrap_err().status, 422, "{body:?}");
        }
        let no_chat = update(json!({"update_id": 1, "message": {"message_id": 1, "text": "x"}}));
        assert_eq!(parse_update(&no_chat).unwrap_err().status, 422);
        let no_id = update(json!({"update_id": 1, "callback_query": {"from": ana()}}));
        assert_eq!(parse_update(&no_id).unwrap_err().status, 422);
    }

    #[test]
    fn odd_shapes_never_panic() {
        for body in [
            json!({"update_id": 1, "message": 5}),
            json!({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1},
                "photo": "x", "voice": [], "location": {"latitude": "a"}}}),
            json!({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1},
                "photo": [{"width": u64::MAX, "height": u64::MAX}, {"file_id": 3}]}}),
            json!({"update_id": 1, "edited_message": {"message_id": 1, "chat": {"id": 1}}}),
            json!({"update_id": 1, "callback_query": {"id": "1", "from": {},
                "message": {"chat": {"id": 2}, "reply_markup": {"inline_keyboard": [1, [2]]}},
                "data": "d"}}),
        ] {
            let _ = parse_update(&update(body));
        }
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse_update(nested.as_bytes()).unwrap_err().status, 422);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_answered_without_panicking(bytes: Vec<u8>) {
            let _ = parse_update(&bytes);
        }

        /// A real update with a piece replaced by any text: still no panic.
        #[test]
        fn damaged_updates_are_answered_without_panicking(
            at in 0usize..400, len in 0usize..20, junk in ".{0,12}"
        ) {
            let body = update(private(json!({"text": "/start", "photo": [{"file_id": "a",
                "width": 1, "height": 1}], "reply_to_message": {"message_id": 1},
                "contact": {"phone_number": "+1", "first_name": "X"}}))).to_vec();
            let body = String::from_utf8(body).unwrap();
            let chars: Vec<char> = body.chars().collect();
            let at = at.min(chars.len());
            let end = (at + len).min(chars.len());
            let damaged: String = chars[..at]
                .iter()
                .chain(junk.chars().collect::<Vec<_>>().iter())
                .chain(chars[end..].iter())
                .collect();
            let _ = parse_update(damaged.as_bytes());
        }
    }
}
