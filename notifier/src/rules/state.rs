//! The life of one rule on one series, Prometheus style: inactive → pending (the condition
//! holds, but not yet for `for`) → firing → resolved once the condition has not held for
//! `resolve_after`. Everything is measured in event time, from the observations' own
//! timestamps, so a replay of the same windows and forecasts makes the same decisions.

/// One evaluation of a rule's condition on a window or a forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Start of the event time the observation stands for (a window's start; for a
    /// forecast, one window before it was made).
    pub start_ms: i64,
    /// End of that event time (a window's end; a forecast's `generated_at_ms`).
    pub end_ms: i64,
    /// The condition holds at the rule's threshold.
    pub holds: bool,
    /// The condition holds with the resolve margin applied (hysteresis): what keeps a
    /// firing alert firing. Equal to `holds` for rules without a margin.
    pub holds_within_margin: bool,
}

/// A rule's timing, in milliseconds of event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long the condition must hold before firing.
    pub for_ms: i64,
    /// How long the condition must not hold (or data be missing) before resolving.
    pub resolve_after_ms: i64,
}

/// What a rule remembers about a series between observations. No value means inactive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleState {
    /// The condition has held since `since_ms`, not yet for `for`.
    Pending { since_ms: i64, held_until_ms: i64 },
    /// The alert fired; it started when the condition started holding (`since_ms`, as
    /// Prometheus' `activeAt`), and the condition last held until `held_until_ms`.
    Firing { since_ms: i64, held_until_ms: i64 },
}

/// An alert state change decided by [`step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The alert fires; it started at `starts_at_ms`.
    Fire { starts_at_ms: i64 },
    /// The alert that started at `starts_at_ms` resolved at `ends_at_ms` (when the quiet
    /// period was complete).
    Resolve { starts_at_ms: i64, ends_at_ms: i64 },
}

/// Applies `obs` to the state `current`: returns the alert state changes (at most a
/// resolution followed by a new firing, when data came back after a gap) and the new state.
pub fn step(
    current: Option<RuleState>,
    obs: &Observation,
    timing: &Timing,
) -> (Vec<Transition>, Option<RuleState>) {
    let mut transitions = Vec::new();
    let Some(state) = current else {
        let next = start(obs, timing, &mut transitions);
        return (transitions, next);
    };
    let held_until = match state {
        RuleState::Pending { held_until_ms, .. } | RuleState::Firing { held_until_ms, .. } => {
            held_until_ms
        }
    };
    // A replayed or out-of-order observation says nothing new.
    if obs.end_ms <= held_until {
        return (transitions, Some(state));
    }
    // No data for the quiet period ends both pending and firing (as an absent series does
    // in Prometheus); what arrives after the gap is evaluated afresh.
    let absent = obs.start_ms - held_until;
    let gap = absent > 0 && absent >= timing.resolve_after_ms;
    let next = match state {
        RuleState::Pending { since_ms, .. } => {
            if obs.holds && !gap {
                advance(since_ms, obs, timing, &mut transitions)
            } else if obs.holds {
                start(obs, timing, &mut transitions)
            } else {
                None
            }
        }
        RuleState::Firing { since_ms, .. } => {
            let quiet_ms = obs.end_ms - held_until;
            if gap {
                transitions.push(Transition::Resolve {
                    starts_at_ms: since_ms,
                    ends_at_ms: held_until + timing.resolve_after_ms,
                });
                start(obs, timing, &mut transitions)
            } else if obs.holds_within_margin {
                Some(RuleState::Firing {
                    since_ms,
                    held_until_ms: obs.end_ms,
                })
            } else if quiet_ms >= timing.resolve_after_ms {
                transitions.push(Transition::Resolve {
                    starts_at_ms: since_ms,
                    ends_at_ms: held_until + timing.resolve_after_ms,
                });
                None
            } else {
                // Quiet, but not for long enough yet: still firing.
                Some(state)
            }
        }
    };
    (transitions, next)
}

/// From inactive: pending (or firing at once when `for` is already covered).
fn start(obs: &Observation, timing: &Timing, out: &mut Vec<Transition>) -> Option<RuleState> {
    if !obs.holds {
        return None;
    }
    advance(obs.start_ms, obs, timing, out)
}

/// The condition holds at `obs`, and has since `since_ms`.
fn advance(
    since_ms: i64,
    obs: &Observation,
    timing: &Timing,
    out: &mut Vec<Transition>,
) -> Option<RuleState> {
    if obs.end_ms - since_ms >= timing.for_ms {
        out.push(Transition::Fire {
            starts_at_ms: since_ms,
        });
        Some(RuleState::Firing {
            since_ms,
            held_until_ms: obs.end_ms,
        })
    } else {
        Some(RuleState::Pending {
            since_ms,
            held_until_ms: obs.end_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// Minute `n`'s window, holding (or not) with no margin.
    fn minute(n: i64, holds: bool) -> Observation {
        Observation {
            start_ms: n * MIN,
            end_ms: (n + 1) * MIN,
            holds,
            holds_within_margin: holds,
        }
    }

    fn timing(for_min: i64, resolve_min: i64) -> Timing {
        Timing {
            for_ms: for_min * MIN,
            resolve_after_ms: resolve_min * MIN,
        }
    }

    /// Runs `obs` through the state machine; returns every transition.
    fn run(obs: &[Observation], t: Timing) -> (Vec<Transition>, Option<RuleState>) {
        let mut state = None;
        let mut all = Vec::new();
        for o in obs {
            let (tr, next) = step(state, o, &t);
            all.extend(tr);
            state = next;
        }
        (all, state)
    }

    #[test]
    fn without_for_the_first_window_fires_and_the_first_quiet_window_resolves() {
        let (tr, state) = run(
            &[minute(0, true), minute(1, true), minute(2, false)],
            timing(0, 1),
        );
        assert_eq!(
            tr,
            [
                Transition::Fire { starts_at_ms: 0 },
                Transition::Resolve {
                    starts_at_ms: 0,
                    ends_at_ms: 3 * MIN
                }
            ]
        );
        assert_eq!(state, None);
    }

    #[test]
    fn for_damps_a_one_window_spike_and_fires_when_the_condition_persists() {
        let t = timing(3, 1);
        let (tr, state) = run(&[minute(0, true), minute(1, false)], t);
        assert!(tr.is_empty() && state.is_none(), "{tr:?} {state:?}");
        let (tr, state) = run(&[minute(0, true), minute(1, true)], t);
        assert!(tr.is_empty(), "two minutes < for = 3m: {tr:?}");
        assert_eq!(
            state,
            Some(RuleState::Pending {
                since_ms: 0,
                held_until_ms: 2 * MIN
            })
        );
        let (tr, _) = run(&[minute(0, true), minute(1, true), minute(2, true)], t);
        assert_eq!(tr, [Transition::Fire { starts_at_ms: 0 }]);
    }

    #[test]
    fn a_flapping_condition_never_fires_with_for() {
        let obs: Vec<_> = (0..20).map(|n| minute(n, n % 2 == 0)).collect();
        let (tr, _) = run(&obs, timing(2, 1));
        assert!(tr.is_empty(), "{tr:?}");
        // Without `for` it fires and resolves every other minute: what `for` is for.
        let (tr, _) = run(&obs, timing(0, 1));
        assert_eq!(tr.len(), 20);
    }

    #[test]
    fn resolves_only_after_the_quiet_period() {
        let t = timing(0, 3);
        // Quiet for two minutes, then back: one alert, never resolved.
        let obs = [
            minute(0, true),
            minute(1, false),
            minute(2, false),
            minute(3, true),
        ];
        let (tr, state) = run(&obs, t);
        assert_eq!(tr, [Transition::Fire { starts_at_ms: 0 }]);
        assert!(matches!(state, Some(RuleState::Firing { since_ms: 0, .. })));
        // Quiet for three minutes: resolved when the third quiet minute ends.
        let (tr, state) = run(
            &[
                minute(0, true),
                minute(1, false),
                minute(2, false),
                minute(3, false),
            ],
            t,
        );
        assert_eq!(
            tr[1],
            Transition::Resolve {
                starts_at_ms: 0,
                ends_at_ms: 4 * MIN
            }
        );
        assert_eq!(state, None);
    }

    #[test]
    fn the_margin_keeps_a_firing_alert_firing_but_does_not_start_one() {
        let near = |n| Observation {
            holds: false,
            holds_within_margin: true,
            ..minute(n, false)
        };
        let (tr, state) = run(&[minute(0, true), near(1), near(2)], timing(0, 1));
        assert_eq!(tr, [Transition::Fire { starts_at_ms: 0 }]);
        assert!(state.is_some());
        let (tr, state) = run(&[near(0), near(1)], timing(0, 1));
        assert!(tr.is_empty() && state.is_none());
    }

    #[test]
    fn a_gap_in_the_data_resolves_and_later_data_starts_a_new_alert() {
        let (tr, state) = run(&[minute(0, true), minute(10, true)], timing(0, 2));
        assert_eq!(
            tr,
            [
                Transition::Fire { starts_at_ms: 0 },
                Transition::Resolve {
                    starts_at_ms: 0,
                    ends_at_ms: 3 * MIN
                },
                Transition::Fire {
                    starts_at_ms: 10 * MIN
                }
            ]
        );
        assert!(state.is_some());
        // A gap also restarts the pending clock.
        let (tr, _) = run(
            &[minute(0, true), minute(5, true), minute(6, true)],
            timing(3, 1),
        );
        assert!(tr.is_empty(), "{tr:?}");
    }

    #[test]
    fn replayed_observations_change_nothing() {
        let t = timing(2, 1);
        let (_, state) = run(&[minute(0, true), minute(1, true)], t);
        let (tr, again) = step(state, &minute(1, true), &t);
        assert!(tr.is_empty());
        assert_eq!(again, state);
        let (tr, again) = step(state, &minute(0, false), &t);
        assert!(tr.is_empty(), "an older quiet window does not resolve");
        assert_eq!(again, state);
    }
}
