//! The delivery journal: a local append-only file with one `alert_id<TAB>receiver` line per
//! confirmed delivery, written right after the receiver's answer and read back at start-up.
//! An append reaches the kernel's page cache in one `write`, which a killed process cannot
//! take back, so a crash can no longer fall between "the receiver has it" and "we know we sent
//! it" (the ClickHouse log, written after, takes tens of milliseconds). No `fsync`: this guards
//! against process crashes, not power loss.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Lines kept when the journal is compacted at start-up (alerts are rare: this is months).
pub const KEEP_ENTRIES: usize = 100_000;

pub struct DeliveryJournal {
    path: PathBuf,
    file: Mutex<File>,
}

impl DeliveryJournal {
    /// Opens (creating it and its directory if needed) the journal at `path` and returns it with
    /// the deliveries it holds. A journal longer than twice [`KEEP_ENTRIES`] is rewritten with
    /// its newest [`KEEP_ENTRIES`] lines; unreadable lines are skipped.
    pub fn open(path: &Path) -> std::io::Result<(DeliveryJournal, HashSet<(String, String)>)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut entries: Vec<(String, String)> = Vec::new();
        if path.exists() {
            for line in BufReader::new(File::open(path)?).lines() {
                let Ok(line) = line else { continue };
                if let Some((alert, receiver)) = line.split_once('\t') {
                    if !alert.is_empty() && !receiver.is_empty() {
                        entries.push((alert.to_string(), receiver.to_string()));
                    }
                }
            }
        }
        if entries.len() > 2 * KEEP_ENTRIES {
            entries.drain(..entries.len() - KEEP_ENTRIES);
            let tmp = path.with_extension("compacting");
            let mut f = File::create(&tmp)?;
            for (a, r) in &entries {
                writeln!(f, "{a}\t{r}")?;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let journal = DeliveryJournal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        };
        Ok((journal, entries.into_iter().collect()))
    }

    /// Records a confirmed delivery. A failed write is logged, not fatal: the ClickHouse log
    /// still follows.
    pub fn record(&self, alert_id: &str, receiver: &str) {
        // Ids and names are validated upstream; a tab or newline would corrupt the line.
        if alert_id.contains(['\t', '\n']) || receiver.contains(['\t', '\n']) {
            return;
        }
        let line = format!("{alert_id}\t{receiver}\n");
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = f.write_all(line.as_bytes()) {
            tracing::warn!(path = %self.path.display(), error = %e, "writing the delivery journal failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/deliveries.log");
        let (j, seen) = DeliveryJournal::open(&path).unwrap();
        assert!(seen.is_empty());
        j.record("a1", "ops");
        j.record("a2", "ops");
        j.record("bad\tid", "ops");
        // Like a process killed without any shutdown: only the writes remain.
        drop(j);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"torn line without a tab\n")
            .unwrap();
        let (_, seen) = DeliveryJournal::open(&path).unwrap();
        let want: HashSet<(String, String)> = [("a1", "ops"), ("a2", "ops")]
            .into_iter()
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn long_journals_are_compacted_to_the_newest_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deliveries.log");
        let text: String = (0..2 * KEEP_ENTRIES + 10)
            .map(|i| format!("a{i}\tops\n"))
            .collect();
        std::fs::write(&path, text).unwrap();
        let (_, seen) = DeliveryJournal::open(&path).unwrap();
        assert_eq!(seen.len(), KEEP_ENTRIES);
        assert!(seen.contains(&(format!("a{}", 2 * KEEP_ENTRIES + 9), "ops".to_string())));
        assert!(!seen.contains(&("a0".to_string(), "ops".to_string())));
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, KEEP_ENTRIES);
    }
}
