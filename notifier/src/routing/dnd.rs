//! Do-not-disturb hours of a receiver: a daily local-time window (possibly crossing
//! midnight) during which non-critical notifications wait until the window ends.

use cloudsage_runtime::config::DndConfig;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnd {
    /// Minutes after local midnight.
    start_min: i64,
    end_min: i64,
    /// Local time minus UTC, in minutes.
    offset_min: i64,
    pub critical_breaks_through: bool,
}

fn parse_hhmm(s: &str) -> anyhow::Result<i64> {
    let (h, m) = s
        .trim()
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("{s:?}: expected HH:MM"))?;
    let (h, m): (i64, i64) = (h.parse()?, m.parse()?);
    anyhow::ensure!(
        (0..24).contains(&h) && (0..60).contains(&m),
        "{s:?}: not a time of day"
    );
    Ok(h * 60 + m)
}

fn parse_offset(s: &str) -> anyhow::Result<i64> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Ok(0);
    }
    let sign = match s.chars().next() {
        Some('+') => 1,
        Some('-') => -1,
        _ => anyhow::bail!("timezone {s:?}: expected UTC or an offset like +02:00"),
    };
    let m = parse_hhmm(&s[1..]).map_err(|e| anyhow::anyhow!("timezone {s:?}: {e}"))?;
    Ok(sign * m)
}

impl Dnd {
    pub fn from_config(c: &DndConfig) -> anyhow::Result<Dnd> {
        let d = Dnd {
            start_min: parse_hhmm(&c.start)?,
            end_min: parse_hhmm(&c.end)?,
            offset_min: parse_offset(&c.timezone)?,
            critical_breaks_through: c.critical_breaks_through,
        };
        anyhow::ensure!(d.start_min != d.end_min, "dnd start and end are equal");
        Ok(d)
    }

    /// `Some(end)` (epoch ms) when `now_ms` is inside the quiet hours, `None` otherwise.
    pub fn quiet_until(&self, now_ms: i64) -> Option<i64> {
        let local = now_ms + self.offset_min * 60_000;
        let midnight = local.div_euclid(DAY_MS) * DAY_MS;
        let minute = (local - midnight) / 60_000;
        let (s, e) = (self.start_min, self.end_min);
        let end_local = if s < e {
            (s <= minute && minute < e).then_some(midnight + e * 60_000)?
        } else if minute >= s {
            midnight + DAY_MS + e * 60_000
        } else if minute < e {
            midnight + e * 60_000
        } else {
            return None;
        };
        Some(end_local - self.offset_min * 60_000)
    }

    /// Whether a notification may go out now: outside quiet hours, or a firing critical
    /// alert when those break through.
    pub fn allows(&self, now_ms: i64, critical: bool) -> bool {
        self.quiet_until(now_ms).is_none() || (critical && self.critical_breaks_through)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dnd(start: &str, end: &str, tz: &str, breaks: bool) -> Dnd {
        Dnd::from_config(&DndConfig {
            start: start.into(),
            end: end.into(),
            timezone: tz.into(),
            critical_breaks_through: breaks,
        })
        .unwrap()
    }

    /// 2026-11-20 at `h:m` UTC, in epoch ms.
    fn at(h: i64, m: i64) -> i64 {
        1_795_132_800_000 + (h * 60 + m) * 60_000
    }

    #[test]
    fn window_crossing_midnight() {
        let d = dnd("22:00", "07:00", "UTC", true);
        assert_eq!(d.quiet_until(at(21, 59)), None);
        assert_eq!(d.quiet_until(at(22, 0)), Some(at(24 + 7, 0)));
        assert_eq!(d.quiet_until(at(23, 30)), Some(at(24 + 7, 0)));
        assert_eq!(d.quiet_until(at(3, 0)), Some(at(7, 0)));
        assert_eq!(d.quiet_until(at(7, 0)), None);
        assert_eq!(d.quiet_until(at(12, 0)), None);
    }

    #[test]
    fn same_day_window_and_offsets() {
        let d = dnd("12:00", "13:00", "UTC", false);
        assert_eq!(d.quiet_until(at(12, 30)), Some(at(13, 0)));
        assert_eq!(d.quiet_until(at(13, 0)), None);
        // 22:00-07:00 at +02:00 is 20:00-05:00 UTC.
        let d = dnd("22:00", "07:00", "+02:00", true);
        assert_eq!(d.quiet_until(at(19, 59)), None);
        assert_eq!(d.quiet_until(at(20, 0)), Some(at(24 + 5, 0)));
        assert_eq!(d.quiet_until(at(5, 0)), None);
        let d = dnd("22:00", "07:00", "-05:30", true);
        assert_eq!(d.quiet_until(at(3, 30)), Some(at(12, 30)));
    }

    #[test]
    fn critical_breaks_through_only_when_configured() {
        let night = at(23, 0);
        assert!(!dnd("22:00", "07:00", "UTC", true).allows(night, false));
        assert!(dnd("22:00", "07:00", "UTC", true).allows(night, true));
        assert!(!dnd("22:00", "07:00", "UTC", false).allows(night, true));
        assert!(dnd("22:00", "07:00", "UTC", false).allows(at(8, 0), false));
    }

    #[test]
    fn bad_times_are_refused() {
        let c = |s: &str, tz: &str| DndConfig {
            start: s.into(),
            end: "07:00".into(),
            timezone: tz.into(),
            critical_breaks_through: true,
        };
        assert!(Dnd::from_config(&c("25:00", "UTC")).is_err());
        assert!(Dnd::from_config(&c("22", "UTC")).is_err());
        assert!(Dnd::from_config(&c("22:00", "Europe/Paris")).is_err());
        assert!(Dnd::from_config(&c("07:00", "UTC")).is_err());
    }
}
