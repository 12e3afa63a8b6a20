//! Journey campaigns: a message or survey sent some time after a business event on the
//! customer's journey ("order_delivered" + 3 days → a survey about the delivery;
//! "cart_abandoned" + 1 hour → a reminder, unless an "order_created" arrived since), on the
//! channel the customer can be reached through, respecting their opt-outs, quiet hours in
//! their time zone and a frequency cap. This module decides; the store keeps the sends, one
//! per (campaign, contact, event).

use chrono::{TimeZone, Timelike};
use chrono_tz::Tz;
use serde_json::Value;

use crate::Millis;
use crate::model::ChannelType;
use crate::reply_channel::ReplyOption;
use crate::validate::FieldError;

/// Longest wait after the event: 180 days.
pub const MAX_DELAY_MINUTES: i64 = 180 * 24 * 60;

/// What a campaign sends.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// A text, with `{{contact.name}}`, `{{event.title}}` and `{{event.<property>}}` filled in.
    Message(String),
    /// A CSAT or NPS survey, answered like the one after resolution.
    Survey(crate::survey::SurveyType),
}

/// Quiet hours in the contact's local time: from `start` to `end` minutes of the day (may
/// wrap past midnight: 21:00–08:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub start: u16,
    pub end: u16,
}

/// At most `max` sends of any campaign to one contact within `days`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrequencyCap {
    pub max: i64,
    pub days: i64,
}

/// A WhatsApp template to send when the 24-hour window is closed (Chatwoot's
/// `template_params`: name, language, processed_params).
pub type Template = Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Campaign {
    pub trigger: String,
    pub delay_minutes: i64,
    pub cancel_on: Vec<String>,
    pub content: Content,
    pub quiet_hours: Option<QuietHours>,
    pub cap: Option<FrequencyCap>,
    pub template: Option<Template>,
}

fn event_type_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

fn hhmm(field: &str, v: &Value) -> Result<u16, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "invalid",
            format!("{field} must be a time like 21:00"),
        )
    };
    let s = v.as_str().ok_or_else(bad)?;
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Checks a campaign as an administrator writes it (JSON fields of the API); every problem is
/// named by its field.
pub fn check(body: &Value) -> Result<Campaign, Vec<FieldError>> {
    let mut errors = Vec::new();
    let trigger = body["trigger_event_type"]
        .as_str()
        .unwrap_or_default()
        .trim();
    if !event_type_ok(trigger) {
        errors.push(FieldError::new(
            "trigger_event_type",
            "invalid",
            "trigger_event_type must be a business event type such as order_delivered",
        ));
    }
    let delay_minutes = match &body["delay_minutes"] {
        Value::Null => 0,
        v => match v.as_i64().filter(|d| (0..=MAX_DELAY_MINUTES).contains(d)) {
            Some(d) => d,
            None => {
                errors.push(FieldError::new(
                    "delay_minutes",
                    "invalid",
                    format!("delay_minutes must be from 0 to {MAX_DELAY_MINUTES}"),
                ));
                0
            }
        },
    };
    let mut cancel_on = Vec::new();
    match &body["cancel_on_event_types"] {
        Value::Null => {}
        Value::Array(items) if items.len() <= 20 => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(str::trim).filter(|s| event_type_ok(s)) {
                    Some(s) => cancel_on.push(s.to_owned()),
                    None => errors.push(FieldError::new(
                        &format!("cancel_on_event_types[{i}]"),
                        "invalid",
                        "an event type such as order_created",
                    )),
                }
            }
        }
        _ => errors.push(FieldError::new(
            "cancel_on_event_types",
            "invalid",
            "cancel_on_event_types must be a list of at most 20 event types",
        )),
    }
    let content = match body["kind"].as_str().unwrap_or("message") {
        "message" => match body["message"].as_str().map(str::trim) {
            Some(m) if !m.is_empty() && m.chars().count() <= 4_000 => {
                Some(Content::Message(m.to_owned()))
            }
            _ => {
                errors.push(FieldError::new(
                    "message",
                    "blank",
                    "message must be a text of at most 4000 characters",
                ));
                None
            }
        },
        "survey" => {
            let t = body["survey_type"].as_str().unwrap_or("csat");
            match crate::survey::SurveyType::parse(t) {
                Some(s) => Some(Content::Survey(s)),
                None => {
                    errors.push(FieldError::new(
                        "survey_type",
                        "inclusion",
                        "survey_type must be csat or nps",
                    ));
                    None
                }
            }
        }
        _ => {
            errors.push(FieldError::new(
                "kind",
                "inclusion",
                "kind must be message or survey",
            ));
            None
        }
    };
    let quiet_hours = match &body["quiet_hours"] {
        Value::Null => None,
        q => match (
            hhmm("quiet_hours.start", &q["start"]),
            hhmm("quiet_hours.end", &q["end"]),
        ) {
            (Ok(start), Ok(end)) if start != end => Some(QuietHours { start, end }),
            (Ok(_), Ok(_)) => {
                errors.push(FieldError::new(
                    "quiet_hours.end",
                    "invalid",
                    "quiet hours must end at another time than they start",
                ));
                None
            }
            (a, b) => {
                errors.extend(a.err());
                errors.extend(b.err());
                None
            }
        },
    };
    let cap = match &body["frequency_cap"] {
        Value::Null => None,
        c => match (c["max"].as_i64(), c["days"].as_i64()) {
            (Some(max), Some(days)) if (1..=100).contains(&max) && (1..=365).contains(&days) => {
                Some(FrequencyCap { max, days })
            }
            _ => {
                errors.push(FieldError::new(
                    "frequency_cap",
                    "invalid",
                    "frequency_cap needs max (1–100) sends within days (1–365)",
                ));
                None
            }
        },
    };
    let template = match &body["whatsapp_template"] {
        Value::Null => None,
        t if t["name"].as_str().is_some_and(|n| !n.trim().is_empty()) => Some(t.clone()),
        _ => {
            errors.push(FieldError::new(
                "whatsapp_template",
                "invalid",
                "whatsapp_template needs at least the template's name (Chatwoot's template_params)",
            ));
            None
        }
    };
    match content {
        Some(content) if errors.is_empty() => Ok(Campaign {
            trigger: trigger.to_owned(),
            delay_minutes,
            cancel_on,
            content,
            quiet_hours,
            cap,
            template,
        }),
        _ => Err(errors),
    }
}

/// The zone quiet hours are kept in: the first of `names` that is a known time zone (the
/// contact's own, then the inbox's), else UTC.
pub fn zone_of(names: &[Option<&str>]) -> Tz {
    names
        .iter()
        .flatten()
        .find_map(|n| crate::hours::zone(n))
        .unwrap_or(chrono_tz::UTC)
}

/// When quiet hours in `tz` end, if `at` falls inside them.
pub fn quiet_until(at: Millis, tz: Tz, quiet: QuietHours) -> Option<Millis> {
    let local = tz.timestamp_millis_opt(at).single()?;
    let minute = u16::try_from(local.hour() * 60 + local.minute()).ok()?;
    let inside = if quiet.start < quiet.end {
        (quiet.start..quiet.end).contains(&minute)
    } else {
        minute >= quiet.start || minute < quiet.end
    };
    if !inside {
        return None;
    }
    // The end is today, or tomorrow when the quiet stretch wraps past midnight.
    let mut date = local.date_naive();
    if minute >= quiet.end {
        date = date.succ_opt()?;
    }
    let end = date.and_hms_opt(u32::from(quiet.end / 60), u32::from(quiet.end % 60), 0)?;
    let instant = tz
        .from_local_datetime(&end)
        .earliest()
        // A daylight-saving gap at the end: an hour later exists.
        .or_else(|| {
            tz.from_local_datetime(&(end + chrono::Duration::hours(1)))
                .earliest()
        })?;
    Some(instant.timestamp_millis())
}

/// Where a send goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A free-form message through this inbox.
    Message { inbox_id: i64 },
    /// A WhatsApp template through this inbox: its 24-hour window is closed.
    Template { inbox_id: i64 },
    /// No channel can carry it now; why.
    Unreachable(&'static str),
}

/// The inbox a campaign's send goes through: the contact's usual channel (the reply
/// options' default — where they wrote last) unless they opted out of it; WhatsApp with a
/// closed window through the campaign's template when it has one; otherwise the first other
/// channel that can carry it and that they did not opt out of.
pub fn route(
    options: &[(ChannelType, ReplyOption)],
    opted_out: &[String],
    latest_incoming_inbox: Option<i64>,
    has_template: bool,
) -> Route {
    let allowed = |c: ChannelType| !opted_out.iter().any(|o| o == "all" || o == c.short_name());
    if opted_out.iter().any(|o| o == "all") {
        return Route::Unreachable("the contact opted out of every channel");
    }
    // Where they wrote last, when it can carry the send.
    if let Some((channel, o)) = options
        .iter()
        .find(|(_, o)| Some(o.inbox_id) == latest_incoming_inbox)
        && allowed(*channel)
    {
        if o.available {
            return Route::Message {
                inbox_id: o.inbox_id,
            };
        }
        if has_template && o.reason == Some(crate::reply_channel::Unavailable::WhatsappWindowClosed)
        {
            return Route::Template {
                inbox_id: o.inbox_id,
            };
        }
    }
    match options.iter().find(|(c, o)| o.available && allowed(*c)) {
        Some((_, o)) => Route::Message {
            inbox_id: o.inbox_id,
        },
        None => Route::Unreachable("no channel the contact did not opt out of can reach them now"),
    }
}

/// Fills `{{contact.name}}`, `{{event.title}}` and `{{event.<property>}}` (top-level
/// properties; missing ones become empty).
pub fn render(
    text: &str,
    contact_name: &str,
    event_title: Option<&str>,
    properties: &Value,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = rest[start + 2..start + len].trim();
        let value = match key {
            "contact.name" => contact_name.to_owned(),
            "event.title" => event_title.unwrap_or_default().to_owned(),
            k => match k.strip_prefix("event.") {
                Some(p) => match &properties[p] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    v => v.to_string(),
                },
                None => rest[start..start + len + 2].to_owned(),
            },
        };
        out.push_str(&value);
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_campaign_is_checked_field_by_field() {
        let ok = check(&json!({"trigger_event_type": "order_delivered", "delay_minutes": 4320,
            "kind": "survey", "survey_type": "csat", "quiet_hours": {"start": "21:00", "end": "08:00"},
            "frequency_cap": {"max": 2, "days": 30}}))
        .unwrap();
        assert_eq!(ok.content, Content::Survey(crate::survey::SurveyType::Csat));
        assert_eq!(
            ok.quiet_hours,
            Some(QuietHours {
                start: 21 * 60,
                end: 8 * 60
            })
        );
        let errors = check(
            &json!({"trigger_event_type": "bad type!", "delay_minutes": -1,
            "kind": "message", "quiet_hours": {"start": "25:00", "end": "8"},
            "frequency_cap": {"max": 0}, "cancel_on_event_types": ["ok", 5]}),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "trigger_event_type",
            "delay_minutes",
            "message",
            "quiet_hours.start",
            "quiet_hours.end",
            "frequency_cap",
            "cancel_on_event_types[1]",
        ] {
            assert!(fields.contains(&f), "{f} missing in {fields:?}");
        }
    }

    #[test]
    fn quiet_hours_wrap_past_midnight_in_the_contacts_zone() {
        let tz: Tz = "America/Sao_Paulo".parse().unwrap();
        let quiet = QuietHours {
            start: 21 * 60,
            end: 8 * 60,
        };
        // 2026-12-05 23:30 in São Paulo (UTC-3) = 2026-12-06 02:30 UTC.
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 12, 6, 2, 30, 0)
            .unwrap()
            .timestamp_millis();
        let until = quiet_until(at, tz, quiet).unwrap();
        let expected = chrono::Utc
            .with_ymd_and_hms(2026, 12, 6, 11, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(until, expected, "08:00 the next morning, local");
        // 06:00 local: still quiet, until 08:00 the same day.
        let early = chrono::Utc
            .with_ymd_and_hms(2026, 12, 6, 9, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(quiet_until(early, tz, quiet), Some(expected));
        // 10:00 local: not quiet.
        let day = chrono::Utc
            .with_ymd_and_hms(2026, 12, 6, 13, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(quiet_until(day, tz, quiet), None);
        // A daytime quiet stretch (12:00–14:00) does not wrap.
        let lunch = QuietHours {
            start: 12 * 60,
            end: 14 * 60,
        };
        assert_eq!(quiet_until(day, tz, lunch), None);
        let noon = chrono::Utc
            .with_ymd_and_hms(2026, 12, 6, 15, 30, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            quiet_until(noon, tz, lunch),
            Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 12, 6, 17, 0, 0)
                    .unwrap()
                    .timestamp_millis()
            )
        );
    }

    fn option(
        inbox_id: i64,
        available: bool,
        reason: Option<crate::reply_channel::Unavailable>,
    ) -> ReplyOption {
        ReplyOption {
            inbox_id,
            available,
            reason,
            default: false,
            window_closes_at: None,
        }
    }

    #[test]
    fn the_route_prefers_the_last_channel_and_respects_opt_outs() {
        use crate::reply_channel::Unavailable::WhatsappWindowClosed;
        let options = vec![
            (ChannelType::Email, option(1, true, None)),
            (
                ChannelType::Whatsapp,
                option(2, false, Some(WhatsappWindowClosed)),
            ),
            (ChannelType::Sms, option(3, true, None)),
        ];
        assert_eq!(
            route(&options, &[], Some(3), false),
            Route::Message { inbox_id: 3 }
        );
        assert_eq!(
            route(&options, &[], Some(2), true),
            Route::Template { inbox_id: 2 }
        );
        assert_eq!(
            route(&options, &[], Some(2), false),
            Route::Message { inbox_id: 1 }
        );
        assert_eq!(
            route(&options, &["sms".into()], Some(3), false),
            Route::Message { inbox_id: 1 }
        );
        assert_eq!(
            route(&options, &["email".into(), "sms".into()], Some(3), false),
            Route::Unreachable("no channel the contact did not opt out of can reach them now")
        );
        assert!(matches!(
            route(&options, &["all".into()], Some(3), false),
            Route::Unreachable(_)
        ));
    }

    #[test]
    fn placeholders_are_filled() {
        let props = json!({"order_id": "A-17", "total": 99.5});
        assert_eq!(
            render(
                "Oi {{contact.name}}, o pedido {{event.order_id}} ({{ event.total }}) chegou? {{event.none}}{{other}}",
                "Ana",
                Some("Delivered"),
                &props
            ),
            "Oi Ana, o pedido A-17 (99.5) chegou? {{other}}"
        );
        assert_eq!(
            render("unclosed {{contact.name", "Ana", None, &props),
            "unclosed {{contact.name"
        );
    }
}
