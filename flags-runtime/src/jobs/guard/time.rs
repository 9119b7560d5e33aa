//! Instants as milliseconds since the Unix epoch, PostHog's ISO 8601 timestamps, and the
//! durations the command line takes (`30m`, `7d`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::registry::Date;

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `2026-04-15T21:49:19.123Z`.
pub fn format_ms(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let date = Date::from_days_since_epoch(days);
    let (h, rest) = (rest / 3_600_000, rest % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    format!(
        "{date}T{h:02}:{m:02}:{:02}.{:03}Z",
        rest / 1000,
        rest % 1000
    )
}

/// Parses the timestamps PostHog returns (`2026-04-15T21:49:19.123456Z`, `+00:00` offsets, a
/// bare date) into milliseconds since the epoch; `None` for anything else.
pub fn parse_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let date = Date::parse(text.get(..10)?).ok()?;
    let mut ms = date.days_since_epoch() * 86_400_000;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let field = |s: &str| -> Option<i64> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (h, mi, s) = (
        field(rest.get(0..2)?)?,
        field(rest.get(3..5)?)?,
        field(rest.get(6..8)?)?,
    );
    if rest.get(2..3) != Some(":") || rest.get(5..6) != Some(":") || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    ms += ((h * 60 + mi) * 60 + s) * 1000;
    let mut rest = &rest[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let millis: String = frac[..digits].chars().chain("00".chars()).take(3).collect();
        ms += millis.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    match rest {
        "" | "Z" | "z" => Some(ms),
        tz if tz.len() == 6 && tz.get(3..4) == Some(":") => {
            let sign = match tz.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let offset = (field(tz.get(1..3)?)? * 60 + field(tz.get(4..6)?)?) * 60_000;
            Some(ms - sign * offset)
        }
        _ => None,
    }
}

/// Parses `90s`, `30m`, `24h`, `7d` (a whole number and a unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit (use s, m, h or d, e.g. 30m)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("`{unit}` is not a unit (use s, m, h or d)")),
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// `1d 2h`, `30m`, `45s`: a duration as a person reads it.
pub fn describe(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posthog_timestamps_round_trip() {
        let ms = parse_ms("2026-04-15T21:49:19.123456Z").expect("valid");
        assert_eq!(format_ms(ms), "2026-04-15T21:49:19.123Z");
        assert_eq!(parse_ms("2026-04-15T23:49:19.123+02:00"), Some(ms));
        assert_eq!(parse_ms("1970-01-02"), Some(86_400_000));
        for bad in [
            "",
            "yesterday",
            "2026-04-15T21:49",
            "2026-04-15T21:49:19.Z",
            "2026-02-30",
        ] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_read_and_print() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("3w").is_err());
        assert_eq!(describe(1_800_000), "30m");
        assert_eq!(describe(93_600_000), "1d 2h");
        assert_eq!(describe(4_500_000), "1h 15m");
    }
}
