//! Recovery from a broker that resumes a partition past the offset asked for.
//!
//! tansu 0.6 (CI's broker) answers a fetch from an offset inside a record batch with the
//! *next* batch, silently skipping the rest of the batch that holds the offset (a seek to
//! any offset inside a batch does the same). Committed offsets (the first event of a
//! still-open window) usually fall inside a batch, so every restart would lose records.
//! Kafka returns the whole batch and lets the client skip, so this never triggers there.
//!
//! When the first record after an assignment lies beyond the committed offset, the source
//! seeks to the partition's beginning (a batch boundary every broker serves correctly) and
//! drops what lies below the target. Records still queued from the fetch that skipped ahead
//! all lie beyond the target; they are dropped until the re-read shows a record below it.
//! When the skipped batch was the partition's last, nothing arrives at all: the driver
//! notices the silence (records exist at or past the committed offset, none came) and
//! rewinds the same way.
//!
//! A partition revoked and assigned again within one poll loses the records of it that the
//! polled batch holds (they may predate the revoke, so the driver drops them); it is re-read
//! from its resume point with a direct seek there (`start_direct`): Kafka serves that
//! record first, and only a broker that skips ahead (tansu) falls back to the beginning.

/// What to do with one record of a partition that is being rewound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the stage; the rewind is over.
    Deliver,
    /// Below the target (already handled before the restart), or left over from the fetch
    /// that skipped ahead.
    Drop,
    /// A direct seek to the target was answered past it: drop this record, seek to the
    /// partition's beginning; the rewind continues as [`ResumeRewind::start`].
    SeekToBeginning,
}

/// Rewind state of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRewind {
    target: i64,
    /// A record below the target arrived: the re-read from the beginning has started.
    reread_started: bool,
    /// Deliver nothing before the re-read has started, not even the target itself.
    strict: bool,
    /// The source sought to the target itself (not to the beginning).
    direct: bool,
}

impl ResumeRewind {
    /// Starts a rewind to `target` after the broker skipped past it. The caller seeks to the
    /// partition's beginning; if the beginning is at or past `target`, there is nothing to
    /// rewind.
    pub fn start(target: i64) -> Self {
        Self {
            target,
            reread_started: false,
            strict: false,
            direct: false,
        }
    }

    /// Starts a rewind after the caller sought to `target` itself. The target arriving first
    /// ends it; anything past it means the broker skipped again, and the caller must seek to
    /// the beginning (see [`Verdict::SeekToBeginning`]).
    pub fn start_direct(target: i64) -> Self {
        Self {
            direct: true,
            ..Self::start(target)
        }
    }

    /// Starts a rewind to `target` after nothing arrived from it (the skipped batch was the
    /// partition's last). The record at `target` may still be on its way from the original
    /// fetch, so it only counts once the re-read has started; otherwise the re-read would
    /// deliver the records after it a second time.
    pub fn start_silent(target: i64) -> Self {
        Self {
            strict: true,
            ..Self::start(target)
        }
    }

    /// Judges the next record read from the partition. Once it returns `Deliver` the rewind
    /// is finished and later records pass through untouched.
    pub fn observe(&mut self, offset: i64) -> Verdict {
        if self.direct {
            self.direct = false;
            if offset > self.target {
                return Verdict::SeekToBeginning;
            }
        }
        if offset < self.target {
            self.reread_started = true;
            Verdict::Drop
        } else if (offset == self.target && !self.strict) || self.reread_started {
            // Exactly the target cannot be a leftover (those all lie beyond it); past it after
            // the re-read started means the target itself is gone (compaction, markers).
            Verdict::Deliver
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_then_the_reread_below_the_target_are_dropped() {
        let mut r = ResumeRewind::start(1500);
        // Still queued from the fetch that skipped ahead.
        assert_eq!(r.observe(2400), Verdict::Drop);
        assert_eq!(r.observe(2401), Verdict::Drop);
        // The re-read from the beginning.
        assert_eq!(r.observe(0), Verdict::Drop);
        assert_eq!(r.observe(1499), Verdict::Drop);
        assert_eq!(r.observe(1500), Verdict::Deliver);
    }

    #[test]
    fn a_leftover_with_the_same_offset_as_the_reread_is_not_taken_for_it() {
        // The fetch skipped to 3534; re-reading yields 0.., never confused with 3534...
        let mut r = ResumeRewind::start(3510);
        assert_eq!(r.observe(3534), Verdict::Drop);
        assert_eq!(r.observe(0), Verdict::Drop);
        assert_eq!(r.observe(3510), Verdict::Deliver);
    }

    #[test]
    fn a_silent_rewind_drops_the_target_until_the_reread_starts() {
        // Nothing arrived for a while, then the original fetch delivers the target after all:
        // the re-read that follows would repeat it and everything after it.
        let mut r = ResumeRewind::start_silent(7059);
        assert_eq!(r.observe(7059), Verdict::Drop);
        assert_eq!(r.observe(7060), Verdict::Drop);
        assert_eq!(r.observe(0), Verdict::Drop);
        assert_eq!(r.observe(7058), Verdict::Drop);
        assert_eq!(r.observe(7059), Verdict::Deliver);
    }

    #[test]
    fn a_direct_seek_answered_with_the_target_delivers_it() {
        let mut r = ResumeRewind::start_direct(40);
        assert_eq!(r.observe(40), Verdict::Deliver);
    }

    #[test]
    fn a_direct_seek_answered_past_the_target_falls_back_to_the_beginning() {
        let mut r = ResumeRewind::start_direct(40);
        assert_eq!(r.observe(57), Verdict::SeekToBeginning);
        // Still queued from the skipping fetch, then the re-read from the beginning.
        assert_eq!(r.observe(58), Verdict::Drop);
        assert_eq!(r.observe(0), Verdict::Drop);
        assert_eq!(r.observe(39), Verdict::Drop);
        assert_eq!(r.observe(40), Verdict::Deliver);
    }

    #[test]
    fn a_real_gap_is_accepted_once_the_reread_started() {
        let mut r = ResumeRewind::start(100);
        assert_eq!(r.observe(0), Verdict::Drop);
        assert_eq!(r.observe(99), Verdict::Drop);
        // 100 was compacted away.
        assert_eq!(r.observe(101), Verdict::Deliver);
    }
}
