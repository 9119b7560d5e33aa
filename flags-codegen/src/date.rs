//! Calendar dates (`YYYY-MM-DD`) for `created` and `expires`, and the day arithmetic that the
//! governance checks need. No time zones: a flag expires on a day, in UTC.

use std::fmt;

/// A valid proleptic-Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// The date, if `year-month-day` exists in the calendar.
    pub const fn from_ymd(year: i32, month: u8, day: u8) -> Option<Date> {
        if month == 0 || month > 12 || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Used by generated code for dates the macro has already validated.
    #[doc(hidden)]
    pub const fn __validated(year: i32, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Parses `YYYY-MM-DD` (exactly that shape, four-digit year).
    pub fn parse(text: &str) -> Result<Date, String> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(format!("`{text}` is not a date in the form YYYY-MM-DD"));
        }
        let num = |r: std::ops::Range<usize>| -> u32 {
            text[r].bytes().fold(0, |n, b| n * 10 + u32::from(b - b'0'))
        };
        let (y, m, d) = (num(0..4) as i32, num(5..7) as u8, num(8..10) as u8);
        Date::from_ymd(y, m, d).ok_or_else(|| format!("`{text}` is not a day of the calendar"))
    }

    /// Year.
    pub const fn year(self) -> i32 {
        self.year
    }
    /// Month, 1 to 12.
    pub const fn month(self) -> u8 {
        self.month
    }
    /// Day of the month, 1 to 31.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub const fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year as i64, self.month as u32, self.day as u32)
    }

    /// The date `days` days after 1970-01-01.
    pub const fn from_days_since_epoch(days: i64) -> Date {
        let (year, month, day) = civil_from_days(days);
        Date {
            year: year as i32,
            month: month as u8,
            day: day as u8,
        }
    }

    /// Today in UTC, from the system clock.
    pub fn today_utc() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Date::from_days_since_epoch(secs.div_euclid(86_400))
    }

    /// `self - other` in days.
    pub const fn days_after(self, other: Date) -> i64 {
        self.days_since_epoch() - other.days_since_epoch()
    }

    /// The date `days` days later (earlier when negative).
    pub const fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + days)
    }
}

/// Days since 1970-01-01 of a proleptic-Gregorian `year-month-day` (Howard Hinnant's
/// `days_from_civil`). The one copy of this arithmetic in the workspace.
pub const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = year - if month <= 2 { 1 } else { 0 };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `(year, month, day)` that is `days` days after 1970-01-01 (inverse of
/// [`days_from_civil`]).
pub const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + if month <= 2 { 1 } else { 0 }, month, day)
}

const fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// `1 day`, `2 days`: a count of days for messages.
pub fn days(n: i64) -> String {
    if n.abs() == 1 {
        format!("{n} day")
    } else {
        format!("{n} days")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        let d = Date::parse("2027-01-31").expect("valid");
        assert_eq!(d.to_string(), "2027-01-31");
        assert_eq!(Date::from_days_since_epoch(d.days_since_epoch()), d);
        assert_eq!(Date::parse("1970-01-01").map(Date::days_since_epoch), Ok(0));
        assert_eq!(
            Date::parse("2024-03-01")
                .expect("valid")
                .days_after(Date::parse("2024-02-28").expect("valid")),
            2
        );
    }

    #[test]
    fn rejects_bad_dates() {
        assert!(Date::parse("2027-02-29").is_err());
        assert!(Date::parse("2027-13-01").is_err());
        assert!(Date::parse("27-01-01").is_err());
        assert!(Date::parse("2027/01/01").is_err());
        assert!(Date::parse("2028-02-29").is_ok());
    }
}
