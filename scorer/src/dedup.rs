//! Recognising the lines of a retried HTTP request. The ingestor tags every line of a request
//! sent with an `Idempotency-Key` with `(key, seq)`; within a series the records are produced
//! in `seq` order (idempotent producer, one partition per series), so whatever part of a first
//! attempt reached `logs.raw` is a prefix of the request's lines in that series. Remembering
//! the highest `seq` per request is therefore enough to skip every line a retry repeats and
//! keep the ones the first attempt never delivered.
//!
//! Nothing here is checkpointed: a scorer that restarts replays from the oldest record of its
//! open windows, which rebuilds the entries that still matter; lines of windows already emitted
//! are skipped by the restored watermark anyway.

/// Requests remembered per series at most: far more than clients retry concurrently, and a
/// bound on memory whatever they send.
pub const MAX_REQUESTS_PER_SERIES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Request {
    /// Hash of the request's idempotency key.
    key: u64,
    highest_seq: i64,
    /// End of the window of the request's newest line: once the series' watermark passes it,
    /// a retry's lines would all be late, and the entry is dropped.
    until_ms: i64,
}

/// The requests a series has recently seen, oldest first.
#[derive(Debug, Default, Clone)]
pub struct RecentRequests {
    requests: Vec<Request>,
}

impl RecentRequests {
    /// Whether line `seq` of request `key`, in the window ending at `window_end_ms`, is seen
    /// for the first time (and remembers it). `watermark_ms` is the series' watermark, below
    /// which entries are forgotten.
    pub fn first_sight(
        &mut self,
        key: u64,
        seq: i64,
        window_end_ms: i64,
        watermark_ms: i64,
    ) -> bool {
        if let Some(r) = self.requests.iter_mut().find(|r| r.key == key) {
            if seq <= r.highest_seq {
                return false;
            }
            r.highest_seq = seq;
            r.until_ms = r.until_ms.max(window_end_ms);
            return true;
        }
        self.requests.retain(|r| r.until_ms > watermark_ms);
        if self.requests.len() >= MAX_REQUESTS_PER_SERIES {
            self.requests.remove(0);
        }
        self.requests.push(Request {
            key,
            highest_seq: seq,
            until_ms: window_end_ms,
        });
        true
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

/// A stable 64-bit hash of an idempotency key (FNV-1a: keys are short, and the value never
/// leaves the process).
pub fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_repeats_only_what_it_adds() {
        let mut r = RecentRequests::default();
        let k = key_hash("req-1");
        // First attempt: lines 0..=3 reached the topic.
        assert!((0..=3).all(|seq| r.first_sight(k, seq, 60_000, 0)));
        // The retry sends 0..=5: 0..=3 are repeats, 4 and 5 are new.
        let fresh: Vec<i64> = (0..=5)
            .filter(|&seq| r.first_sight(k, seq, 60_000, 0))
            .collect();
        assert_eq!(fresh, vec![4, 5]);
        // Another request's lines are its own.
        assert!(r.first_sight(key_hash("req-2"), 0, 60_000, 0));
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn entries_are_forgotten_behind_the_watermark_and_bounded() {
        let mut r = RecentRequests::default();
        assert!(r.first_sight(1, 0, 60_000, 0));
        // The watermark passed the first request's window: a new request evicts it ...
        assert!(r.first_sight(2, 0, 180_000, 60_000));
        assert_eq!(r.len(), 1);
        // ... so its lines count again (a retry this late would be late anyway).
        assert!(r.first_sight(1, 0, 60_000, 60_000));
        for key in 10..10 + 2 * MAX_REQUESTS_PER_SERIES as u64 {
            r.first_sight(key, 0, i64::MAX, 0);
        }
        assert_eq!(r.len(), MAX_REQUESTS_PER_SERIES);
    }

    #[test]
    fn key_hash_is_fnv1a() {
        // FNV-1a 64 test vectors.
        assert_eq!(key_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
