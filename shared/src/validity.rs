//! The day rule: a room's link admits participants from local midnight of the
//! room's date to the next local midnight, in the room's time zone. On the days
//! when clocks change that window is 23 or 25 hours long.

use crate::zone::Zone;
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Serialize;

/// Position of an instant relative to a room's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DayState {
    NotYetOpen,
    Open,
    Expired,
}

/// The half-open interval `[from, until)` in which a room admits participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayWindow {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl DayWindow {
    pub fn for_date(date: NaiveDate, zone: Zone) -> Self {
        let next = date.succ_opt().unwrap_or(date);
        Self {
            from: start_of_day(date, zone),
            until: start_of_day(next, zone),
        }
    }

    pub fn state_at(&self, now: DateTime<Utc>) -> DayState {
        if now < self.from {
            DayState::NotYetOpen
        } else if now < self.until {
            DayState::Open
        } else {
            DayState::Expired
        }
    }

    pub fn length(&self) -> Duration {
        self.until - self.from
    }
}

/// Returns the first instant of `date` in `zone`.
///
/// In zones whose clocks jump forward at 00:00 (America/Santiago in
/// September), midnight does not exist, so the day starts at the first local
/// time that does. Where midnight occurs twice, the earlier one counts.
pub fn start_of_day(date: NaiveDate, zone: Zone) -> DateTime<Utc> {
    let mut local = date.and_time(NaiveTime::MIN);
    // Real DST gaps are at most two hours; 15-minute steps find every zone's
    // first valid time, including the 30-minute shift of Australia/Lord_Howe.
    for _ in 0..12 {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(at) => return at.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => return earlier.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(15),
        }
    }
    // Unreachable for the tz database's zones; fall back to reading the local
    // midnight as UTC rather than failing a request.
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

/// Formats an instant as RFC 3339 in UTC with whole seconds, e.g.
/// `2026-12-12T23:00:00Z`.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Returns today's date in `zone`.
pub fn today_in(zone: Zone, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn berlin_winter_day_is_24_hours() {
        let window = DayWindow::for_date(date("2026-12-13"), Zone::BERLIN);
        assert_eq!(window.from, utc("2026-12-12T23:00:00Z"));
        assert_eq!(window.until, utc("2026-12-13T23:00:00Z"));
        assert_eq!(window.length(), Duration::hours(24));
    }

    #[test]
    fn berlin_spring_forward_day_is_23_hours() {
        let window = DayWindow::for_date(date("2026-03-29"), Zone::BERLIN);
        assert_eq!(window.from, utc("2026-03-28T23:00:00Z"));
        assert_eq!(window.until, utc("2026-03-29T22:00:00Z"));
        assert_eq!(window.length(), Duration::hours(23));
    }

    #[test]
    fn berlin_fall_back_day_is_25_hours() {
        let window = DayWindow::for_date(date("2026-10-25"), Zone::BERLIN);
        assert_eq!(window.from, utc("2026-10-24T22:00:00Z"));
        assert_eq!(window.until, utc("2026-10-25T23:00:00Z"));
        assert_eq!(window.length(), Duration::hours(25));
    }

    #[test]
    fn vienna_matches_berlin_offsets() {
        let window = DayWindow::for_date(date("2026-03-29"), Zone::VIENNA);
        assert_eq!(window.length(), Duration::hours(23));
    }

    #[test]
    fn state_boundaries_are_half_open() {
        let window = DayWindow::for_date(date("2026-10-25"), Zone::BERLIN);
        let second = Duration::seconds(1);
        assert_eq!(window.state_at(window.from - second), DayState::NotYetOpen);
        assert_eq!(window.state_at(window.from), DayState::Open);
        assert_eq!(window.state_at(window.until - second), DayState::Open);
        assert_eq!(window.state_at(window.until), DayState::Expired);
    }

    #[test]
    fn late_evening_of_fall_back_day_is_open() {
        // 23:30 local on the 25-hour day is 22:30 UTC, an hour after the
        // instant a fixed 24-hour window would have closed.
        let window = DayWindow::for_date(date("2026-10-25"), Zone::BERLIN);
        assert_eq!(window.state_at(utc("2026-10-25T22:30:00Z")), DayState::Open);
    }

    #[test]
    fn santiago_day_starts_after_missing_midnight() {
        // Chile moves clocks from 00:00 to 01:00 on the first Sunday of
        // September, so 2026-09-06 00:00 does not exist in Santiago.
        let santiago = Zone::parse("America/Santiago").unwrap();
        let start = start_of_day(date("2026-09-06"), santiago);
        let local = start.with_timezone(&santiago);
        assert_eq!(local.date_naive(), date("2026-09-06"));
        assert_eq!(local.time(), NaiveTime::from_hms_opt(1, 0, 0).unwrap());
    }

    #[test]
    fn today_in_depends_on_zone() {
        let now = utc("2026-12-04T23:30:00Z");
        assert_eq!(today_in(Zone::BERLIN, now), date("2026-12-05"));
        assert_eq!(
            today_in(Zone::parse("America/New_York").unwrap(), now),
            date("2026-12-04")
        );
    }
}
