//! Recovery from a broker that resumes a partition past the offset asked for.
//!
//! tansu 0.6 (CI's broker) answers a fetch from an offset inside a record batch with the
//! *next* batch, silently skipping the rest of the batch that holds the offset. Committed
//! offsets (the first event of a still-open window) usually fall inside a batch, so every
//! restart would lose records. Kafka returns the whole batch and lets the client skip.
//! When the first record after an assignment is beyond the committed offset, the source
//! seeks further back (doubling the distance, down to offset 0) until the broker returns
//! something at or below the target, and drops what lies below it. A real gap (compaction,
//! transaction markers) is accepted once records below the target have been seen.

/// What to do with one record of a partition that is being rewound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the stage; the rewind is over.
    Deliver,
    /// Below the target: already handled before the restart.
    Drop,
    /// Still past the target: drop it and seek to this offset.
    SeekTo(i64),
}

/// Rewind state of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRewind {
    target: i64,
    seeked_to: i64,
    seen_below: bool,
}

/// First step back: one typical producer batch.
const FIRST_STEP: i64 = 1024;

impl ResumeRewind {
    /// Starts a rewind to `target`; returns it with the offset to seek to first.
    pub fn start(target: i64) -> (Self, i64) {
        let seek = (target - FIRST_STEP).max(0);
        (
            Self {
                target,
                seeked_to: seek,
                seen_below: false,
            },
            seek,
        )
    }

    /// Judges the next record read from the partition. Once it returns `Deliver` the rewind
    /// is finished and later records pass through untouched.
    pub fn observe(&mut self, offset: i64) -> Verdict {
        if offset < self.target {
            self.seen_below = true;
            Verdict::Drop
        } else if offset == self.target || self.seen_below || self.seeked_to == 0 {
            Verdict::Deliver
        } else {
            let distance = (self.target - self.seeked_to).max(1);
            self.seeked_to = (self.target - 2 * distance).max(0);
            Verdict::SeekTo(self.seeked_to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_below_the_target_are_dropped_until_it_is_reached() {
        let (mut r, seek) = ResumeRewind::start(1500);
        assert_eq!(seek, 476);
        assert_eq!(r.observe(476), Verdict::Drop);
        assert_eq!(r.observe(1499), Verdict::Drop);
        assert_eq!(r.observe(1500), Verdict::Deliver);
    }

    #[test]
    fn a_skip_past_the_target_doubles_the_distance_until_offset_zero() {
        let (mut r, seek) = ResumeRewind::start(5000);
        assert_eq!(seek, 3976);
        assert_eq!(r.observe(6000), Verdict::SeekTo(2952));
        assert_eq!(r.observe(6000), Verdict::SeekTo(904));
        assert_eq!(r.observe(6000), Verdict::SeekTo(0));
        // Nothing older exists: accept what the broker has.
        assert_eq!(r.observe(6000), Verdict::Deliver);
    }

    #[test]
    fn a_real_gap_is_accepted_once_older_records_were_seen() {
        let (mut r, _) = ResumeRewind::start(100);
        assert_eq!(r.observe(0), Verdict::Drop);
        assert_eq!(r.observe(99), Verdict::Drop);
        // 100 was compacted away.
        assert_eq!(r.observe(101), Verdict::Deliver);
    }
}
