//! Text forms of dates, times and timestamps, parsed strictly so that formatting a parsed
//! value gives the same text back (the canonical-form check that makes a round trip exact).

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a date"),
};

/// PostgreSQL's `infinity` and `-infinity` dates, held in a `Date32` as its largest and
/// smallest values (PostgreSQL itself stores them so: no real date is that far out).
pub const DATE_INFINITY: i32 = i32::MAX;
pub const DATE_NEG_INFINITY: i32 = i32::MIN;
/// PostgreSQL's `infinity` and `-infinity` timestamps, as the largest and smallest `i64`.
pub const TS_INFINITY: i64 = i64::MAX;
pub const TS_NEG_INFINITY: i64 = i64::MIN;

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_DAYS: i32 = 10_957;

/// `YYYY-MM-DD` -> days since 1970-01-01, only if the text is in canonical form.
pub fn parse_date(s: &str) -> Option<i32> {
    match s {
        "infinity" => return Some(DATE_INFINITY),
        "-infinity" => return Some(DATE_NEG_INFINITY),
        _ => {}
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let days = (d - EPOCH).num_days() as i32;
    (format_date(days).as_deref() == Some(s)).then_some(days)
}

/// Days since 1970-01-01 -> `YYYY-MM-DD`.
pub fn format_date(days: i32) -> Option<String> {
    match days {
        DATE_INFINITY => return Some("infinity".into()),
        DATE_NEG_INFINITY => return Some("-infinity".into()),
        _ => {}
    }
    let d = EPOCH.checked_add_signed(chrono::Duration::days(days as i64))?;
    let mut s = String::with_capacity(10);
    push_date(&mut s, d);
    Some(s)
}

/// Writes `YYYY-MM-DD`; `write!` with fixed widths is several times faster than chrono's
/// `format`, which parses its pattern on every call (measured on the SQLite sink).
fn push_date(s: &mut String, d: NaiveDate) {
    if (0..=9999).contains(&d.year()) {
        let _ = write!(s, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    } else {
        let _ = write!(s, "{}", d.format("%Y-%m-%d"));
    }
}

fn fraction(micros: u32) -> String {
    if micros == 0 {
        String::new()
    } else if micros.is_multiple_of(1000) {
        format!(".{:03}", micros / 1000)
    } else {
        format!(".{micros:06}")
    }
}

/// `YYYY-MM-DD HH:MM:SS[.fff|.ffffff]` -> microseconds since the epoch, canonical form only.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    match s {
        "infinity" => return Some(TS_INFINITY),
        "-infinity" => return Some(TS_NEG_INFINITY),
        _ => {}
    }
    let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let micros = t.and_utc().timestamp_micros();
    (format_timestamp(micros).as_deref() == Some(s)).then_some(micros)
}

/// Microseconds since the epoch -> `YYYY-MM-DD HH:MM:SS[.fff|.ffffff]`.
pub fn format_timestamp(micros: i64) -> Option<String> {
    match micros {
        TS_INFINITY => return Some("infinity".into()),
        TS_NEG_INFINITY => return Some("-infinity".into()),
        _ => {}
    }
    let t = chrono::DateTime::from_timestamp_micros(micros)?.naive_utc();
    let mut s = String::with_capacity(26);
    push_date(&mut s, t.date());
    let _ = write!(s, " {:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    s.push_str(&fraction(t.nanosecond() / 1000));
    Some(s)
}

/// `HH:MM:SS[.fff|.ffffff]` -> microseconds since midnight, canonical form only.
pub fn parse_time(s: &str) -> Option<i64> {
    if s == "24:00:00" {
        return Some(86_400_000_000);
    }
    let t = NaiveTime::parse_from_str(s, "%H:%M:%S%.f").ok()?;
    let micros = t.num_seconds_from_midnight() as i64 * 1_000_000 + (t.nanosecond() / 1000) as i64;
    (format_time(micros).as_deref() == Some(s)).then_some(micros)
}

/// Microseconds since midnight -> `HH:MM:SS[.fff|.ffffff]`.
pub fn format_time(micros: i64) -> Option<String> {
    // 24:00:00 is a time of day in PostgreSQL (the end of the day).
    if micros == 86_400_000_000 {
        return Some("24:00:00".into());
    }
    if !(0..86_400_000_000).contains(&micros) {
        return None;
    }
    let secs = micros / 1_000_000;
    let frac = fraction((micros % 1_000_000) as u32);
    Some(format!(
        "{:02}:{:02}:{:02}{}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        frac
    ))
}

/// A signed duration in nanoseconds as `[-]HH:MM:SS[.ffffff]`, MySQL's `time` text: hours
/// past 24 as they are (`838:59:59`), at least two digits; six fraction digits when there is a
/// fraction, nine when it has nanoseconds, so the text is always the exact value.
pub fn format_duration(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    let (seconds, frac) = (abs / 1_000_000_000, (abs % 1_000_000_000) as u32);
    let mut s = format!(
        "{sign}{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if frac % 1000 != 0 {
        let _ = write!(s, ".{frac:09}");
    } else if frac != 0 {
        let _ = write!(s, ".{:06}", frac / 1000);
    }
    s
}

/// A date for a message, as the user knows it: `infinity` and `-infinity` for ferry's
/// sentinels, `YYYY-MM-DD` from year 1 on, and `YYYY-MM-DD BC` before it (PostgreSQL's text:
/// year 0 is 1 BC), whatever the year's width.
pub fn shown_date(days: i64) -> String {
    match days {
        d if d == i64::from(DATE_INFINITY) => return "infinity".into(),
        d if d == i64::from(DATE_NEG_INFINITY) => return "-infinity".into(),
        _ => {}
    }
    let (y, m, d) = civil_from_days(days);
    if y >= 1 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!("{:04}-{m:02}-{d:02} BC", 1 - y)
    }
}

/// A timestamp for a message: `v` counts `1/per_sec` seconds since 1970-01-01 00:00:00;
/// `infinity`/`-infinity` for the microsecond sentinels; the date as [`shown_date`] gives it,
/// the time of day with its fraction (all its digits), and `+00` when it is an instant (`utc`).
pub fn shown_timestamp(v: i64, per_sec: i64, utc: bool) -> String {
    if per_sec == 1_000_000 {
        match v {
            TS_INFINITY => return "infinity".into(),
            TS_NEG_INFINITY => return "-infinity".into(),
            _ => {}
        }
    }
    let (seconds, sub) = (v.div_euclid(per_sec), v.rem_euclid(per_sec));
    let (days, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let date = shown_date(days);
    let (date, era) = match date.strip_suffix(" BC") {
        Some(d) => (d.to_string(), " BC"),
        None => (date, ""),
    };
    let digits = match per_sec {
        1 => 0,
        1_000 => 3,
        1_000_000 => 6,
        _ => 9,
    };
    let fraction = if sub == 0 {
        String::new()
    } else {
        format!(".{sub:0digits$}")
    };
    let zone = if utc { "+00" } else { "" };
    format!(
        "{date} {:02}:{:02}:{:02}{fraction}{zone}{era}",
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01, for any day
/// count a date or timestamp holds (year 0 is 1 BC; chrono stops at year 262143, PostgreSQL's
/// timestamps go to 294276). Howard Hinnant's `civil_from_days`.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_are_shown_as_users_write_them() {
        assert_eq!(shown_date(0), "1970-01-01");
        assert_eq!(shown_date(i64::from(DATE_INFINITY)), "infinity");
        assert_eq!(shown_date(i64::from(DATE_NEG_INFINITY)), "-infinity");
        // 44 BC is year -43; year 0 is 1 BC.
        let ides = NaiveDate::from_ymd_opt(-43, 3, 15).unwrap();
        assert_eq!(shown_date((ides - EPOCH).num_days()), "0044-03-15 BC");
        let bc1 = NaiveDate::from_ymd_opt(0, 12, 31).unwrap();
        assert_eq!(shown_date((bc1 - EPOCH).num_days()), "0001-12-31 BC");
        let far = NaiveDate::from_ymd_opt(10000, 1, 1).unwrap();
        assert_eq!(shown_date((far - EPOCH).num_days()), "10000-01-01");
        for days in [-1_000_000i64, -719_528, -1, 0, 1, 2_932_896, 100_000] {
            let d = EPOCH + chrono::Duration::days(days);
            let want = if d.year() >= 1 {
                format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
            } else {
                format!("{:04}-{:02}-{:02} BC", 1 - d.year(), d.month(), d.day())
            };
            assert_eq!(shown_date(days), want, "{days}");
        }
        assert_eq!(shown_timestamp(TS_INFINITY, 1_000_000, true), "infinity");
        assert_eq!(
            shown_timestamp(TS_NEG_INFINITY, 1_000_000, false),
            "-infinity"
        );
        assert_eq!(
            shown_timestamp(1_500_000, 1_000_000, true),
            "1970-01-01 00:00:01.500000+00"
        );
        assert_eq!(
            shown_timestamp(-1, 1_000_000_000, false),
            "1969-12-31 23:59:59.999999999"
        );
        // i64::MAX nanoseconds is a real instant, not infinity.
        assert_eq!(
            shown_timestamp(i64::MAX, 1_000_000_000, false),
            "2262-04-11 23:47:16.854775807"
        );
        let secs = (ides - EPOCH).num_days() * 86_400 + 3_600;
        assert_eq!(shown_timestamp(secs, 1, false), "0044-03-15 01:00:00 BC");
    }

    #[test]
    fn dates_round_trip_in_canonical_form_only() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(
            parse_date("1996-03-13").and_then(format_date).as_deref(),
            Some("1996-03-13")
        );
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(parse_date("1996-3-13"), None);
        assert_eq!(parse_date("1996-02-30"), None);
        assert_eq!(parse_date("13/03/1996"), None);
    }

    #[test]
    fn timestamps_and_times() {
        for s in [
            "2020-01-01 10:00:00",
            "2020-01-01 10:00:00.500",
            "1900-02-28 23:59:59.000001",
        ] {
            assert_eq!(
                parse_timestamp(s).and_then(format_timestamp).as_deref(),
                Some(s)
            );
        }
        assert_eq!(
            parse_timestamp("2020-01-01 10:00:00.000"),
            None,
            "not canonical"
        );
        assert_eq!(parse_timestamp("2020-01-01T10:00:00"), None);
        for s in ["00:00:00", "23:59:59.999999", "12:30:00.250"] {
            assert_eq!(parse_time(s).and_then(format_time).as_deref(), Some(s));
        }
        // PostgreSQL's end of day, and nothing past it.
        assert_eq!(format_time(86_400_000_000).as_deref(), Some("24:00:00"));
        assert_eq!(parse_time("24:00:00"), Some(86_400_000_000));
        assert_eq!(format_time(86_400_000_001), None);
        // PostgreSQL's infinities.
        assert_eq!(format_date(DATE_INFINITY).as_deref(), Some("infinity"));
        assert_eq!(parse_date("-infinity"), Some(DATE_NEG_INFINITY));
        assert_eq!(
            format_timestamp(TS_NEG_INFINITY).as_deref(),
            Some("-infinity")
        );
        assert_eq!(parse_timestamp("infinity"), Some(TS_INFINITY));
    }

    #[test]
    fn durations_as_mysql_time_text() {
        let s = 1_000_000_000i128;
        for (nanos, text) in [
            (0, "00:00:00"),
            (-1_000, "-00:00:00.000001"),
            (-s, "-00:00:01"),
            (s / 2, "00:00:00.500000"),
            (24 * 3600 * s, "24:00:00"),
            ((838 * 3600 + 59 * 60 + 59) * s, "838:59:59"),
            (
                -(838 * 3600 + 59 * 60 + 59) * s - 999_999_000,
                "-838:59:59.999999",
            ),
            (1, "00:00:00.000000001"),
            (i64::MIN as i128 * 1_000, "-2562047788:00:54.775808"),
        ] {
            assert_eq!(format_duration(nanos), text, "{nanos}");
        }
    }
}
