//! An inbox's business hours: when it is open, in its own time zone, and how much open time
//! lies between two instants.
//!
//! The [`Schedule`] comes from the inbox settings (Chatwoot's `working_hours`, with two
//! Throughline extensions: several periods a day, and holidays; see [`parse`]). The SLA clocks
//! ([`crate::sla`]) count only its open time, and anything telling a customer when the team is
//! back asks it for [`Schedule::next_open`].
//!
//! Local periods become UTC instants one local day at a time, so daylight-saving changes come
//! from the time-zone database rather than from a fixed offset:
//! - a local time that does not exist (the spring-forward gap) is the first instant after the
//!   gap;
//! - an ambiguous local time (the repeated fall-back hour) is the earlier instant where a period
//!   starts and the later one where it ends.
//!
//! So a period spanning the repeated hour lasts an hour longer and one spanning the skipped hour
//! an hour shorter, as the clock on the office wall would have it.

pub mod parse;
#[cfg(test)]
pub(crate) mod tests;
mod zones;

use std::collections::VecDeque;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Tz;

use crate::Millis;

pub use parse::ScheduleError;

/// A time zone by its IANA or Rails name ("America/Sao_Paulo", "Brasilia").
pub fn zone(name: &str) -> Option<Tz> {
    zones::lookup(name)
}

/// How far ahead searches look for open time: a schedule with no open time in this many
/// consecutive days is treated as never opening again.
pub const SEARCH_DAYS: u32 = 400;

/// How far ahead any search walks at all, open time or not (a century): the walk goes day by
/// day, and an absurd SLA threshold must not keep it busy for millions of years.
pub const MAX_SEARCH_DAYS: u32 = 36_525;

const MINUTES_PER_DAY: u16 = 24 * 60;
const MS_PER_MINUTE: Millis = 60_000;
const MS_PER_DAY: Millis = 24 * 60 * MS_PER_MINUTE;

/// One open period of a local day, in minutes since local midnight: `[open, close)`, with
/// `close` up to 1440 (the end of the day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub open: u16,
    pub close: u16,
}

impl Period {
    /// Midnight to midnight.
    pub const WHOLE_DAY: Self = Self {
        open: 0,
        close: MINUTES_PER_DAY,
    };
}

/// Local dates (inclusive) on which the inbox is closed all day, whatever its weekly hours say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holiday {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub name: Option<String>,
}

/// When an inbox is open: weekly periods in a time zone, minus holidays.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    tz: Tz,
    /// Indexed by day of week, 0 = Sunday (Chatwoot's numbering); sorted, merged, non-empty.
    week: [Vec<Period>; 7],
    /// As given, for display.
    holidays: Vec<Holiday>,
    /// The holidays' date ranges sorted and merged, for a binary search per day.
    closed_dates: Vec<(NaiveDate, NaiveDate)>,
}

/// Which instant an ambiguous local time (the repeated fall-back hour) stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ambiguity {
    /// Period starts: the first time the wall clock shows it.
    Earlier,
    /// Period ends: the second time, so that the repeated hour is worked twice.
    Later,
}

/// An open stretch `[start, end)` in UTC milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interval {
    start: Millis,
    end: Millis,
}

impl Schedule {
    /// Open around the clock, in UTC: an inbox without business hours.
    pub fn always() -> Self {
        Self::new(
            Tz::UTC,
            std::array::from_fn(|_| vec![Period::WHOLE_DAY]),
            Vec::new(),
        )
    }

    /// A schedule from weekly periods (index 0 = Sunday) and holidays; periods that overlap or
    /// touch are merged, closes past 1440 cut to the end of the day, empty periods and reversed
    /// holidays dropped.
    pub fn new(tz: Tz, week: [Vec<Period>; 7], holidays: Vec<Holiday>) -> Self {
        let week = week.map(merge_periods);
        let mut closed_dates: Vec<(NaiveDate, NaiveDate)> = holidays
            .iter()
            .filter(|h| h.from <= h.to)
            .map(|h| (h.from, h.to))
            .collect();
        closed_dates.sort();
        let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(closed_dates.len());
        for (from, to) in closed_dates {
            match merged.last_mut() {
                Some(last) if from <= last.1.succ_opt().unwrap_or(last.1) => {
                    last.1 = last.1.max(to);
                }
                _ => merged.push((from, to)),
            }
        }
        Self {
            tz,
            week,
            holidays,
            closed_dates: merged,
        }
    }

    /// The schedule an inbox's settings describe; see [`parse::from_settings`].
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, ScheduleError> {
        parse::from_settings(settings)
    }

    /// Checks and reads business hours as the API receives them, whether or not they are
    /// enabled; see [`parse::working_hours`].
    pub fn parse_working_hours(
        timezone: Option<&str>,
        working_hours: &serde_json::Value,
        holidays: Option<&serde_json::Value>,
    ) -> Result<Self, ScheduleError> {
        parse::working_hours(timezone, working_hours, holidays)
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The open periods of a day of the week (0 = Sunday), sorted; empty for 7 and above.
    pub fn periods(&self, day_of_week: usize) -> &[Period] {
        self.week.get(day_of_week).map_or(&[], Vec::as_slice)
    }

    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// Open every minute of every day, so that business time is wall-clock time.
    pub fn is_always_open(&self) -> bool {
        self.closed_dates.is_empty() && self.week.iter().all(|day| day[..] == [Period::WHOLE_DAY])
    }

    /// Closed every day of the week: no search can succeed, so none is started.
    fn is_never_open(&self) -> bool {
        self.week.iter().all(Vec::is_empty)
    }

    pub fn is_open(&self, at: Millis) -> bool {
        if self.is_always_open() {
            return true;
        }
        self.open_from(at)
            .next()
            .is_some_and(|open| open.start <= at)
    }

    /// `at` itself when open, else when the inbox next opens; `None` if it stays closed for
    /// [`SEARCH_DAYS`].
    pub fn next_open(&self, at: Millis) -> Option<Millis> {
        if self.is_always_open() {
            return Some(at);
        }
        self.open_from(at).next().map(|open| open.start.max(at))
    }

    /// When the open stretch around `at` ends (an overnight stretch runs on into the next day);
    /// `None` when closed at `at`, or when it does not close within [`SEARCH_DAYS`] (such as
    /// when always open).
    pub fn next_close(&self, at: Millis) -> Option<Millis> {
        if self.is_always_open() {
            return None;
        }
        let mut stretches = self.open_from(at);
        let first = stretches.next().filter(|open| open.start <= at)?;
        let horizon = at.saturating_add(Millis::from(SEARCH_DAYS) * MS_PER_DAY);
        let mut end = first.end;
        for next in stretches {
            if next.start > end {
                break;
            }
            end = next.end;
            if end > horizon {
                return None;
            }
        }
        Some(end)
    }

    /// The instant at which `duration_ms` of open time has passed since `start`: `start` for a
    /// duration of zero (or less), the end of the last open millisecond otherwise, so the answer
    /// may be a closing instant. `None` if the schedule stops opening (no open time for
    /// [`SEARCH_DAYS`]) before that much has passed, or it takes over [`MAX_SEARCH_DAYS`].
    pub fn add_business_time(&self, start: Millis, duration_ms: i64) -> Option<Millis> {
        if duration_ms <= 0 {
            return Some(start);
        }
        if self.is_always_open() {
            return start.checked_add(duration_ms);
        }
        let mut remaining = duration_ms;
        for open in self.open_from(start) {
            let from = open.start.max(start);
            let available = open.end - from;
            if remaining <= available {
                return Some(from + remaining);
            }
            remaining -= available;
        }
        None
    }

    /// Open milliseconds in `[from, to)`; 0 when `to <= from`. Walks the days in between, so a
    /// range of centuries costs accordingly.
    pub fn business_time_between(&self, from: Millis, to: Millis) -> i64 {
        if to <= from {
            return 0;
        }
        if self.is_always_open() {
            return to.saturating_sub(from);
        }
        if self.is_never_open() {
            return 0;
        }
        let last_day = self
            .local_date(to)
            .and_then(|day| day.succ_opt())
            .unwrap_or(NaiveDate::MAX);
        let walk = Walk {
            last_day,
            max_idle_days: u32::MAX,
        };
        self.intervals(from, walk)
            .take_while(|open| open.start < to)
            .map(|open| open.end.min(to) - open.start.max(from))
            .sum()
    }

    /// Open stretches that end after `at`, in order, until [`SEARCH_DAYS`] pass without any
    /// (or [`MAX_SEARCH_DAYS`] pass at all).
    fn open_from(&self, at: Millis) -> impl Iterator<Item = Interval> + '_ {
        let last_day = if self.is_never_open() {
            NaiveDate::MIN
        } else {
            self.local_date(at)
                .and_then(|day| day.checked_add_days(chrono::Days::new(MAX_SEARCH_DAYS.into())))
                .unwrap_or(NaiveDate::MAX)
        };
        let walk = Walk {
            last_day,
            max_idle_days: SEARCH_DAYS,
        };
        self.intervals(at, walk)
    }

    /// Open stretches ending after `from`, disjoint and in order. Starts a day before `from`'s
    /// local date: the previous day's last period may end after midnight's first occurrence.
    fn intervals(&self, from: Millis, walk: Walk) -> impl Iterator<Item = Interval> + '_ {
        let first_day = self
            .local_date(from)
            .map(|day| day.pred_opt().unwrap_or(day));
        Intervals {
            schedule: self,
            next_day: first_day,
            walk,
            pending: VecDeque::new(),
            last_end: Millis::MIN,
            idle_days: 0,
        }
        .skip_while(move |open| open.end <= from)
    }

    /// The local date at an instant; `None` beyond the dates chrono represents.
    fn local_date(&self, at: Millis) -> Option<NaiveDate> {
        DateTime::from_timestamp_millis(at).map(|utc| utc.with_timezone(&self.tz).date_naive())
    }

    fn is_holiday(&self, day: NaiveDate) -> bool {
        let after = self.closed_dates.partition_point(|(from, _)| *from <= day);
        after > 0 && self.closed_dates[after - 1].1 >= day
    }

    /// A local day's open stretches in UTC, in order (the day's periods are sorted, and both
    /// mappings keep local order).
    fn push_day(&self, day: NaiveDate, out: &mut VecDeque<Interval>) {
        if self.is_holiday(day) {
            return;
        }
        let weekday = day.weekday().num_days_from_sunday() as usize;
        for period in &self.week[weekday] {
            let start = self.instant(day, period.open, Ambiguity::Earlier);
            let end = self.instant(day, period.close, Ambiguity::Later);
            if let (Some(start), Some(end)) = (start, end)
                && end > start
            {
                out.push_back(Interval { start, end });
            }
        }
    }

    /// The instant of a local day's minute (1440: the next midnight), by the module's rules for
    /// gaps and repeated hours.
    fn instant(&self, day: NaiveDate, minute: u16, ambiguity: Ambiguity) -> Option<Millis> {
        let (day, minute) = if minute >= MINUTES_PER_DAY {
            (day.succ_opt()?, 0)
        } else {
            (day, minute)
        };
        let local = day.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.timestamp_millis()),
            LocalResult::Ambiguous(earlier, later) => Some(match ambiguity {
                Ambiguity::Earlier => earlier.timestamp_millis(),
                Ambiguity::Later => later.timestamp_millis(),
            }),
            LocalResult::None => self.first_instant_after_gap(local),
        }
    }

    /// The transition instant that skips over the non-existent local time `local`: the first
    /// instant whose wall-clock time is later than `local`.
    fn first_instant_after_gap(&self, local: NaiveDateTime) -> Option<Millis> {
        let mut probe = local;
        for _ in 0..MINUTES_PER_DAY {
            probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
            let Some(after) = self.tz.from_local_datetime(&probe).earliest() else {
                continue;
            };
            // `probe` is the first whole minute past the gap, so the transition lies in the
            // minute before it (exactly at it, unless an old offset had seconds): narrow down.
            let mut before = after.timestamp_millis() - MS_PER_MINUTE;
            let mut after = after.timestamp_millis();
            while after - before > 1 {
                let mid = before + (after - before) / 2;
                if self.wall_clock(mid)? > local {
                    after = mid;
                } else {
                    before = mid;
                }
            }
            return Some(after);
        }
        None
    }

    fn wall_clock(&self, at: Millis) -> Option<NaiveDateTime> {
        DateTime::from_timestamp_millis(at).map(|utc| utc.with_timezone(&self.tz).naive_local())
    }
}

/// Sorts a day's periods and merges those that overlap or touch.
fn merge_periods(periods: Vec<Period>) -> Vec<Period> {
    let mut periods: Vec<Period> = periods
        .into_iter()
        .map(|p| Period {
            open: p.open,
            close: p.close.min(MINUTES_PER_DAY),
        })
        .filter(|p| p.close > p.open)
        .collect();
    periods.sort();
    let mut merged: Vec<Period> = Vec::with_capacity(periods.len());
    for period in periods {
        match merged.last_mut() {
            Some(last) if period.open <= last.close => last.close = last.close.max(period.close),
            _ => merged.push(period),
        }
    }
    merged
}

/// Where a walk over the days stops: after `last_day`, or after more than `max_idle_days`
/// consecutive days without open time.
#[derive(Clone, Copy, Debug)]
struct Walk {
    last_day: NaiveDate,
    max_idle_days: u32,
}

/// Open stretches day by day, disjoint and in order: a stretch overlapping the previous one
/// (only where an ambiguous midnight ends one day after the next begins) is cut to start where
/// the previous one ends.
struct Intervals<'a> {
    schedule: &'a Schedule,
    next_day: Option<NaiveDate>,
    walk: Walk,
    pending: VecDeque<Interval>,
    last_end: Millis,
    idle_days: u32,
}

impl Iterator for Intervals<'_> {
    type Item = Interval;

    fn next(&mut self) -> Option<Interval> {
        loop {
            while let Some(open) = self.pending.pop_front() {
                let start = open.start.max(self.last_end);
                if open.end > start {
                    self.last_end = open.end;
                    return Some(Interval {
                        start,
                        end: open.end,
                    });
                }
            }
            let day = self.next_day?;
            if day > self.walk.last_day || self.idle_days > self.walk.max_idle_days {
                return None;
            }
            self.next_day = day.succ_opt();
            self.schedule.push_day(day, &mut self.pending);
            if self.pending.is_empty() {
                self.idle_days += 1;
            } else {
                self.idle_days = 0;
            }
        }
    }
}
