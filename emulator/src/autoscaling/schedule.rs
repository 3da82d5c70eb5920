//! Schedules of scheduled actions, pure: `at(...)`, `rate(...)` and
//! 6-field AWS `cron(...)` expressions, in a time zone, and the latest
//! occurrence that fell in a window of time.
//!
//! The cron evaluator is written here rather than taken from a crate: the
//! `cron` and `croner` crates speak Unix/Quartz dialects (5 or 6/7 fields
//! with seconds, Sunday = 0), not AWS's (`Minutes Hours Day-of-month Month
//! Day-of-week Year`, Sunday = 1, `?` required in one day field), and an
//! adapter over them would be as long as this evaluator. Supported in
//! every field: `*`, numbers, ranges `a-b`, lists `a,b`, increments
//! `*/n`, `a/n`, `a-b/n`; month names `JAN`-`DEC`, day names `SUN`-`SAT`;
//! `?` in exactly one of the two day fields. Not supported (rejected, never
//! misread): `L`, `W` and `#`.
//!
//! Time zones: `UTC` and its aliases, and the fixed-offset IANA zones
//! `Etc/GMT+N` / `Etc/GMT-N` (POSIX sign: `Etc/GMT+9` is UTC-9). Zones with
//! daylight saving need a zone database the emulator does not carry; they
//! are rejected rather than silently read as UTC.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// One time, local to the zone.
    At(PrimitiveDateTime),
    /// Every so many seconds.
    Rate(i64),
    Cron(Box<Cron>),
}

/// A 6-field AWS cron expression as sets of allowed values.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    /// `None`: `?` (the day of the week decides).
    days_of_month: Option<u64>,
    months: u64,
    /// `None`: `?`; bit 1 is Sunday, 7 Saturday.
    days_of_week: Option<u64>,
    /// Years from [`FIRST_YEAR`].
    years: Vec<bool>,
}

const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 2199;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The offset of a supported time zone (`None`: UTC).
pub fn parse_timezone(tz: Option<&str>) -> Result<UtcOffset, String> {
    let Some(tz) = tz else {
        return Ok(UtcOffset::UTC);
    };
    let utc = [
        "UTC",
        "Etc/UTC",
        "GMT",
        "Etc/GMT",
        "UCT",
        "Etc/UCT",
        "Zulu",
        "Etc/Zulu",
        "Universal",
        "Etc/Universal",
        "Greenwich",
        "Etc/Greenwich",
        "Etc/GMT0",
        "Etc/GMT+0",
        "Etc/GMT-0",
    ];
    if utc.contains(&tz) {
        return Ok(UtcOffset::UTC);
    }
    let fixed = tz.strip_prefix("Etc/GMT").and_then(|rest| {
        let (sign, n) = match rest.split_at_checked(1)? {
            ("+", n) => (-1, n),
            ("-", n) => (1, n),
            _ => return None,
        };
        let n: i8 = n.parse().ok()?;
        let ok = if sign < 0 { n <= 12 } else { n <= 14 };
        ok.then(|| UtcOffset::from_hms(sign * n, 0, 0).ok())?
    });
    fixed.ok_or_else(|| {
        format!(
            "Unsupported Timezone '{tz}': this emulator knows UTC and the fixed-offset zones Etc/GMT+N and Etc/GMT-N."
        )
    })
}

impl Schedule {
    /// Parses `at(yyyy-mm-ddThh:mm:ss)`, `rate(N unit)` or `cron(6 fields)`.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let expr = expr.trim();
        let inner = |prefix: &str| {
            expr.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(')'))
                .map(str::trim)
        };
        if let Some(at) = inner("at(") {
            let format =
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
            return PrimitiveDateTime::parse(at, format)
                .map(Schedule::At)
                .map_err(|_| {
                    format!("Invalid at expression '{expr}': expected at(yyyy-mm-ddThh:mm:ss).")
                });
        }
        if let Some(rate) = inner("rate(") {
            let bad = || {
                format!(
                    "Invalid rate expression '{expr}': expected rate(N minutes|hours|days) with N a positive integer."
                )
            };
            let (n, unit) = rate.split_once(' ').ok_or_else(bad)?;
            let n: i64 = n.trim().parse().map_err(|_| bad())?;
            let unit = match unit.trim() {
                "minute" | "minutes" => 60,
                "hour" | "hours" => 3600,
                "day" | "days" => 86400,
                _ => return Err(bad()),
            };
            if n <= 0 || n > 100_000 {
                return Err(bad());
            }
            return Ok(Schedule::Rate(n * unit));
        }
        if let Some(cron) = inner("cron(") {
            return Cron::parse(cron)
                .map(|c| Schedule::Cron(Box::new(c)))
                .map_err(|e| format!("Invalid cron expression '{expr}': {e}"));
        }
        Err(format!(
            "Invalid Schedule '{expr}': expected at(...), rate(...) or cron(...)."
        ))
    }

    /// The latest occurrence `t` with `after < t <= until`, epoch seconds.
    /// `anchor` is where rates count from (StartTime, else when the action
    /// was put); `not_before` (StartTime) bounds recurring schedules.
    pub fn latest_in(
        &self,
        offset: UtcOffset,
        after: f64,
        until: f64,
        anchor: f64,
        not_before: Option<f64>,
    ) -> Option<f64> {
        if until <= after {
            return None;
        }
        let t = match self {
            Schedule::At(local) => local.assume_offset(offset).unix_timestamp() as f64,
            Schedule::Rate(every) => {
                if until < anchor {
                    return None;
                }
                let k = ((until - anchor) / *every as f64).floor();
                anchor + k * *every as f64
            }
            Schedule::Cron(cron) => {
                // A window longer than a year holds nothing a year does
                // not: the latest occurrence is what counts.
                let from = after.max(until - 366.0 * 86400.0);
                let from = not_before.map_or(from, |s| from.max(s - 1.0));
                let mut t = cron.next_after(from, offset)?;
                if t > until {
                    return None;
                }
                while let Some(n) = cron.next_after(t, offset).filter(|n| *n <= until) {
                    t = n;
                }
                t
            }
        };
        let recurring = !matches!(self, Schedule::At(_));
        (t > after && t <= until && (!recurring || not_before.is_none_or(|s| t >= s))).then_some(t)
    }
}

impl Cron {
    pub fn parse(fields: &str) -> Result<Cron, String> {
        let f: Vec<&str> = fields.split_whitespace().collect();
        if f.len() != 6 {
            return Err(format!(
                "expected 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got {}",
                f.len()
            ));
        }
        let (dom_q, dow_q) = (f[2] == "?", f[4] == "?");
        if dom_q == dow_q {
            return Err(
                "one of Day-of-month and Day-of-week must be '?' (and not both)".to_string(),
            );
        }
        let years = field(f[5], FIRST_YEAR as u32, LAST_YEAR as u32, &[], "Year")?;
        Ok(Cron {
            minutes: bits(field(f[0], 0, 59, &[], "Minutes")?),
            hours: bits(field(f[1], 0, 23, &[], "Hours")?),
            days_of_month: (!dom_q)
                .then(|| field(f[2], 1, 31, &[], "Day-of-month").map(bits))
                .transpose()?,
            months: bits(field(f[3], 1, 12, &MONTHS, "Month")?),
            days_of_week: (!dow_q)
                .then(|| field(f[4], 1, 7, &DAYS, "Day-of-week").map(bits))
                .transpose()?,
            years: (FIRST_YEAR..=LAST_YEAR)
                .map(|y| years.contains(&(y as u32)))
                .collect(),
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        match (self.days_of_month, self.days_of_week) {
            (Some(dom), _) => dom & (1 << d.day()) != 0,
            (None, Some(dow)) => dow & (1 << d.weekday().number_from_sunday()) != 0,
            (None, None) => true,
        }
    }

    fn year_matches(&self, y: i32) -> bool {
        (FIRST_YEAR..=LAST_YEAR).contains(&y) && self.years[(y - FIRST_YEAR) as usize]
    }

    /// The first matching minute strictly after `t` (epoch seconds).
    pub fn next_after(&self, t: f64, offset: UtcOffset) -> Option<f64> {
        let secs = (t.floor() as i64).div_euclid(60) * 60 + 60;
        let utc = OffsetDateTime::from_unix_timestamp(secs).ok()?;
        let local = utc.to_offset(offset);
        let mut at = PrimitiveDateTime::new(local.date(), local.time());
        // Each step moves to the start of the next candidate year, month,
        // day, hour or minute: a few hundred steps at most.
        for _ in 0..100_000 {
            let (d, tm) = (at.date(), at.time());
            if d.year() > LAST_YEAR {
                return None;
            }
            if !self.year_matches(d.year()) {
                at = start_of(Date::from_calendar_date(d.year() + 1, Month::January, 1).ok()?);
            } else if self.months & (1 << d.month() as u8) == 0 {
                let (y, m) = match d.month() {
                    Month::December => (d.year() + 1, Month::January),
                    m => (d.year(), m.next()),
                };
                at = start_of(Date::from_calendar_date(y, m, 1).ok()?);
            } else if !self.day_matches(d) {
                at = start_of(d.next_day()?);
            } else if self.hours & (1 << tm.hour()) == 0 {
                at = PrimitiveDateTime::new(d, Time::from_hms(tm.hour(), 0, 0).ok()?)
                    + Duration::hours(1);
            } else if self.minutes & (1 << tm.minute()) == 0 {
                at += Duration::minutes(1);
            } else {
                return Some(at.assume_offset(offset).unix_timestamp() as f64);
            }
        }
        None
    }
}

fn start_of(d: Date) -> PrimitiveDateTime {
    PrimitiveDateTime::new(d, Time::MIDNIGHT)
}

fn bits(values: Vec<u32>) -> u64 {
    values.into_iter().fold(0, |acc, v| acc | (1 << v))
}

/// The values one cron field allows, within `lo..=hi`.
fn field(spec: &str, lo: u32, hi: u32, names: &[&str], what: &str) -> Result<Vec<u32>, String> {
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + lo);
        }
        let v: u32 = s
            .parse()
            .map_err(|_| format!("{what}: '{s}' is not a value"))?;
        if v < lo || v > hi {
            return Err(format!("{what}: {v} is outside {lo}-{hi}"));
        }
        Ok(v)
    };
    let mut out = Vec::new();
    for item in spec.split(',') {
        if item.contains(['L', 'W', '#']) && !names.iter().any(|n| item.contains(n)) {
            return Err(format!(
                "{what}: '{item}' (L, W and # are not supported by this emulator)"
            ));
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let s: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{what}: bad increment in '{item}'"))?;
                (r, s)
            }
            None => (item, 1),
        };
        let (a, b) = match range {
            "*" => (lo, hi),
            "?" => return Err(format!("{what}: '?' must stand alone")),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `a/n`: from a to the end of the range.
                None if item.contains('/') => (value(r)?, hi),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if a > b {
            return Err(format!("{what}: range '{range}' runs backwards"));
        }
        out.extend((a..=b).step_by(step as usize));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn epoch(t: OffsetDateTime) -> f64 {
        t.unix_timestamp() as f64
    }

    #[test]
    fn parses_the_three_forms_and_rejects_the_rest() {
        assert!(matches!(
            Schedule::parse("at(2030-01-02T03:04:05)"),
            Ok(Schedule::At(_))
        ));
        assert_eq!(Schedule::parse("rate(5 minutes)"), Ok(Schedule::Rate(300)));
        assert_eq!(Schedule::parse("rate(1 day)"), Ok(Schedule::Rate(86400)));
        assert!(Schedule::parse("cron(0 9 * * ? *)").is_ok());
        assert!(Schedule::parse("cron(*/15 8-17 ? * MON-FRI *)").is_ok());
        assert!(Schedule::parse("cron(5/20 0 1,15 jan,Jul ? 2030-2035/5)").is_ok());
        for bad in [
            "at(2030-01-02 03:04:05)",
            "rate(0 minutes)",
            "rate(5 weeks)",
            "cron(0 9 * * *)",
            "cron(0 9 * * * *)",
            "cron(0 9 ? * ? *)",
            "cron(60 9 * * ? *)",
            "cron(0 9 L * ? *)",
            "cron(0 9 ? * 6#3 *)",
            "every day",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cron_finds_the_next_minute_that_matches() {
        let c = Cron::parse("*/15 9,17 ? * MON-FRI *").unwrap();
        // Friday 2030-01-04 17:50 UTC -> Monday 09:00.
        let next = c
            .next_after(epoch(datetime!(2030-01-04 17:50 UTC)), UtcOffset::UTC)
            .unwrap();
        assert_eq!(next, epoch(datetime!(2030-01-07 09:00 UTC)));
        let next = c.next_after(next, UtcOffset::UTC).unwrap();
        assert_eq!(next, epoch(datetime!(2030-01-07 09:15 UTC)));
        // Day of month, month and year.
        let c = Cron::parse("30 6 29 FEB ? 2032").unwrap();
        let next = c
            .next_after(epoch(datetime!(2030-01-01 00:00 UTC)), UtcOffset::UTC)
            .unwrap();
        assert_eq!(next, epoch(datetime!(2032-02-29 06:30 UTC)));
        assert_eq!(c.next_after(next, UtcOffset::UTC), None);
    }

    #[test]
    fn increments_lists_and_names_expand() {
        assert_eq!(field("5/20", 0, 59, &[], "m"), Ok(vec![5, 25, 45]));
        assert_eq!(field("*/6", 0, 23, &[], "h"), Ok(vec![0, 6, 12, 18]));
        assert_eq!(field("1,3-5", 1, 31, &[], "d"), Ok(vec![1, 3, 4, 5]));
        assert_eq!(field("sun,FRI-SAT", 1, 7, &DAYS, "w"), Ok(vec![1, 6, 7]));
        assert_eq!(field("JUL-DEC/2", 1, 12, &MONTHS, "M"), Ok(vec![7, 9, 11]));
        assert!(field("5-1", 0, 59, &[], "m").is_err());
        assert!(field("*/0", 0, 59, &[], "m").is_err());
    }

    #[test]
    fn local_times_follow_the_zone() {
        let tz = parse_timezone(Some("Etc/GMT+5")).unwrap();
        assert_eq!(tz.whole_hours(), -5);
        let c = Cron::parse("0 9 * * ? *").unwrap();
        let next = c
            .next_after(epoch(datetime!(2030-01-01 00:00 UTC)), tz)
            .unwrap();
        assert_eq!(next, epoch(datetime!(2030-01-01 14:00 UTC)));
        let at = Schedule::parse("at(2030-01-01T09:00:00)").unwrap();
        let t = epoch(datetime!(2030-01-01 14:00 UTC));
        assert_eq!(at.latest_in(tz, t - 1.0, t, 0.0, None), Some(t));
        assert_eq!(at.latest_in(UtcOffset::UTC, t - 1.0, t, 0.0, None), None);
        assert!(parse_timezone(Some("Europe/Paris")).is_err());
        assert!(parse_timezone(Some("Etc/GMT+13")).is_err());
        assert_eq!(parse_timezone(None).unwrap(), UtcOffset::UTC);
    }

    #[test]
    fn latest_in_a_window_runs_once_per_window() {
        let start = epoch(datetime!(2030-01-01 00:00 UTC));
        let rate = Schedule::Rate(300);
        // From the anchor: 00:05, 00:10, ...; the latest in (0:03, 0:12].
        assert_eq!(
            rate.latest_in(UtcOffset::UTC, start + 180.0, start + 720.0, start, None),
            Some(start + 600.0)
        );
        assert_eq!(
            rate.latest_in(UtcOffset::UTC, start + 600.0, start + 720.0, start, None),
            None
        );
        let cron = Schedule::parse("cron(0 * * * ? *)").unwrap();
        assert_eq!(
            cron.latest_in(UtcOffset::UTC, start, start + 3.5 * 3600.0, start, None),
            Some(start + 3.0 * 3600.0)
        );
        // Not before StartTime.
        assert_eq!(
            cron.latest_in(
                UtcOffset::UTC,
                start,
                start + 3.5 * 3600.0,
                start,
                Some(start + 4.0 * 3600.0)
            ),
            None
        );
    }
}
