use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const HOUR: Millis = 3_600_000;
const MINUTE: Millis = 60_000;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A local wall-clock time that exists exactly once.
pub(crate) fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> Millis {
    tz.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap()
        .timestamp_millis()
}

pub(crate) fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> Millis {
    local(Tz::UTC, y, m, d, h, min)
}

/// Chatwoot's entry for one open period.
pub(crate) fn open(day: u8, from: (u8, u8), to: (u8, u8)) -> Value {
    json!({"day_of_week": day, "closed_all_day": false, "open_all_day": false,
           "open_hour": from.0, "open_minutes": from.1, "close_hour": to.0, "close_minutes": to.1})
}

pub(crate) fn closed(day: u8) -> Value {
    json!({"day_of_week": day, "closed_all_day": true, "open_all_day": false,
           "open_hour": null, "open_minutes": null, "close_hour": null, "close_minutes": null})
}

/// Monday to Friday 09:00–17:00, weekends closed: what Chatwoot's dashboard sends.
pub(crate) fn office_week() -> Value {
    Value::Array(
        (0..7)
            .map(|day| {
                if (1..=5).contains(&day) {
                    open(day, (9, 0), (17, 0))
                } else {
                    closed(day)
                }
            })
            .collect(),
    )
}

pub(crate) fn schedule(tz: &str, hours: Value, holidays: Value) -> Schedule {
    Schedule::parse_working_hours(Some(tz), &hours, Some(&holidays)).unwrap()
}

fn period(open: u16, close: u16) -> Period {
    Period { open, close }
}

#[test]
fn reads_chatwoots_seven_entries() {
    let s = schedule("Europe/Warsaw", office_week(), Value::Null);
    assert_eq!(s.timezone(), Tz::Europe__Warsaw);
    assert!(s.periods(0).is_empty());
    for day in 1..=5 {
        assert_eq!(s.periods(day), [period(540, 1020)]);
    }
    assert!(s.periods(6).is_empty());
    assert!(s.periods(7).is_empty());
    assert!(!s.is_always_open());
}

#[test]
fn several_periods_a_day_are_sorted_and_merged() {
    let hours = json!([
        open(1, (13, 0), (18, 0)),
        open(1, (9, 0), (12, 0)),
        open(1, (11, 30), (12, 30)),
        open(2, (9, 0), (12, 0)),
        open(2, (12, 0), (14, 0)),
    ]);
    let s = schedule("UTC", hours, Value::Null);
    assert_eq!(s.periods(1), [period(540, 750), period(780, 1080)]);
    assert_eq!(s.periods(2), [period(540, 840)]);
}

#[test]
fn open_all_day_and_both_ways_of_writing_midnight_close_the_day_at_24_00() {
    let hours = json!([
        {"day_of_week": 0, "closed_all_day": false, "open_all_day": true},
        open(1, (20, 0), (24, 0)),
        open(2, (20, 0), (23, 59)),
        // Hours on a day closed all day are ignored, as Chatwoot ignores them.
        {"day_of_week": 3, "closed_all_day": true, "open_hour": 9, "close_hour": 17},
        // Minutes may be left out.
        {"day_of_week": 4, "closed_all_day": false, "open_hour": 8, "close_hour": 16},
    ]);
    let s = schedule("UTC", hours, Value::Null);
    assert_eq!(s.periods(0), [Period::WHOLE_DAY]);
    assert_eq!(s.periods(1), [period(1200, 1440)]);
    assert_eq!(s.periods(2), [period(1200, 1440)]);
    assert!(s.periods(3).is_empty());
    assert_eq!(s.periods(4), [period(480, 960)]);
    // 2026-03-02 is a Monday: open until Tuesday's midnight, then Tuesday 20:00.
    assert!(s.is_open(utc(2026, 3, 2, 23, 59)));
    assert!(!s.is_open(utc(2026, 3, 3, 0, 0)));
    assert_eq!(
        s.next_open(utc(2026, 3, 3, 0, 0)),
        Some(utc(2026, 3, 3, 20, 0))
    );
}

#[test]
fn holidays_close_whole_local_days() {
    let holidays = json!([
        {"date": "2026-12-25", "name": "Christmas"},
        {"from": "2026-08-10", "to": "2026-08-14", "name": "  "},
        {"from": "2026-08-13", "to": "2026-08-17"},
    ]);
    let s = schedule("America/Sao_Paulo", office_week(), holidays);
    assert_eq!(
        s.holidays()[0],
        Holiday {
            from: date(2026, 12, 25),
            to: date(2026, 12, 25),
            name: Some("Christmas".into()),
        }
    );
    assert_eq!(s.holidays()[1].name, None);
    assert_eq!(
        s.closed_dates,
        [
            (date(2026, 8, 10), date(2026, 8, 17)),
            (date(2026, 12, 25), date(2026, 12, 25)),
        ]
    );
    let tz = Tz::America__Sao_Paulo;
    assert!(!s.is_open(local(tz, 2026, 12, 25, 10, 0)));
    assert!(s.is_open(local(tz, 2026, 12, 24, 10, 0)));
    // Christmas is a Friday: closed until Monday.
    assert_eq!(
        s.next_open(local(tz, 2026, 12, 24, 17, 0)),
        Some(local(tz, 2026, 12, 28, 9, 0))
    );
    // The August break runs Monday 10th to Monday 17th.
    assert_eq!(
        s.next_open(local(tz, 2026, 8, 7, 18, 0)),
        Some(local(tz, 2026, 8, 18, 9, 0))
    );
    assert_eq!(
        s.business_time_between(local(tz, 2026, 8, 7, 0, 0), local(tz, 2026, 8, 19, 0, 0)),
        2 * 8 * HOUR
    );
}

#[test]
fn weekends_are_closed_in_the_inbox_time_zone() {
    let s = schedule("Europe/Warsaw", office_week(), Value::Null);
    let tz = Tz::Europe__Warsaw;
    // Friday 2026-01-16, 16:30 Warsaw (15:30 UTC).
    let friday = local(tz, 2026, 1, 16, 16, 30);
    assert_eq!(friday, utc(2026, 1, 16, 15, 30));
    assert!(s.is_open(friday));
    assert_eq!(s.next_open(friday), Some(friday));
    assert_eq!(s.next_close(friday), Some(local(tz, 2026, 1, 16, 17, 0)));
    let saturday = local(tz, 2026, 1, 17, 12, 0);
    assert!(!s.is_open(saturday));
    assert_eq!(s.next_close(saturday), None);
    let monday = local(tz, 2026, 1, 19, 9, 0);
    assert_eq!(s.next_open(saturday), Some(monday));
    assert!(!s.is_open(monday - 1));
    assert!(s.is_open(monday));
    // Two hours from Friday 16:30: half an hour on Friday, the rest on Monday morning.
    assert_eq!(
        s.add_business_time(friday, 2 * HOUR),
        Some(monday + 90 * MINUTE)
    );
    // Exactly the rest of Friday ends at Friday's close, not at Monday's opening.
    assert_eq!(
        s.add_business_time(friday, 30 * MINUTE),
        Some(local(tz, 2026, 1, 16, 17, 0))
    );
    assert_eq!(s.add_business_time(saturday, 0), Some(saturday));
    assert_eq!(s.business_time_between(friday, monday + HOUR), 90 * MINUTE);
    assert_eq!(s.business_time_between(monday, friday), 0);
}

#[test]
fn sao_paulo_counts_in_its_own_offset() {
    let s = schedule("America/Sao_Paulo", office_week(), Value::Null);
    // 09:00 in São Paulo (UTC−3, no daylight saving since 2019) is 12:00 UTC.
    assert!(!s.is_open(utc(2026, 7, 1, 11, 59)));
    assert!(s.is_open(utc(2026, 7, 1, 12, 0)));
    assert_eq!(
        s.next_close(utc(2026, 7, 1, 12, 0)),
        Some(utc(2026, 7, 1, 20, 0))
    );
}

#[test]
fn an_overnight_stretch_closes_the_next_morning() {
    let hours = json!([
        open(1, (22, 0), (24, 0)),
        open(2, (0, 0), (2, 0)),
        open(2, (9, 0), (10, 0))
    ]);
    let s = schedule("UTC", hours, Value::Null);
    // Monday 2026-03-02 23:00.
    assert_eq!(
        s.next_close(utc(2026, 3, 2, 23, 0)),
        Some(utc(2026, 3, 3, 2, 0))
    );
}

/// 01:00–05:00 every day in Warsaw: the night the clocks go forward has three hours of it, the
/// night they go back five.
#[test]
fn warsaw_daylight_saving_changes_shorten_and_lengthen_the_night() {
    let hours = Value::Array((0..7).map(|day| open(day, (1, 0), (5, 0))).collect());
    let s = schedule("Europe/Warsaw", hours, Value::Null);
    let tz = Tz::Europe__Warsaw;
    let night = |d: NaiveDate| {
        let from = s.instant(d, 0, Ambiguity::Earlier).unwrap();
        let to = s.instant(d, 12 * 60, Ambiguity::Earlier).unwrap();
        s.business_time_between(from, to)
    };
    assert_eq!(night(date(2026, 3, 28)), 4 * HOUR);
    assert_eq!(night(date(2026, 3, 29)), 3 * HOUR);
    assert_eq!(night(date(2026, 10, 25)), 5 * HOUR);
    assert_eq!(night(date(2026, 10, 26)), 4 * HOUR);
    // Spring: 01:00 CET is 00:00 UTC, 05:00 CEST is 03:00 UTC.
    assert_eq!(
        s.next_open(utc(2026, 3, 28, 12, 0)),
        Some(utc(2026, 3, 29, 0, 0))
    );
    assert_eq!(
        s.next_close(utc(2026, 3, 29, 0, 0)),
        Some(utc(2026, 3, 29, 3, 0))
    );
    // Autumn: 01:00 CEST is 23:00 UTC the day before, 05:00 CET is 04:00 UTC.
    let autumn_open = local(tz, 2026, 10, 25, 1, 0);
    assert_eq!(autumn_open, utc(2026, 10, 24, 23, 0));
    assert_eq!(s.next_close(autumn_open), Some(utc(2026, 10, 25, 4, 0)));
    assert_eq!(
        s.add_business_time(autumn_open, 5 * HOUR),
        Some(utc(2026, 10, 25, 4, 0))
    );
}

#[test]
fn periods_starting_in_the_gap_start_after_it_and_repeated_hours_count_twice() {
    let hours = json!([open(0, (2, 30), (4, 0)), open(0, (12, 0), (12, 30))]);
    let s = schedule("Europe/Warsaw", hours.clone(), Value::Null);
    // 02:30 does not exist on 2026-03-29 (a Sunday): the period starts at 03:00 CEST.
    assert_eq!(
        s.next_open(utc(2026, 3, 28, 12, 0)),
        Some(utc(2026, 3, 29, 1, 0))
    );
    assert_eq!(
        s.business_time_between(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 6, 0)),
        HOUR
    );
    // 02:30 happens twice on 2026-10-25: open from the first, closed at 04:00 CET.
    let hours = json!([open(0, (2, 30), (2, 45))]);
    let s = schedule("Europe/Warsaw", hours, Value::Null);
    assert_eq!(
        s.next_open(utc(2026, 10, 24, 12, 0)),
        Some(utc(2026, 10, 25, 0, 30))
    );
    assert_eq!(
        s.next_close(utc(2026, 10, 25, 0, 30)),
        Some(utc(2026, 10, 25, 1, 45))
    );
}

#[test]
fn lord_howe_moves_its_clocks_by_half_an_hour() {
    let hours = Value::Array((0..7).map(|day| open(day, (1, 0), (3, 0))).collect());
    let s = schedule("Australia/Lord_Howe", hours, Value::Null);
    let day_total = |d: NaiveDate| {
        let from = s.instant(d, 0, Ambiguity::Earlier).unwrap();
        let to = s.instant(d, 12 * 60, Ambiguity::Earlier).unwrap();
        s.business_time_between(from, to)
    };
    // Back at 02:00 on 2026-04-05, forward at 02:00 on 2026-10-04.
    assert_eq!(day_total(date(2026, 4, 5)), 150 * MINUTE);
    assert_eq!(day_total(date(2026, 10, 4)), 90 * MINUTE);
}

#[test]
fn a_schedule_without_open_days_never_opens() {
    let s = schedule("UTC", json!([closed(0), closed(1)]), Value::Null);
    let at = utc(2026, 1, 1, 0, 0);
    assert!(!s.is_open(at));
    assert_eq!(s.next_open(at), None);
    assert_eq!(s.next_close(at), None);
    assert_eq!(s.add_business_time(at, 1), None);
    assert_eq!(s.add_business_time(at, 0), Some(at));
    assert_eq!(s.business_time_between(at, at + 1000 * HOUR), 0);
    // A day without an entry is closed too.
    let s = schedule("UTC", Value::Null, Value::Null);
    assert_eq!(s.next_open(at), None);
}

#[test]
fn searches_give_up_after_400_closed_days() {
    let holidays = json!([{"from": "2026-01-01", "to": "2027-12-31"}]);
    let s = schedule("UTC", office_week(), holidays);
    assert_eq!(s.next_open(utc(2026, 1, 1, 0, 0)), None);
    // A sum over a known range walks past the horizon.
    assert_eq!(
        s.business_time_between(utc(2026, 1, 1, 0, 0), utc(2028, 1, 4, 0, 0)),
        8 * HOUR
    );
    let s = schedule(
        "UTC",
        office_week(),
        json!([{"from": "2026-01-01", "to": "2026-06-30"}]),
    );
    assert_eq!(
        s.next_open(utc(2026, 1, 1, 0, 0)),
        Some(utc(2026, 7, 1, 9, 0))
    );
    // An absurd duration gives up after a century instead of walking for millions of years.
    assert_eq!(s.add_business_time(utc(2026, 1, 1, 0, 0), i64::MAX), None);
}

#[test]
fn always_open_is_wall_clock_time() {
    let s = Schedule::always();
    assert!(s.is_always_open());
    assert_eq!(s.timezone(), Tz::UTC);
    let at = utc(2026, 3, 29, 0, 30);
    assert!(s.is_open(at));
    assert_eq!(s.next_open(at), Some(at));
    assert_eq!(s.next_close(at), None);
    assert_eq!(s.add_business_time(at, 5 * HOUR), Some(at + 5 * HOUR));
    assert_eq!(s.business_time_between(at, at + 5 * HOUR), 5 * HOUR);
    assert_eq!(s.business_time_between(at, at - 5), 0);
    assert_eq!(s.add_business_time(Millis::MAX - 1, 5), None);
}

#[test]
fn settings_enable_business_hours() {
    let settings = json!({
        "working_hours_enabled": true,
        "timezone": "Brasilia",
        "working_hours": office_week(),
        "holidays": [{"date": "2026-12-25"}],
    });
    let s = Schedule::from_settings(&settings).unwrap();
    assert_eq!(s.timezone(), Tz::America__Sao_Paulo);
    assert_eq!(s.periods(1), [period(540, 1020)]);
    assert_eq!(s.holidays().len(), 1);

    let mut disabled = settings.clone();
    disabled["working_hours_enabled"] = json!(false);
    assert_eq!(Schedule::from_settings(&disabled), Ok(Schedule::always()));
    // Nothing is read while disabled, not even a broken time zone.
    disabled["timezone"] = json!("Mars/Olympus_Mons");
    assert_eq!(Schedule::from_settings(&disabled), Ok(Schedule::always()));
    assert_eq!(Schedule::from_settings(&json!({})), Ok(Schedule::always()));
    assert_eq!(
        Schedule::from_settings(&Value::Null),
        Ok(Schedule::always())
    );

    let no_timezone = json!({"working_hours_enabled": true, "timezone": "",
                             "working_hours": office_week()});
    assert_eq!(
        Schedule::from_settings(&no_timezone).unwrap().timezone(),
        Tz::UTC
    );
}

#[test]
fn time_zones_by_iana_and_rails_names() {
    let tz = |name: Option<&str>| {
        Schedule::parse_working_hours(name, &Value::Null, None).map(|s| s.timezone())
    };
    assert_eq!(tz(None), Ok(Tz::UTC));
    assert_eq!(tz(Some("  ")), Ok(Tz::UTC));
    assert_eq!(tz(Some("Europe/Warsaw")), Ok(Tz::Europe__Warsaw));
    assert_eq!(tz(Some("Warsaw")), Ok(Tz::Europe__Warsaw));
    assert_eq!(
        tz(Some("Eastern Time (US & Canada)")),
        Ok(Tz::America__New_York)
    );
    assert_eq!(tz(Some("Kyiv")), Ok(Tz::Europe__Kiev));
    assert_eq!(
        tz(Some("europe/warsaw")),
        Err(ScheduleError::UnknownTimezone {
            name: "europe/warsaw".into()
        })
    );
}

#[test]
fn every_error_names_its_field() {
    let entry = |patch: Value| {
        let mut base = open(1, (9, 0), (17, 0));
        for (k, v) in patch.as_object().unwrap() {
            base[k] = v.clone();
        }
        json!([closed(0), base])
    };
    let hours_cases = [
        (json!({"a": 1}), "working_hours"),
        (json!([closed(0), 7]), "working_hours[1]"),
        (
            entry(json!({"day_of_week": null})),
            "working_hours[1].day_of_week",
        ),
        (
            entry(json!({"day_of_week": 7})),
            "working_hours[1].day_of_week",
        ),
        (
            entry(json!({"day_of_week": "1"})),
            "working_hours[1].day_of_week",
        ),
        (
            entry(json!({"closed_all_day": 1})),
            "working_hours[1].closed_all_day",
        ),
        (
            entry(json!({"open_all_day": "yes"})),
            "working_hours[1].open_all_day",
        ),
        (
            entry(json!({"open_all_day": true, "closed_all_day": true})),
            "working_hours[1].open_all_day",
        ),
        (
            entry(json!({"open_hour": null})),
            "working_hours[1].open_hour",
        ),
        (
            entry(json!({"open_hour": 24})),
            "working_hours[1].open_hour",
        ),
        (
            entry(json!({"open_hour": 9.5})),
            "working_hours[1].open_hour",
        ),
        (
            entry(json!({"open_minutes": 60})),
            "working_hours[1].open_minutes",
        ),
        (
            entry(json!({"close_hour": null})),
            "working_hours[1].close_hour",
        ),
        (
            entry(json!({"close_hour": 25})),
            "working_hours[1].close_hour",
        ),
        (
            entry(json!({"close_minutes": -1})),
            "working_hours[1].close_minutes",
        ),
        (
            entry(json!({"close_hour": 24, "close_minutes": 30})),
            "working_hours[1].close_minutes",
        ),
        (
            entry(json!({"close_hour": 9})),
            "working_hours[1].close_hour",
        ),
        (
            entry(json!({"close_hour": 8, "close_minutes": 59})),
            "working_hours[1].close_hour",
        ),
    ];
    for (hours, field) in hours_cases {
        let err = Schedule::parse_working_hours(None, &hours, None).unwrap_err();
        assert_eq!(err.field(), field, "{hours}: {err}");
        assert_eq!(err.to_field_error().field, field);
    }
    let holiday_cases = [
        (json!({"date": "2026-12-25"}), "holidays"),
        (json!(["2026-12-25"]), "holidays[0]"),
        (json!([{"name": "Christmas"}]), "holidays[0].date"),
        (json!([{"date": "2026-13-01"}]), "holidays[0].date"),
        (json!([{"date": "2026-2-1"}]), "holidays[0].date"),
        (json!([{"date": "2026-02-30"}]), "holidays[0].date"),
        (json!([{"date": 20261225}]), "holidays[0].date"),
        (
            json!([{"date": "2026-12-25"}, {"date": "2026-12-26", "from": "2026-12-26"}]),
            "holidays[1].date",
        ),
        (json!([{"from": "2026-12-24"}]), "holidays[0].to"),
        (json!([{"to": "2026-12-24"}]), "holidays[0].from"),
        (
            json!([{"from": "2026-12-24", "to": "2026-12-x4"}]),
            "holidays[0].to",
        ),
        (
            json!([{"from": "2026-12-24", "to": "2026-12-23"}]),
            "holidays[0].to",
        ),
        (
            json!([{"date": "2026-12-24", "name": 3}]),
            "holidays[0].name",
        ),
    ];
    for (holidays, field) in holiday_cases {
        let err = Schedule::parse_working_hours(None, &office_week(), Some(&holidays)).unwrap_err();
        assert_eq!(err.field(), field, "{holidays}: {err}");
    }
    let err =
        Schedule::parse_working_hours(Some("Nowhere/Atlantis"), &office_week(), None).unwrap_err();
    assert_eq!(err.field(), "timezone");
    assert_eq!(
        err.to_string(),
        "timezone \"Nowhere/Atlantis\" is not a known time zone"
    );
    let settings = |patch: Value| {
        let mut s = json!({"working_hours_enabled": true, "working_hours": office_week()});
        for (k, v) in patch.as_object().unwrap() {
            s[k] = v.clone();
        }
        Schedule::from_settings(&s).unwrap_err().field()
    };
    assert_eq!(
        settings(json!({"working_hours_enabled": 1})),
        "working_hours_enabled"
    );
    assert_eq!(settings(json!({"timezone": 3})), "timezone");
    assert_eq!(settings(json!({"holidays": [{}]})), "holidays[0].date");
    let err =
        Schedule::parse_working_hours(None, &entry(json!({"close_hour": 9})), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "working_hours[1] closes at 09:00 which is not after it opens at 09:00"
    );
}

// ---- Properties -------------------------------------------------------------------------

/// Zones with and without daylight saving, with whole-hour, half-hour and odd offsets.
const ZONES: [&str; 7] = [
    "Europe/Warsaw",
    "America/Sao_Paulo",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
    "Brasilia",
];

/// Daylight-saving changes in 2026 (UTC): Warsaw, New York and Lord Howe, both ways.
fn transitions() -> [Millis; 6] {
    [
        utc(2026, 3, 29, 1, 0),
        utc(2026, 10, 25, 1, 0),
        utc(2026, 3, 8, 7, 0),
        utc(2026, 11, 1, 6, 0),
        utc(2026, 4, 4, 15, 0),
        utc(2026, 10, 3, 15, 30),
    ]
}

/// Periods in minutes of the day, often in the small hours where the clocks change.
fn period_strategy() -> impl Strategy<Value = Value> {
    let minute = prop_oneof![0u16..1440, 30u16..300];
    (0u8..7, minute, 30u16..720, 0u8..10).prop_map(|(day, open_at, length, kind)| match kind {
        0 => json!({"day_of_week": day, "closed_all_day": true}),
        1 => json!({"day_of_week": day, "closed_all_day": false, "open_all_day": true}),
        _ => {
            let close = (open_at + length).min(1440);
            json!({"day_of_week": day, "closed_all_day": false,
                   "open_hour": open_at / 60, "open_minutes": open_at % 60,
                   "close_hour": close / 60, "close_minutes": close % 60})
        }
    })
}

fn holiday_strategy() -> impl Strategy<Value = (NaiveDate, i64)> {
    (0i64..420, 0i64..4)
        .prop_map(|(offset, length)| (date(2025, 12, 1) + chrono::Duration::days(offset), length))
}

fn holidays_json(holidays: &[(NaiveDate, i64)]) -> Value {
    Value::Array(
        holidays
            .iter()
            .map(|(from, length)| {
                if *length == 0 {
                    json!({"date": from.to_string()})
                } else {
                    let to = *from + chrono::Duration::days(*length);
                    json!({"from": from.to_string(), "to": to.to_string()})
                }
            })
            .collect(),
    )
}

prop_compose! {
    pub(crate) fn schedule_strategy()(
        zone in prop::sample::select(&ZONES[..]),
        periods in prop::collection::vec(period_strategy(), 1..10),
        holidays in prop::collection::vec(holiday_strategy(), 0..5),
    ) -> Schedule {
        schedule(zone, Value::Array(periods), holidays_json(&holidays))
    }
}

/// Instants over 2026, half of them within three days of a daylight-saving change.
pub(crate) fn instant_strategy() -> impl Strategy<Value = Millis> {
    let year = utc(2025, 12, 1, 0, 0)..utc(2027, 1, 31, 0, 0);
    let near_change =
        (0usize..6, -72 * HOUR..72 * HOUR).prop_map(|(i, offset)| transitions()[i] + offset);
    prop_oneof![year, near_change]
}

pub(crate) fn duration_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![0i64..=48 * HOUR, (0i64..=48 * 60).prop_map(|m| m * MINUTE)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Adding business time and measuring it back agree, and the answer is the end of an open
    /// millisecond.
    #[test]
    fn adding_then_measuring_business_time_round_trips(
        s in schedule_strategy(),
        start in instant_strategy(),
        duration in duration_strategy(),
    ) {
        if let Some(end) = s.add_business_time(start, duration) {
            prop_assert_eq!(s.business_time_between(start, end), duration);
            if duration == 0 {
                prop_assert_eq!(end, start);
            } else {
                prop_assert!(s.is_open(end - 1), "the last counted millisecond is open");
                prop_assert!(s.is_open(end) || s.next_close(end - 1) == Some(end));
            }
        } else {
            prop_assert!(duration > 0);
        }
    }

    #[test]
    fn adding_more_business_time_never_ends_earlier(
        s in schedule_strategy(),
        start in instant_strategy(),
        a in duration_strategy(),
        b in duration_strategy(),
    ) {
        let (shorter, longer) = (a.min(b), a.max(b));
        if let Some(later) = s.add_business_time(start, longer) {
            let earlier = s.add_business_time(start, shorter);
            prop_assert!(earlier.is_some_and(|earlier| earlier <= later));
        }
    }

    #[test]
    fn business_time_is_additive(
        s in schedule_strategy(),
        mut points in prop::collection::vec(instant_strategy(), 3),
    ) {
        points.sort_unstable();
        let (a, b, c) = (points[0], points[1], points[2]);
        let whole = s.business_time_between(a, c);
        prop_assert_eq!(s.business_time_between(a, b) + s.business_time_between(b, c), whole);
        prop_assert!(whole <= c - a);
        prop_assert_eq!(s.business_time_between(c, a), 0);
    }

    /// No time is counted on a holiday, from its local midnight to the next.
    #[test]
    fn holidays_count_no_time(
        s in schedule_strategy(),
        holiday in holiday_strategy(),
        probe in 0.0f64..1.0,
    ) {
        let mut holidays: Vec<Holiday> = s.holidays().to_vec();
        holidays.push(Holiday { from: holiday.0, to: holiday.0, name: None });
        let s = Schedule::new(s.tz, s.week.clone(), holidays);
        let start = s.instant(holiday.0, 0, Ambiguity::Earlier).unwrap();
        let end = s.instant(holiday.0, MINUTES_PER_DAY, Ambiguity::Earlier).unwrap();
        prop_assert_eq!(s.business_time_between(start, end), 0);
        let inside = start + ((end - start) as f64 * probe) as Millis;
        prop_assert!(!s.is_open(inside));
        if let Some(next) = s.next_open(inside) {
            prop_assert!(next >= end);
        }
    }

    /// Open every day all day in any zone, daylight-saving changes included, is wall-clock
    /// time, whether walked day by day or known to be always open.
    #[test]
    fn all_day_every_day_counts_wall_clock_time(
        zone in prop::sample::select(&ZONES[..]),
        start in instant_strategy(),
        duration in duration_strategy(),
    ) {
        let all_day = Value::Array((0..7).map(|day| json!({"day_of_week": day, "open_all_day": true})).collect());
        let walked = schedule(zone, all_day.clone(), json!([{"date": "2030-01-01"}]));
        let always = schedule(zone, all_day, Value::Null);
        prop_assert!(!walked.is_always_open());
        prop_assert!(always.is_always_open());
        for s in [&walked, &always, &Schedule::always()] {
            prop_assert!(s.is_open(start));
            prop_assert_eq!(s.add_business_time(start, duration), Some(start + duration));
            prop_assert_eq!(s.business_time_between(start, start + duration), duration);
        }
    }

    /// The next opening is open and nothing before it is; the current stretch is open to its
    /// end and closed right after.
    #[test]
    fn next_open_and_next_close_bound_the_open_stretches(
        s in schedule_strategy(),
        at in instant_strategy(),
    ) {
        match s.next_open(at) {
            Some(next) => {
                prop_assert!(s.is_open(next));
                prop_assert_eq!(s.business_time_between(at, next), 0);
                if next > at {
                    prop_assert!(!s.is_open(next - 1));
                }
            }
            None => prop_assert!(!s.is_open(at)),
        }
        match s.next_close(at) {
            Some(close) => {
                prop_assert!(s.is_open(at));
                prop_assert_eq!(s.business_time_between(at, close), close - at);
                prop_assert!(!s.is_open(close));
            }
            None => prop_assert!(!s.is_open(at)),
        }
    }
}
