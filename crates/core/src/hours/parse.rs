//! Business hours as an inbox's settings carry them (Chatwoot's shape, stored as received),
//! checked and turned into a [`Schedule`].
//!
//! ```json
//! {
//!   "working_hours_enabled": true,
//!   "timezone": "Europe/Warsaw",
//!   "working_hours": [
//!     {"day_of_week": 1, "closed_all_day": false, "open_hour": 9, "open_minutes": 0,
//!      "close_hour": 12, "close_minutes": 0},
//!     {"day_of_week": 1, "closed_all_day": false, "open_hour": 13, "open_minutes": 0,
//!      "close_hour": 18, "close_minutes": 0},
//!     {"day_of_week": 0, "closed_all_day": true}
//!   ],
//!   "holidays": [
//!     {"date": "2026-12-25", "name": "Christmas"},
//!     {"from": "2026-08-10", "to": "2026-08-14", "name": "Summer break"}
//!   ]
//! }
//! ```
//!
//! - `timezone`: an IANA name, or one of Rails' names (Chatwoot's dashboard offers those);
//!   missing or blank is UTC.
//! - `working_hours`: Chatwoot sends one entry per day; several entries for the same day are
//!   several periods (Throughline's extension), merged where they overlap. A day without an
//!   entry is closed. `closed_all_day` entries add nothing, `open_all_day` ones are the whole
//!   day, and both at once is refused as Chatwoot refuses it. Hours are required on other
//!   entries, minutes default to 0; a close of 24:00 or 23:59 (Chatwoot's way of writing it)
//!   is the end of the day.
//! - `holidays` (Throughline's): whole local days closed, one `date` or a `from`–`to` range
//!   (inclusive).
//! - `working_hours_enabled`: without it the inbox is open around the clock.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::{Holiday, MINUTES_PER_DAY, Period, Schedule, zones};
use crate::filter::flag_value;
use crate::validate::FieldError;

/// Why business hours were refused, naming the field at fault ([`ScheduleError::field`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("timezone {name:?} is not a known time zone")]
    UnknownTimezone { name: String },
    #[error("{field} must be {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("{field} is required")]
    Missing { field: String },
    #[error("{field} must be from {min} to {max}, not {value}")]
    OutOfRange {
        field: String,
        min: i64,
        max: i64,
        value: i64,
    },
    #[error("working_hours[{index}] cannot be both open_all_day and closed_all_day")]
    OpenAndClosedAllDay { index: usize },
    /// 24 o'clock only as 24:00, the end of the day.
    #[error("working_hours[{index}] closes at 24:{minutes:02}; only 24:00 ends the day")]
    PastMidnight { index: usize, minutes: i64 },
    #[error("working_hours[{index}] closes at {close} which is not after it opens at {open}")]
    CloseNotAfterOpen {
        index: usize,
        open: String,
        close: String,
    },
    #[error("{field} must be a date written YYYY-MM-DD, not {value:?}")]
    InvalidDate { field: String, value: String },
    #[error("holidays[{index}] takes either date, or from and to, not both")]
    DateAndRange { index: usize },
    #[error("holidays[{index}] ends ({to}) before it starts ({from})")]
    RangeReversed {
        index: usize,
        from: NaiveDate,
        to: NaiveDate,
    },
}

impl ScheduleError {
    /// The field at fault, as the API reports it: `timezone`, `working_hours[2].close_hour`,
    /// `holidays[0].date`…
    pub fn field(&self) -> String {
        match self {
            Self::UnknownTimezone { .. } => "timezone".to_owned(),
            Self::WrongType { field, .. }
            | Self::Missing { field }
            | Self::OutOfRange { field, .. }
            | Self::InvalidDate { field, .. } => field.clone(),
            Self::OpenAndClosedAllDay { index } => format!("working_hours[{index}].open_all_day"),
            Self::PastMidnight { index, .. } => format!("working_hours[{index}].close_minutes"),
            Self::CloseNotAfterOpen { index, .. } => format!("working_hours[{index}].close_hour"),
            Self::DateAndRange { index } => format!("holidays[{index}].date"),
            Self::RangeReversed { index, .. } => format!("holidays[{index}].to"),
        }
    }

    /// The error as the API's 422 answers carry it.
    pub fn to_field_error(&self) -> FieldError {
        FieldError::new(&self.field(), "invalid", self.to_string())
    }
}

/// The schedule an inbox's settings describe: [`Schedule::always`] unless
/// `working_hours_enabled` is true, else `timezone`, `working_hours` and `holidays` read by
/// [`working_hours`]. Settings that are not an object enable nothing.
pub fn from_settings(settings: &Value) -> Result<Schedule, ScheduleError> {
    let enabled = match settings.get("working_hours_enabled") {
        None | Some(Value::Null) => false,
        Some(v) => flag_value(v).ok_or_else(|| wrong_type("working_hours_enabled", BOOLEAN))?,
    };
    if !enabled {
        return Ok(Schedule::always());
    }
    let timezone = match settings.get("timezone") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.as_str()),
        Some(_) => return Err(wrong_type("timezone", "a string")),
    };
    working_hours(
        timezone,
        settings.get("working_hours").unwrap_or(&Value::Null),
        settings.get("holidays"),
    )
}

/// Checks business hours whether or not they are enabled (the HTTP layer refuses an update
/// that would store hours it could not use later). `null` hours or holidays are none.
pub fn working_hours(
    timezone: Option<&str>,
    working_hours: &Value,
    holidays: Option<&Value>,
) -> Result<Schedule, ScheduleError> {
    let tz = parse_timezone(timezone)?;
    let mut week: [Vec<Period>; 7] = Default::default();
    for (index, entry) in list(working_hours, "working_hours")?.iter().enumerate() {
        if let Some((day, period)) = parse_entry(index, entry)? {
            week[day].push(period);
        }
    }
    let holidays = list(holidays.unwrap_or(&Value::Null), "holidays")?
        .iter()
        .enumerate()
        .map(|(index, holiday)| parse_holiday(index, holiday))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Schedule::new(tz, week, holidays))
}

const BOOLEAN: &str = "true or false";

fn wrong_type(field: &str, expected: &'static str) -> ScheduleError {
    ScheduleError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

fn parse_timezone(name: Option<&str>) -> Result<Tz, ScheduleError> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    zones::lookup(name).ok_or_else(|| ScheduleError::UnknownTimezone {
        name: name.to_owned(),
    })
}

fn list<'a>(value: &'a Value, field: &str) -> Result<&'a [Value], ScheduleError> {
    match value {
        Value::Null => Ok(&[]),
        Value::Array(items) => Ok(items),
        _ => Err(wrong_type(field, "a list")),
    }
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, ScheduleError> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(field, "an object"))
}

/// A day of the week and its period, or `None` for a day closed all day.
fn parse_entry(index: usize, entry: &Value) -> Result<Option<(usize, Period)>, ScheduleError> {
    let entry = object(entry, &format!("working_hours[{index}]"))?;
    let field = |key: &str| format!("working_hours[{index}].{key}");
    let day = number(entry.get("day_of_week"), &field("day_of_week"), 0, 6)?.ok_or_else(|| {
        ScheduleError::Missing {
            field: field("day_of_week"),
        }
    })?;
    let day = usize::try_from(day).unwrap_or_default();
    let closed = flag(entry.get("closed_all_day"), &field("closed_all_day"))?;
    let open_all_day = flag(entry.get("open_all_day"), &field("open_all_day"))?;
    match (closed, open_all_day) {
        (true, true) => return Err(ScheduleError::OpenAndClosedAllDay { index }),
        (true, false) => return Ok(None),
        (false, true) => return Ok(Some((day, Period::WHOLE_DAY))),
        (false, false) => {}
    }
    let optional = |key: &str, max: i64| number(entry.get(key), &field(key), 0, max);
    let required = |key: &str, max: i64| {
        optional(key, max)?.ok_or_else(|| ScheduleError::Missing { field: field(key) })
    };
    let open_hour = required("open_hour", 23)?;
    let open_minutes = optional("open_minutes", 59)?.unwrap_or(0);
    let close_hour = required("close_hour", 24)?;
    let close_minutes = optional("close_minutes", 59)?.unwrap_or(0);
    if close_hour == 24 && close_minutes != 0 {
        return Err(ScheduleError::PastMidnight {
            index,
            minutes: close_minutes,
        });
    }
    let open = open_hour * 60 + open_minutes;
    let close = close_hour * 60 + close_minutes;
    if close <= open {
        return Err(ScheduleError::CloseNotAfterOpen {
            index,
            open: format!("{open_hour:02}:{open_minutes:02}"),
            close: format!("{close_hour:02}:{close_minutes:02}"),
        });
    }
    // Chatwoot writes the end of the day as 23:59; the last minute is open all the same.
    let close = if close == 23 * 60 + 59 {
        MINUTES_PER_DAY
    } else {
        u16::try_from(close).unwrap_or(MINUTES_PER_DAY)
    };
    Ok(Some((
        day,
        Period {
            open: u16::try_from(open).unwrap_or_default(),
            close,
        },
    )))
}

/// An optional whole number in `min..=max` (`null` is absent).
fn number(
    value: Option<&Value>,
    field: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ScheduleError> {
    let value = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value
            .as_i64()
            .ok_or_else(|| wrong_type(field, "a whole number"))?,
    };
    if !(min..=max).contains(&value) {
        return Err(ScheduleError::OutOfRange {
            field: field.to_owned(),
            min,
            max,
            value,
        });
    }
    Ok(Some(value))
}

/// An optional flag, false when absent; `"true"`/`"false"` as strings too, as filters take them.
fn flag(value: Option<&Value>, field: &str) -> Result<bool, ScheduleError> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(value) => flag_value(value).ok_or_else(|| wrong_type(field, BOOLEAN)),
    }
}

fn parse_holiday(index: usize, holiday: &Value) -> Result<Holiday, ScheduleError> {
    let holiday = object(holiday, &format!("holidays[{index}]"))?;
    let field = |key: &str| format!("holidays[{index}].{key}");
    let date = |key: &str| -> Result<Option<NaiveDate>, ScheduleError> {
        match holiday.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => {
                parse_date(text)
                    .map(Some)
                    .ok_or_else(|| ScheduleError::InvalidDate {
                        field: field(key),
                        value: text.clone(),
                    })
            }
            Some(_) => Err(wrong_type(&field(key), "a date written YYYY-MM-DD")),
        }
    };
    let missing = |key: &str| ScheduleError::Missing { field: field(key) };
    let (from, to) = match (date("date")?, date("from")?, date("to")?) {
        (Some(day), None, None) => (day, day),
        (Some(_), _, _) => return Err(ScheduleError::DateAndRange { index }),
        (None, Some(from), Some(to)) if to < from => {
            return Err(ScheduleError::RangeReversed { index, from, to });
        }
        (None, Some(from), Some(to)) => (from, to),
        (None, Some(_), None) => return Err(missing("to")),
        (None, None, Some(_)) => return Err(missing("from")),
        (None, None, None) => return Err(missing("date")),
    };
    let name = match holiday.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.trim().to_owned()).filter(|n| !n.is_empty()),
        Some(_) => return Err(wrong_type(&field("name"), "a string")),
    };
    Ok(Holiday { from, to, name })
}

/// `YYYY-MM-DD` exactly: chrono alone would also take unpadded fields and signed years.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, c)| match i {
            4 | 7 => c == b'-',
            _ => c.is_ascii_digit(),
        });
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}
