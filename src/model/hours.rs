//! Business hours: when a policy's reminders and fallbacks may go. A step due
//! outside the window waits for the next one, in the window's own time zone
//! (IANA, through chrono-tz, so daylight saving time is right).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// `"business_hours": {"tz": "Europe/Malta", "days": "mon-fri", "from": "08:00", "to": "20:00"}`,
/// as given and as stored (validated, so reading it again cannot fail).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// An IANA time zone name.
    pub tz: String,
    /// Days, as ranges and lists of `mon`…`sun`: `"mon-fri"`, `"mon,wed,fri"`, `"sat-sun"`.
    pub days: String,
    /// `HH:MM` (or `HH:MM:SS`), local time; `from` before `to` (no window across midnight).
    pub from: String,
    pub to: String,
}

/// What is wrong, naming the field inside `business_hours`.
pub type HoursError = (&'static str, String);

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

struct Window {
    tz: Tz,
    days: [bool; 7],
    from: NaiveTime,
    to: NaiveTime,
}

impl BusinessHours {
    pub fn validate(&self) -> Result<(), HoursError> {
        self.window().map(drop)
    }

    /// `at` if it is within the hours, else the start of the next window.
    pub fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        match self.window() {
            Ok(window) => window.next_open(at),
            Err(_) => at,
        }
    }

    fn window(&self) -> Result<Window, HoursError> {
        let tz: Tz = self.tz.trim().parse().map_err(|_| ("tz", format!("not an IANA time zone: {:?}", self.tz)))?;
        let days = parse_days(&self.days).ok_or_else(|| {
            ("days", format!("{:?}: give days as mon…sun, in ranges and lists (\"mon-fri\", \"sat,sun\")", self.days))
        })?;
        let from = parse_time(&self.from).ok_or_else(|| ("from", format!("not a time HH:MM: {:?}", self.from)))?;
        let to = parse_time(&self.to).ok_or_else(|| ("to", format!("not a time HH:MM: {:?}", self.to)))?;
        if from >= to {
            return Err(("to", format!("must be after from ({}): a window cannot cross midnight", self.from)));
        }
        Ok(Window { tz, days, from, to })
    }
}

impl Window {
    fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&self.tz);
        let (date, time) = (local.date_naive(), local.time());
        if self.open_on(date) && time >= self.from && time < self.to {
            return at;
        }
        let start = if time < self.from { 0 } else { 1 };
        (start..=7)
            .filter_map(|d| date.checked_add_signed(Duration::days(d)))
            .find(|day| self.open_on(*day))
            .and_then(|day| self.utc_at(day, self.from))
            .unwrap_or(at)
    }

    fn open_on(&self, date: NaiveDate) -> bool {
        self.days[date.weekday().num_days_from_monday() as usize]
    }

    /// A local time that a DST change skips is taken an hour later.
    fn utc_at(&self, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        let naive = day.and_time(time);
        let local = self.tz.from_local_datetime(&naive).earliest();
        let local = local.or_else(|| self.tz.from_local_datetime(&(naive + Duration::hours(1))).earliest())?;
        Some(local.with_timezone(&Utc))
    }
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M").or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S")).ok()
}

fn day(name: &str) -> Option<usize> {
    DAYS.iter().position(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
}

fn parse_days(s: &str) -> Option<[bool; 7]> {
    let mut days = [false; 7];
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    days.iter().any(|d| *d).then_some(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(days: &str, from: &str, to: &str) -> BusinessHours {
        BusinessHours { tz: "Europe/Malta".into(), days: days.into(), from: from.into(), to: to.into() }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn within_the_window_a_step_goes_at_once_and_outside_it_waits_for_the_next() {
        let h = hours("mon-fri", "08:00", "20:00");
        // Malta is UTC+1 in winter: Tuesday 2026-12-01 10:00 local is 09:00 UTC.
        assert_eq!(h.next_open(utc("2026-12-01T09:00:00Z")), utc("2026-12-01T09:00:00Z"));
        // Tuesday 06:00 local → Tuesday 08:00 local.
        assert_eq!(h.next_open(utc("2026-12-01T05:00:00Z")), utc("2026-12-01T07:00:00Z"));
        // Friday 21:00 local → Monday 08:00 local.
        assert_eq!(h.next_open(utc("2026-12-04T20:00:00Z")), utc("2026-12-07T07:00:00Z"));
        // Summer time (UTC+2): Saturday 2026-07-04 → Monday 08:00 local = 06:00 UTC.
        assert_eq!(h.next_open(utc("2026-07-04T12:00:00Z")), utc("2026-07-06T06:00:00Z"));
    }

    #[test]
    fn days_read_as_ranges_and_lists_even_across_the_week_end() {
        assert_eq!(parse_days("mon-fri"), Some([true, true, true, true, true, false, false]));
        assert_eq!(parse_days("sat,sun"), Some([false, false, false, false, false, true, true]));
        assert_eq!(parse_days("fri-mon"), Some([true, false, false, false, true, true, true]));
        assert_eq!(parse_days("Mon, Wed"), Some([true, false, true, false, false, false, false]));
        assert_eq!(parse_days("funday"), None);
        assert_eq!(parse_days(""), None);
    }

    #[test]
    fn each_bad_field_is_named() {
        let bad = |h: BusinessHours| h.validate().unwrap_err().0;
        assert_eq!(bad(BusinessHours { tz: "Mars/Olympus".into(), ..hours("mon-fri", "08:00", "20:00") }), "tz");
        assert_eq!(bad(hours("weekdays", "08:00", "20:00")), "days");
        assert_eq!(bad(hours("mon-fri", "8am", "20:00")), "from");
        assert_eq!(bad(hours("mon-fri", "20:00", "08:00")), "to");
        assert!(hours("mon-fri", "08:00", "20:00:30").validate().is_ok());
    }
}
