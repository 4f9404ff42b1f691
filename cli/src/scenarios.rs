//! Named synthetic incidents with known ground truth, for scenario tests and demos:
//! `cloudsage generate --scenario NAME`. One service (`checkout`), one line per second with
//! realistic mixed content, deterministic for a given seed. Each scenario states when its
//! incident starts and peaks (minutes from the start), or that it has none.

use crate::generate::{iso, SplitMix};

/// The scenarios, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Healthy all along: ~1 % errors, steady latency and volume.
    Steady,
    /// Heap usage climbs until the service runs out of memory; GC pauses slow requests.
    MemoryLeak,
    /// Latency creeps up until requests time out.
    LatencyCreep,
    /// A deploy, then a storm of new errors with retries (volume surge) and slow requests.
    ErrorStorm,
    /// Loud but healthy: a steady 12 % of errors/warnings and bursty volume, no incident.
    NoisyButHealthy,
}

/// When the incident of a scenario happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroundTruth {
    /// Minute the service starts degrading.
    pub start_minute: u32,
    /// Minute the incident is at its worst.
    pub peak_minute: u32,
}

impl Scenario {
    pub fn all() -> [Scenario; 5] {
        [
            Scenario::Steady,
            Scenario::MemoryLeak,
            Scenario::LatencyCreep,
            Scenario::ErrorStorm,
            Scenario::NoisyButHealthy,
        ]
    }

    /// The incident of a `minutes`-long run, if the scenario has one.
    pub fn truth(self, minutes: u32) -> Option<GroundTruth> {
        match self {
            Scenario::Steady | Scenario::NoisyButHealthy => None,
            _ => Some(GroundTruth {
                start_minute: minutes / 2,
                peak_minute: minutes * 5 / 6,
            }),
        }
    }

    /// The scenario's lines (`minutes` of them at one per second, plus retries).
    pub fn lines(self, minutes: u32, seed: u64) -> Vec<String> {
        let mut rng = SplitMix(seed);
        let truth = self.truth(minutes);
        let mut out = Vec::with_capacity(minutes as usize * 70);
        for m in 0..minutes {
            // 0 before the incident, rising to 1 at its peak, 1 after.
            let p = truth.map_or(0.0, |t| {
                if m < t.start_minute {
                    0.0
                } else {
                    (f64::from(m - t.start_minute + 1)
                        / f64::from((t.peak_minute - t.start_minute).max(1)))
                    .min(1.0)
                }
            });
            if self == Scenario::ErrorStorm && truth.is_some_and(|t| t.start_minute == m) {
                out.push(format!(
                    "{} INFO [deploy] deployed checkout version 2.4.0",
                    iso(DAY_START + i64::from(m) * 60_000)
                ));
            }
            let per_minute = match self {
                // Bursty: 30-90 lines a minute, every minute.
                Scenario::NoisyButHealthy => 30 + (rng.next() % 61) as u32,
                _ => 60,
            };
            for i in 0..per_minute {
                let t = DAY_START
                    + i64::from(m) * 60_000
                    + i64::from(i) * 60_000 / i64::from(per_minute)
                    + (rng.unit() * 500.0) as i64;
                self.line(&mut rng, t, p, &mut out);
            }
        }
        out
    }

    fn line(self, rng: &mut SplitMix, t: i64, p: f64, out: &mut Vec<String>) {
        let ts = iso(t);
        let order = 100_000 + rng.next() % 900_000;
        let base_latency = 40.0 + rng.unit() * 120.0;
        match self {
            Scenario::Steady => {
                if rng.unit() < 0.01 {
                    out.push(format!(
                        "{ts} ERROR [http] order {order} failed: card declined"
                    ));
                } else {
                    out.push(format!(
                        "{ts} INFO [http] order {order} placed in {base_latency:.0}ms"
                    ));
                }
            }
            Scenario::NoisyButHealthy => {
                let r = rng.unit();
                if r < 0.06 {
                    out.push(format!(
                        "{ts} ERROR [http] order {order} failed: card declined"
                    ));
                } else if r < 0.12 {
                    out.push(format!("{ts} WARN [cache] cache miss for order {order}"));
                } else {
                    out.push(format!(
                        "{ts} INFO [http] order {order} placed in {base_latency:.0}ms"
                    ));
                }
            }
            Scenario::MemoryLeak => {
                let heap = 40.0 + 59.0 * p + rng.unit() * 2.0;
                if p >= 1.0 && rng.unit() < 0.3 {
                    out.push(format!(
                        "{ts} ERROR [worker] java.lang.OutOfMemoryError: Java heap space"
                    ));
                } else if rng.unit() < 0.2 {
                    out.push(format!("{ts} INFO [gc] heap usage {heap:.0}%"));
                } else {
                    // GC pauses stretch requests as the heap fills.
                    let latency = base_latency * (1.0 + 8.0 * p * p);
                    out.push(format!(
                        "{ts} INFO [http] order {order} placed in {latency:.0}ms"
                    ));
                }
            }
            Scenario::LatencyCreep => {
                let latency = base_latency * (1.0 + 60.0 * p * p);
                if latency > 3000.0 && rng.unit() < 0.5 {
                    out.push(format!(
                        "{ts} ERROR [http] order {order} timed out after {latency:.0}ms"
                    ));
                } else {
                    out.push(format!(
                        "{ts} INFO [http] order {order} placed in {latency:.0}ms"
                    ));
                }
            }
            Scenario::ErrorStorm => {
                if p == 0.0 && rng.unit() < 0.01 {
                    out.push(format!(
                        "{ts} ERROR [http] order {order} failed: card declined"
                    ));
                } else if rng.unit() < 0.5 * p {
                    // The deploy's new bug: an error signature the service never had.
                    let latency = 3000.0 + rng.unit() * 4000.0;
                    out.push(format!(
                        "{ts} ERROR [http] order {order} failed: NullPointerException in PriceCalculator after {latency:.0}ms"
                    ));
                    // Clients retry: each failure brings a few more lines.
                    for attempt in 1..=3 {
                        out.push(format!(
                            "{ts} WARN [http] retrying order {order}, attempt {attempt}"
                        ));
                    }
                } else {
                    out.push(format!(
                        "{ts} INFO [http] order {order} placed in {base_latency:.0}ms"
                    ));
                }
            }
        }
    }
}

/// Scenario days start at 2026-11-20T06:00:00Z.
const DAY_START: i64 = 6 * 3_600_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_deterministic_and_sized() {
        for s in Scenario::all() {
            let a = s.lines(10, 7);
            assert_eq!(a, s.lines(10, 7), "{s:?}");
            assert!(a.len() >= 300, "{s:?}: {}", a.len());
        }
        assert_ne!(Scenario::Steady.lines(5, 1), Scenario::Steady.lines(5, 2));
    }

    #[test]
    fn incidents_happen_where_the_truth_says() {
        let lines = Scenario::ErrorStorm.lines(60, 1);
        let t = Scenario::ErrorStorm.truth(60).unwrap();
        let deploy = lines.iter().position(|l| l.contains("deployed")).unwrap();
        assert_eq!(
            &lines[deploy][14..16],
            format!("{:02}", t.start_minute % 60)
        );
        assert!(Scenario::Steady.truth(60).is_none());
    }
}
