//! Streaming joiner for multi-line events (stack traces).
//!
//! Push lines one by one; a line that continues the current event is glued
//! onto it (joined with `\n`), and the previous event is returned when a new
//! one starts. Call [`MultilineJoiner::flush`] at the end of the stream (or
//! when the source goes idle) to get the last event.
//!
//! Continuation lines:
//! * lines starting with a space or a tab (Java `\tat ...`, `\t... 5 more`,
//!   Python `  File "x.py", line 3`, Go `\t/src/main.go:12 +0x1d`);
//! * `Caused by: ...`, `Suppressed: ...` (Java);
//! * `Traceback (most recent call last):` and the block that follows, up to
//!   and including its first non-indented line (the exception line,
//!   `ValueError: boom`); `During handling of the above exception...` and
//!   `The above exception was the direct cause...` chain blocks, with the
//!   blank lines between them;
//! * `goroutine N [running]:` and everything after it (Go panics print
//!   non-indented `main.main()` frames and blank lines) until a line that
//!   starts with a timestamp or `{`.
//!
//! Blank lines outside traces are dropped. An event is capped at
//! [`MultilineConfig::max_lines`] lines and [`MultilineConfig::max_bytes`]
//! bytes; further continuation lines are dropped (counted in
//! [`MultilineJoiner::dropped_lines`]).

use crate::timestamp::{self, TimeConfig};

/// Joiner limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultilineConfig {
    /// Maximum lines in one event.
    pub max_lines: usize,
    /// Maximum bytes in one event.
    pub max_bytes: usize,
}

impl Default for MultilineConfig {
    fn default() -> Self {
        MultilineConfig {
            max_lines: 500,
            max_bytes: 64 * 1024,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Normal,
    /// Inside a Python traceback: indented lines, then the exception line.
    Python,
    /// After a Python exception line: chain markers and blank lines continue.
    AfterPython,
    /// Inside a Go goroutine dump.
    Go,
}

/// Streaming multi-line joiner. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct MultilineJoiner {
    config: MultilineConfig,
    pending: String,
    has_pending: bool,
    lines: usize,
    state: State,
    dropped: u64,
    time: TimeConfig,
}

impl Default for MultilineJoiner {
    fn default() -> Self {
        Self::new(MultilineConfig::default())
    }
}

fn starts_indented(l: &str) -> bool {
    matches!(l.as_bytes().first(), Some(b' ' | b'\t'))
}

fn is_goroutine_header(l: &str) -> bool {
    l.strip_prefix("goroutine ").is_some_and(|r| {
        let d = r.bytes().take_while(u8::is_ascii_digit).count();
        d > 0 && r[d..].starts_with(" [") && r.trim_end().ends_with("]:")
    })
}

/// `java.lang.IllegalStateException: msg` / `com.x.FooError` on its own
/// line (logback / log4j print the exception after the log line).
fn is_java_exception_header(l: &str) -> bool {
    let head = l.split([':', ' ']).next().unwrap_or("");
    head.len() > 10
        && head.contains('.')
        && head.as_bytes()[0].is_ascii_lowercase()
        && (head.ends_with("Exception") || head.ends_with("Error") || head.ends_with("Throwable"))
        && head
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'$' | b'_'))
        && (l.len() == head.len() || l.as_bytes()[head.len()] == b':')
}

impl MultilineJoiner {
    /// A joiner with the given limits.
    pub fn new(config: MultilineConfig) -> Self {
        MultilineJoiner {
            config,
            pending: String::new(),
            has_pending: false,
            lines: 0,
            state: State::Normal,
            dropped: 0,
            time: TimeConfig {
                reference_year: 2000,
            },
        }
    }

    /// Continuation lines dropped because an event hit a limit.
    pub fn dropped_lines(&self) -> u64 {
        self.dropped
    }

    /// An event is being assembled.
    pub fn has_pending(&self) -> bool {
        self.has_pending
    }

    /// Push one line (without its newline; a trailing `\r`/`\n` is removed).
    /// Returns the previous event if this line starts a new one.
    pub fn push(&mut self, line: &str) -> Option<String> {
        let line = line.trim_end_matches(['\r', '\n']);
        let blank = line.trim().is_empty();
        let cont = match self.state {
            State::Go => {
                let b = line.trim_start().as_bytes();
                let new_event = !starts_indented(line)
                    && !blank
                    && (b.first() == Some(&b'{')
                        || timestamp::parse_prefix(line, &self.time).is_some());
                if new_event {
                    self.state = State::Normal;
                }
                !new_event
            }
            State::Python => {
                if !starts_indented(line) && !blank {
                    // The exception line closes the traceback.
                    self.state = State::AfterPython;
                }
                true
            }
            State::AfterPython => {
                if line.starts_with("Traceback (most recent call last):") {
                    self.state = State::Python;
                    true
                } else if blank
                    || line.starts_with("During handling of the above exception")
                    || line.starts_with("The above exception was the direct cause")
                    || starts_indented(line)
                {
                    true
                } else {
                    self.state = State::Normal;
                    false
                }
            }
            State::Normal => {
                if blank {
                    return None;
                }
                if line.starts_with("Traceback (most recent call last):") {
                    self.state = State::Python;
                    true
                } else if is_goroutine_header(line) {
                    self.state = State::Go;
                    true
                } else {
                    starts_indented(line)
                        || line.starts_with("Caused by:")
                        || line.starts_with("Suppressed:")
                        || is_java_exception_header(line)
                }
            }
        };
        if cont && self.has_pending {
            if blank && self.state != State::Go && self.state != State::AfterPython {
                return None;
            }
            if self.lines >= self.config.max_lines
                || self.pending.len() + 1 + line.len() > self.config.max_bytes
            {
                self.dropped += 1;
                return None;
            }
            self.pending.push('\n');
            self.pending.push_str(line);
            self.lines += 1;
            return None;
        }
        if blank {
            return None;
        }
        let done = self.take();
        self.start(line);
        done
    }

    /// End of stream: return the event being assembled, if any.
    pub fn flush(&mut self) -> Option<String> {
        self.state = State::Normal;
        self.take()
    }

    fn take(&mut self) -> Option<String> {
        if !self.has_pending {
            return None;
        }
        self.has_pending = false;
        self.lines = 0;
        let mut s = std::mem::take(&mut self.pending);
        // Trailing blank lines of a Go dump / Python chain are not content.
        let trimmed = s.trim_end_matches(['\n', ' ', '\t']).len();
        s.truncate(trimmed);
        Some(s)
    }

    fn start(&mut self, line: &str) {
        self.pending.clear();
        let cut = if line.len() > self.config.max_bytes {
            let mut c = self.config.max_bytes;
            while !line.is_char_boundary(c) {
                c -= 1;
            }
            c
        } else {
            line.len()
        };
        self.pending.push_str(&line[..cut]);
        self.has_pending = true;
        self.lines = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<String> {
        let mut j = MultilineJoiner::default();
        let mut out: Vec<String> = lines.iter().filter_map(|l| j.push(l)).collect();
        out.extend(j.flush());
        out
    }

    #[test]
    fn java() {
        let out = run(&[
            "2024-01-01 00:00:00 ERROR [main] App: failed",
            "java.lang.IllegalStateException: boom",
            "\tat com.x.App.run(App.java:10)",
            "\tat com.x.App.main(App.java:3)",
            "Caused by: java.io.IOException: disk",
            "\t... 2 more",
            "2024-01-01 00:00:01 INFO [main] App: next",
        ]);
        assert_eq!(out.len(), 2);
        assert!(out[0].starts_with(
            "2024-01-01 00:00:00 ERROR [main] App: failed\njava.lang.IllegalStateException"
        ));
        assert!(out[0].ends_with("\t... 2 more"));
        assert_eq!(out[0].lines().count(), 6);
        assert_eq!(out[1], "2024-01-01 00:00:01 INFO [main] App: next");
    }

    #[test]
    fn python_chain() {
        let out = run(&[
            "ERROR:root:request failed",
            "Traceback (most recent call last):",
            "  File \"app.py\", line 3, in <module>",
            "    main()",
            "KeyError: 'x'",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            "  File \"app.py\", line 5, in <module>",
            "ValueError: boom",
            "INFO:root:next",
        ]);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].starts_with("ERROR:root:request failed\nTraceback"));
        assert!(out[0].ends_with("ValueError: boom"));
        assert_eq!(out[1], "INFO:root:next");
    }

    #[test]
    fn go_panic() {
        let out = run(&[
            "panic: runtime error: index out of range [5] with length 3",
            "",
            "goroutine 1 [running]:",
            "main.main()",
            "\t/app/main.go:12 +0x1d",
            "",
            "goroutine 7 [chan receive]:",
            "main.worker()",
            "\t/app/main.go:30 +0x2a",
            "exit status 2",
            "2024-01-01T00:00:00Z level=info msg=restarted",
        ]);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].contains("goroutine 7 [chan receive]:"));
        assert!(out[0].ends_with("exit status 2"));
        assert!(out[1].starts_with("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn plain_lines_pass_through() {
        let out = run(&["a", "b", "", "c"]);
        assert_eq!(out, ["a", "b", "c"]);
        // Orphan continuation starts its own event.
        let out = run(&["  indented first", "x"]);
        assert_eq!(out, ["  indented first", "x"]);
        assert!(run(&[]).is_empty());
        // A dotted word that is not an exception class is not glued.
        assert_eq!(run(&["a", "com.example.Main started"]).len(), 2);
    }

    #[test]
    fn limits() {
        let mut j = MultilineJoiner::new(MultilineConfig {
            max_lines: 3,
            max_bytes: 1000,
        });
        assert_eq!(j.push("head"), None);
        for _ in 0..10 {
            assert_eq!(j.push("\tat x"), None);
        }
        assert_eq!(j.dropped_lines(), 8);
        let ev = j.flush().unwrap();
        assert_eq!(ev.lines().count(), 3);
        let mut j = MultilineJoiner::new(MultilineConfig {
            max_lines: 10,
            max_bytes: 4,
        });
        j.push("héllo wörld");
        assert!(j.flush().unwrap().len() <= 4);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn joiner_never_panics(lines in proptest::collection::vec(crate::fuzzing::strategies::log_line(), 0..16)) {
            let mut j = MultilineJoiner::new(MultilineConfig { max_lines: 4, max_bytes: 4096 });
            for l in &lines {
                if let Some(ev) = j.push(l) {
                    proptest::prop_assert!(ev.len() <= 4096);
                }
            }
            if let Some(ev) = j.flush() {
                proptest::prop_assert!(ev.len() <= 4096);
            }
        }
    }
}
