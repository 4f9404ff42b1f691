//! Mining prepared pieces in their input order on whichever worker
//! prepared them (see [`mine_parallel`](super::mine_parallel)).

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use logparse::{PreparedMessages, TemplateMiner};

use super::write_row;

/// Mines prepared pieces in their input order, on whichever worker hands
/// them in (see [`mine_parallel`](super::mine_parallel)).
pub(super) struct OrderedMiner<W: Write> {
    mining: Mutex<Mining<W>>,
    /// Pieces handed in and not mined yet, by sequence number.
    waiting: Mutex<BTreeMap<u64, PreparedMessages>>,
    /// Sequence number of the next piece to mine (changed under `mining`).
    next: AtomicU64,
    /// A write failed: mining stopped, reading should too.
    failed: AtomicBool,
    /// Mined batches, for their buffers to be used again.
    spare: Mutex<Vec<PreparedMessages>>,
    /// With more pieces waiting than this, a worker waits for its turn to
    /// mine instead of going on preparing: the miner is behind.
    max_waiting: usize,
}

/// The miner and the output, one worker at a time.
struct Mining<W: Write> {
    miner: TemplateMiner,
    out: BufWriter<W>,
    lines: u64,
    error: Option<std::io::Error>,
}

impl<W: Write> OrderedMiner<W> {
    pub(super) fn new(out: BufWriter<W>, max_waiting: usize) -> Self {
        OrderedMiner {
            mining: Mutex::new(Mining {
                miner: TemplateMiner::default(),
                out,
                lines: 0,
                error: None,
            }),
            waiting: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            spare: Mutex::new(Vec::new()),
            max_waiting,
        }
    }

    /// A mined batch to fill again, if there is one.
    pub(super) fn spare(&self) -> Option<PreparedMessages> {
        lock(&self.spare).pop()
    }

    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Hand in piece `seq`, and mine the pieces that are next in line
    /// unless another worker is doing so.
    pub(super) fn hand_in(&self, seq: u64, batch: PreparedMessages) {
        let waiting = {
            let mut waiting = lock(&self.waiting);
            waiting.insert(seq, batch);
            waiting.len()
        };
        let mut wait_for_turn = waiting > self.max_waiting;
        loop {
            let mining = if wait_for_turn {
                Some(lock(&self.mining))
            } else {
                self.mining.try_lock().ok()
            };
            // Another worker mines, and will find this piece.
            let Some(mut mining) = mining else { return };
            self.mine_waiting(&mut mining);
            drop(mining);
            // A piece handed in after the last look found the lock taken
            // and left it to this worker: look again.
            let next = self.next.load(Ordering::Acquire);
            if !lock(&self.waiting).contains_key(&next) {
                return;
            }
            wait_for_turn = false;
        }
    }

    /// Mine the waiting pieces from the next one on, as long as they follow
    /// each other.
    fn mine_waiting(&self, mining: &mut Mining<W>) {
        loop {
            let next = self.next.load(Ordering::Relaxed);
            let Some(batch) = lock(&self.waiting).remove(&next) else {
                return;
            };
            if mining.error.is_none() {
                if let Err(e) = mining.mine(&batch) {
                    mining.error = Some(e);
                    self.failed.store(true, Ordering::Relaxed);
                }
            }
            self.next.store(next + 1, Ordering::Release);
            lock(&self.spare).push(batch);
        }
    }

    /// After all `handed_out` pieces were handed in: mine what is left and
    /// flush. A write error comes first, then `read`'s.
    pub(super) fn finish(self, handed_out: u64, read: std::io::Result<()>) -> std::io::Result<u64> {
        self.mine_waiting(&mut lock(&self.mining));
        debug_assert!(lock(&self.waiting).is_empty(), "pieces are mined in order");
        let mining = self
            .mining
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        debug_assert!(mining.error.is_some() || self.next.into_inner() == handed_out);
        if let Some(e) = mining.error {
            return Err(e);
        }
        read?;
        let mut out = mining.out;
        out.flush()?;
        Ok(mining.lines)
    }
}

impl<W: Write> Mining<W> {
    fn mine(&mut self, batch: &PreparedMessages) -> std::io::Result<()> {
        for i in 0..batch.len() {
            self.lines += 1;
            write_row(
                &mut self.out,
                self.lines,
                &self.miner.add_prepared(batch, i),
            )?;
        }
        Ok(())
    }
}

/// A lock whether or not a holder panicked (the panic reaches the caller
/// through the pool's scope anyway).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
