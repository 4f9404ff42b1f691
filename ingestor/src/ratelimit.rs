//! Per-project request rate limits (`[ingestor.rate_limit]`), one `governor` token bucket per
//! configured project, so one noisy project cannot starve the others.

use cloudsage_runtime::config::{IngestorConfig, RateQuota};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct ProjectLimits {
    limiters: HashMap<String, DefaultDirectRateLimiter>,
    clock: DefaultClock,
}

impl ProjectLimits {
    /// One bucket per project of `[ingestor.projects]`, with the project's override if any.
    pub fn from_config(c: &IngestorConfig) -> Self {
        let default = RateQuota {
            requests_per_second: c.rate_limit.requests_per_second,
            burst: c.rate_limit.burst,
        };
        let limiters = c
            .projects
            .keys()
            .filter_map(|project| {
                let quota = c.rate_limit.projects.get(project).unwrap_or(&default);
                Some((project.clone(), RateLimiter::direct(quota_of(quota)?)))
            })
            .collect();
        Self {
            limiters,
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` if `project` may make a request now; else how long until it may.
    pub fn check(&self, project: &str) -> Result<(), Duration> {
        match self.limiters.get(project) {
            None => Ok(()),
            Some(limiter) => limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
        }
    }
}

/// `None` when limiting is off (`requests_per_second = 0`).
fn quota_of(q: &RateQuota) -> Option<Quota> {
    let rate = NonZeroU32::new(q.requests_per_second)?;
    let burst = NonZeroU32::new(q.burst).unwrap_or(NonZeroU32::MIN);
    Some(Quota::per_second(rate).allow_burst(burst))
}

/// A `Retry-After` value: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_runtime::config::ProjectAuth;

    fn config(rps: u32, burst: u32) -> IngestorConfig {
        let mut c = IngestorConfig::default();
        for p in ["shop", "blog", "free"] {
            c.projects.insert(p.into(), ProjectAuth::default());
        }
        c.rate_limit.requests_per_second = rps;
        c.rate_limit.burst = burst;
        c.rate_limit.projects.insert(
            "free".into(),
            RateQuota {
                requests_per_second: 0,
                burst: 0,
            },
        );
        c
    }

    #[test]
    fn each_project_has_its_own_bucket() {
        let l = ProjectLimits::from_config(&config(1, 2));
        assert!(l.check("shop").is_ok());
        assert!(l.check("shop").is_ok());
        let wait = l.check("shop").unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(l.check("blog").is_ok(), "another project is not affected");
        for _ in 0..100 {
            assert!(l.check("free").is_ok(), "0 disables the limit");
        }
        assert!(l.check("unknown").is_ok());
    }

    #[test]
    fn the_settings_parse_from_toml_with_documented_defaults() {
        let c = cloudsage_runtime::Config::from_toml("").unwrap().ingestor;
        assert_eq!(
            (c.rate_limit.requests_per_second, c.rate_limit.burst),
            (50, 100)
        );
        assert_eq!(c.max_decompressed_bytes, 64 * 1024 * 1024);
        let c = cloudsage_runtime::Config::from_toml(
            "[ingestor]\nmax_decompressed_bytes = 1000\n[ingestor.rate_limit]\nrequests_per_second = 5\nburst = 10\n[ingestor.rate_limit.projects.shop]\nrequests_per_second = 1\nburst = 1\n[ingestor.webhooks]\nsns_confirm_hosts = [\"sns.local\"]\nsns_confirm_timeout = \"3s\"\n",
        )
        .unwrap()
        .ingestor;
        assert_eq!(c.max_decompressed_bytes, 1000);
        assert_eq!(c.rate_limit.requests_per_second, 5);
        assert_eq!(c.rate_limit.projects["shop"].burst, 1);
        assert_eq!(c.webhooks.sns_confirm_hosts, vec!["sns.local"]);
        assert_eq!(c.webhooks.sns_confirm_timeout, Duration::from_secs(3));
    }

    #[test]
    fn retry_after_rounds_up_to_at_least_one_second() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }
}
