//! Tailing a growing log file across rotation, like `tail -F`: the file is read by its open
//! handle and the path is checked on every poll.
//!
//! * rename rotation (`app.log` → `app.log.1`, a new `app.log`): the path names another inode;
//!   the old handle is read to its end (lines the writer appended before it reopened
//!   included) before the new file is opened and read from its beginning;
//! * copytruncate: the open file got shorter than what was read; reading restarts at 0;
//! * a partial last line waits for its newline (a line that never ends is cut at
//!   [`MAX_LINE_BYTES`]); at the end of a rotated file and on [`Follower::finish`] it is
//!   handed out as it is;
//! * a missing file (before it is created, between a rename and the new file) is waited for.
//!
//! Polling (`stat` of the path, `fstat` of the handle) rather than inotify: rotation is
//! detected by comparing inodes and sizes in either case, and polling also works on network
//! and overlay file systems where change events are unreliable.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A line without a newline longer than this is handed out as a line of its own.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// At most this many bytes are read per [`Follower::poll`], so a large backlog is sent in
/// bounded chunks.
const MAX_READ_PER_POLL: usize = 4 << 20;

/// Identity of a file: device and inode.
type FileId = (u64, u64);

/// The file currently read.
struct Open {
    file: File,
    id: FileId,
    /// Offset of the next byte to read.
    pos: u64,
}

pub struct Follower {
    path: PathBuf,
    current: Option<Open>,
    /// Bytes after the last newline read.
    partial: Vec<u8>,
    /// Started at the end of a file whose last line had no newline yet: that line's rest is
    /// dropped up to its newline (its beginning was never read).
    skip_to_newline: bool,
}

impl Follower {
    /// Follows `path`, from its beginning or from its end. A file that does not exist yet is
    /// read from its beginning once it appears.
    pub fn new(path: &Path, from_beginning: bool) -> std::io::Result<Follower> {
        let mut follower = Follower {
            path: path.to_path_buf(),
            current: None,
            partial: Vec::new(),
            skip_to_newline: false,
        };
        if let Some(mut open) = open_file(path)? {
            if !from_beginning {
                let len = open.file.metadata()?.len();
                if len > 0 {
                    let mut last = [0u8; 1];
                    open.file.seek(SeekFrom::Start(len - 1))?;
                    open.file.read_exact(&mut last)?;
                    follower.skip_to_newline = last[0] != b'\n';
                }
                open.pos = len;
            }
            follower.current = Some(open);
        }
        Ok(follower)
    }

    /// Appends the complete lines available now to `out`, each ending with `\n`, following
    /// rotations. Returns the number of bytes read (0: nothing new).
    pub fn poll(&mut self, out: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut read = 0;
        loop {
            let Some(open) = self.current.as_mut() else {
                match open_file(&self.path)? {
                    Some(open) => self.current = Some(open),
                    None => return Ok(read),
                }
                continue;
            };
            // Stat the path before draining the handle: a file that replaced ours after this
            // point is only switched to on the next poll, after the handle was read again.
            let path_id = match std::fs::metadata(&self.path) {
                Ok(m) => Some((m.dev(), m.ino())),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            if open.file.metadata()?.len() < open.pos {
                // copytruncate: what was read is in the copy; the rest of a partial line too.
                open.pos = 0;
                open.file.seek(SeekFrom::Start(0))?;
                self.end_partial(out);
                self.skip_to_newline = false;
            }
            let n = self.drain(out, MAX_READ_PER_POLL - read)?;
            read += n;
            if read >= MAX_READ_PER_POLL {
                return Ok(read);
            }
            let open = self.current.as_ref().expect("open file");
            match path_id {
                Some(id) if id != open.id => {
                    // Renamed away and replaced: the old file is complete.
                    self.end_partial(out);
                    self.skip_to_newline = false;
                    self.current = None;
                }
                _ => return Ok(read),
            }
        }
    }

    /// Hands out a partial last line (at shutdown: what was read is sent).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.end_partial(out);
    }

    /// Reads the open file to its end (at most `limit` bytes), moving complete lines to `out`.
    fn drain(&mut self, out: &mut Vec<u8>, limit: usize) -> std::io::Result<usize> {
        let open = self.current.as_mut().expect("open file");
        open.file.seek(SeekFrom::Start(open.pos))?;
        let mut buf = vec![0u8; 64 << 10];
        let mut total = 0;
        while total < limit {
            let want = buf.len().min(limit - total);
            let n = match open.file.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            open.pos += n as u64;
            total += n;
            let mut bytes = &buf[..n];
            if self.skip_to_newline {
                match bytes.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        bytes = &bytes[i + 1..];
                        self.skip_to_newline = false;
                    }
                    None => continue,
                }
            }
            match bytes.iter().rposition(|&b| b == b'\n') {
                Some(last) => {
                    out.extend_from_slice(&self.partial);
                    self.partial.clear();
                    out.extend_from_slice(&bytes[..=last]);
                    self.partial.extend_from_slice(&bytes[last + 1..]);
                }
                None => self.partial.extend_from_slice(bytes),
            }
            if self.partial.len() >= MAX_LINE_BYTES {
                end_line(&mut self.partial, out);
            }
        }
        Ok(total)
    }

    fn end_partial(&mut self, out: &mut Vec<u8>) {
        end_line(&mut self.partial, out);
    }
}

/// Moves a partial line to `out` as a line of its own.
fn end_line(partial: &mut Vec<u8>, out: &mut Vec<u8>) {
    if !partial.is_empty() {
        out.append(partial);
        out.push(b'\n');
    }
}

fn open_file(path: &Path) -> std::io::Result<Option<Open>> {
    match File::open(path) {
        Ok(file) => {
            let m = file.metadata()?;
            Ok(Some(Open {
                file,
                id: (m.dev(), m.ino()),
                pos: 0,
            }))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn poll(f: &mut Follower) -> String {
        let mut out = Vec::new();
        f.poll(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn starts_at_the_end_or_the_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        append(&path, "old 1\nold 2\n");
        let mut from_end = Follower::new(&path, false).unwrap();
        let mut from_start = Follower::new(&path, true).unwrap();
        append(&path, "new 1\n");
        assert_eq!(poll(&mut from_end), "new 1\n");
        assert_eq!(poll(&mut from_start), "old 1\nold 2\nnew 1\n");
        assert_eq!(poll(&mut from_end), "");
    }

    #[test]
    fn starting_at_the_end_skips_the_rest_of_a_line_begun_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        append(&path, "old 1\nhalf of ol");
        let mut f = Follower::new(&path, false).unwrap();
        append(&path, "d 2\nnew 1\n");
        assert_eq!(poll(&mut f), "new 1\n");
    }

    #[test]
    fn a_partial_line_waits_for_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        append(&path, "");
        let mut f = Follower::new(&path, false).unwrap();
        append(&path, "one\ntw");
        assert_eq!(poll(&mut f), "one\n");
        append(&path, "o and");
        assert_eq!(poll(&mut f), "");
        append(&path, " more\nthree");
        assert_eq!(poll(&mut f), "two and more\n");
        let mut out = Vec::new();
        f.finish(&mut out);
        assert_eq!(out, b"three\n", "finish hands out what was read");
    }

    #[test]
    fn rename_rotation_finishes_the_old_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        append(&path, "a1\n");
        let mut f = Follower::new(&path, true).unwrap();
        assert_eq!(poll(&mut f), "a1\n");
        append(&path, "a2\n");
        std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        // The writer has not reopened yet: the rotated file still grows; no new file yet.
        append(&dir.path().join("app.log.1"), "a3\na4 without newline");
        assert_eq!(poll(&mut f), "a2\na3\n");
        append(&path, "b1\n");
        assert_eq!(poll(&mut f), "a4 without newline\nb1\n");
        append(&path, "b2\n");
        assert_eq!(poll(&mut f), "b2\n");
    }

    #[test]
    fn copytruncate_restarts_at_the_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        append(&path, "a1 long line of text\na2 long line of text\n");
        let mut f = Follower::new(&path, true).unwrap();
        assert_eq!(poll(&mut f), "a1 long line of text\na2 long line of text\n");
        std::fs::copy(&path, dir.path().join("app.log.1")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&path, "b1\n");
        assert_eq!(poll(&mut f), "b1\n");
        append(&path, "b2\n");
        assert_eq!(poll(&mut f), "b2\n");
    }

    #[test]
    fn waits_for_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.log");
        let mut f = Follower::new(&path, false).unwrap();
        assert_eq!(poll(&mut f), "");
        append(&path, "first\n");
        assert_eq!(poll(&mut f), "first\n", "a new file is read from its start");
    }

    #[test]
    fn an_endless_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        append(&path, &"x".repeat(MAX_LINE_BYTES + 10));
        let mut f = Follower::new(&path, true).unwrap();
        let out = poll(&mut f);
        assert_eq!(
            out.len(),
            MAX_LINE_BYTES + 1,
            "one cut line with its newline"
        );
        assert!(out.ends_with('\n'));
    }
}
