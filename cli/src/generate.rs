//! A deterministic synthetic log: three services of a shop over `minutes` minutes, in mixed
//! formats. Plain-text lines with ISO timestamps belong to the run's default service (the web
//! front end); `payments` writes JSON with `timestamp`/`level`/`service`, `search` JSON with
//! `ts` (epoch ms)/`severity`/`app`. `payments` falls into a sudden error storm (gateway
//! timeouts, slow charges, retries) in the middle third and recovers; the front end shows a
//! smaller wave of warnings.

use std::io::Write;
use std::path::Path;

/// A tiny deterministic generator (SplitMix64), so the sample is reproducible.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 2026-11-20T00:00:00Z, the sample's day.
const DAY_MS: i64 = 1_795_132_800_000;

/// RFC 3339 UTC time of `ms` after the sample's day began.
pub(crate) fn iso(ms: i64) -> String {
    let abs = DAY_MS + ms;
    let (secs, millis) = (abs.div_euclid(1000), abs.rem_euclid(1000));
    let (y, mo, d) = logparse::timestamp::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Error probability of `payments` at minute `m` of `total`.
fn payments_error_rate(m: u32, total: u32) -> f64 {
    // A sudden storm (two minutes from calm to its worst), as after a bad deploy.
    let (start, end) = (total / 3, 2 * total / 3);
    let peak = (start + 2).min(end);
    if m < start || m >= end {
        0.01
    } else if m < peak {
        0.01 + 0.5 * (m - start + 1) as f64 / (peak - start).max(1) as f64
    } else {
        0.5
    }
}

pub fn lines(minutes: u32) -> Vec<String> {
    let mut rng = SplitMix(42);
    let mut out = vec![];
    let base_ms: i64 = 8 * 3_600_000;
    for m in 0..minutes {
        for i in 0..60 {
            let t = base_ms + m as i64 * 60_000 + i * 1000 + (rng.unit() * 999.0) as i64;
            // web front end: plain text
            let warn = if m >= minutes / 3 && m < minutes / 2 {
                0.15
            } else {
                0.02
            };
            let lvl = if rng.unit() < warn { "WARN" } else { "INFO" };
            out.push(format!(
                "{} {lvl} [http-{}] order {} placed in {}ms",
                iso(t),
                rng.next() % 8,
                100_000 + rng.next() % 900_000,
                20 + rng.next() % 200
            ));
            // payments: JSON lines
            let err = rng.unit() < payments_error_rate(m, minutes);
            let (level, msg) = if err {
                (
                    "error",
                    "charge failed: upstream gateway timeout after 5000ms",
                )
            } else {
                ("info", "charge captured")
            };
            out.push(format!(
                r#"{{"timestamp":"{}","level":"{level}","service":"payments","msg":"{msg}","amount":{},"duration_ms":{}}}"#,
                iso(t + 150),
                rng.next() % 500,
                if err { 5000 } else { 80 + rng.next() % 120 }
            ));
            if err {
                // The shop retries failed charges: storms bring more lines.
                for attempt in 1..=3 {
                    out.push(format!(
                        r#"{{"timestamp":"{}","level":"warn","service":"payments","msg":"retrying charge, attempt {attempt}"}}"#,
                        iso(t + 150 + attempt * 100),
                    ));
                }
            }
            // search: JSON with other field names, healthy
            if i % 2 == 0 {
                out.push(format!(
                    r#"{{"ts":{},"severity":"INFO","app":"search","message":"query served","took_ms":{}}}"#,
                    DAY_MS + t + 300,
                    5 + rng.next() % 40
                ));
            }
        }
    }
    out
}

/// Writes the shop sample, or `scenario`'s lines, to `out` (stdout without one).
pub fn write_sample(
    out: Option<&Path>,
    minutes: u32,
    scenario: Option<crate::scenarios::Scenario>,
    seed: u64,
) -> anyhow::Result<()> {
    let lines = match scenario {
        Some(s) => s.lines(minutes, seed),
        None => lines(minutes),
    };
    let text = lines.join("\n") + "\n";
    match out {
        Some(p) => std::fs::write(p, text)?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_deterministic_and_has_an_error_storm() {
        let a = lines(12);
        assert_eq!(a, lines(12));
        // 150 lines a minute, plus three retries per failed charge.
        let retries = a.iter().filter(|l| l.contains("retrying charge")).count();
        assert_eq!(a.len(), 12 * 150 + retries);
        assert!(retries > 150, "{retries}");
        let errors = a
            .iter()
            .filter(|l| l.contains("\"level\":\"error\""))
            .count();
        assert!(errors > 50, "{errors}");
    }
}
