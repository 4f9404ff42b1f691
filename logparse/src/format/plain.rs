//! Plain text lines: an optional timestamp, a short header, the message.
//!
//! The header is read generically, token by token, after the timestamp
//! (see [`crate::timestamp::parse_prefix`] for the layouts):
//!
//! * separators `-`, `|`, `:` are skipped;
//! * a level token — `INFO`, `WARN`, `[error]`, `<warn>`, `Error:` — sets the
//!   severity (upper case when bare, any case when bracketed or followed by
//!   `:`);
//! * a number directly followed by a level token is a `pid` (HDFS);
//! * after the level, a bracketed token without spaces is the `thread`
//!   (`[main]`, Zookeeper's `[QuorumPeer[myid=1]/...@774]`) and a dotted
//!   `logger.Name:` token is the `logger` (log4j / logback / Spark);
//! * `ts|component|pid|message` pipe layouts (HealthApp) give `component`
//!   and `pid`;
//! * glog (`E0412 10:00:00.123456 1234 file.go:12] msg`) is recognised as a
//!   whole.
//!
//! Everything after the header is the message. Without a level token in
//! the header, [`crate::level::detect_level`] scans the line.

use std::borrow::Cow;

use crate::format::{Field, Format, ParseConfig, ParsedEvent};
use crate::level::{detect_level, letters_level, letters_only_level, map_level_name, Severity};
use crate::timestamp::{self, to_epoch_ms};

/// Parse a plain-text line (never fails).
pub fn parse<'a>(line: &'a str, cfg: &ParseConfig) -> ParsedEvent<'a> {
    let mut ev = ParsedEvent::new(Format::Plain, line);
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    if let Some(rest) = glog(line, i, cfg, &mut ev) {
        ev.message = Cow::Borrowed(&line[rest..]);
        return ev;
    }
    let mut have_ts = false;
    if let Some((ts, used)) = timestamp::parse_prefix(&line[i..], &cfg.time) {
        ev.timestamp_ms = Some(ts);
        i += used;
        have_ts = true;
    }
    i = header(line, i, have_ts, &mut ev);
    ev.message = Cow::Borrowed(&line[i..]);
    if ev.severity.is_none() && !cfg.message_only {
        ev.severity = detect_level(line);
    }
    ev
}

/// Level of a header token: bracketed (any case), bare upper case, or
/// followed by `:` (any case). Needs 3+ letters when bare.
fn header_level(tok: &str) -> Option<Severity> {
    let t = tok.as_bytes();
    if t.len() >= 3 {
        let (open, close) = (t[0], t[t.len() - 1]);
        if matches!((open, close), (b'[', b']') | (b'<', b'>')) {
            let inner = &tok[1..tok.len() - 1];
            // `[notice]`, `<warn>`: letters only, no trim needed.
            let level =
                letters_only_level(inner.as_bytes()).unwrap_or_else(|| map_level_name(inner));
            return level.filter(|_| t.len() > 3);
        }
    }
    let (word, colon) = match tok.strip_suffix(':') {
        Some(w) => (w, true),
        None => (tok, false),
    };
    if word.len() < 3 || !word.bytes().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    if colon || word.bytes().all(|c| c.is_ascii_uppercase()) {
        // = `map_level_name(word)` for a word of ASCII letters (nothing to
        // trim, not a number).
        letters_level(word.as_bytes())
    } else {
        None
    }
}

/// `org.apache.Foo$Bar:` -> `org.apache.Foo$Bar`: 3+ bytes of ASCII
/// letters, digits, `.`, `$`, `_`, `-`, at least one `.` or `$`.
fn logger_name(tok: &str) -> Option<&str> {
    let name = tok.strip_suffix(':')?;
    if name.len() <= 2 {
        return None;
    }
    // One pass, one table lookup per byte, without a branch per byte: every
    // byte has `L_OK` (AND) and one of them `L_DOT` (OR).
    let (mut all, mut dot) = (L_OK, 0u8);
    for &c in name.as_bytes() {
        let t = LOGGER[c as usize];
        all &= t;
        dot |= t;
    }
    (all != 0 && dot & L_DOT != 0).then_some(name)
}

const L_OK: u8 = 1;
const L_DOT: u8 = 2;

/// Bytes of a [`logger_name`]: [`L_OK`], and [`L_DOT`] for `.` and `$`.
static LOGGER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'.' | b'$' => L_OK | L_DOT,
            b'_' | b'-' => L_OK,
            _ if c.is_ascii_alphanumeric() => L_OK,
            _ => 0,
        };
        i += 1;
    }
    t
};

/// `program - ` or `program arg - ` right after the timestamp (Proxifier's
/// `chrome.exe *64 - `, Python's `%(asctime)s %(name)s - %(levelname)s`):
/// returns (program, index after the dash).
///
/// `first` receives the first token's (start, end, [`header_level`]) when the
/// level was looked up, for [`header`] to reuse.
fn program_dash<'a>(line: &'a str, i: usize, first: &mut KnownToken) -> Option<(&'a str, usize)> {
    let b = line.as_bytes();
    let s = skip_ws(b, i);
    let mut end = s;
    for k in 0..2 {
        let t0 = skip_ws(b, end);
        if t0 >= b.len() {
            return None;
        }
        let t1 = token_end(b, t0);
        let tok = &line[t0..t1];
        if tok == "-" {
            break;
        }
        if tok.len() > 40
            || {
                let level = header_level(tok);
                if k == 0 {
                    *first = Some((t0, t1, level));
                }
                level.is_some()
            }
            || (k == 0 && !tok.bytes().any(|c| c.is_ascii_alphabetic()))
            || tok
                .bytes()
                .any(|c| matches!(c, b':' | b'=' | b'[' | b'"' | b'{'))
        {
            return None;
        }
        end = t1;
    }
    let d = skip_ws(b, end);
    if end == s || b.get(d) != Some(&b'-') || b.get(d + 1) != Some(&b' ') {
        return None;
    }
    Some((&line[s..end], d + 1))
}

/// A header token already looked at: (start, end, its [`header_level`]).
type KnownToken = Option<(usize, usize, Option<Severity>)>;

/// End of the token starting at `i`: a bracket group is matched as a whole
/// (nested brackets allowed, spaces inside allowed).
fn token_end(b: &[u8], i: usize) -> usize {
    if b[i] == b'[' {
        let mut depth = 0usize;
        let mut j = i;
        loop {
            j = find2(b, j, b'[', b']');
            if j >= b.len() {
                break;
            }
            if b[j] == b'[' {
                depth += 1;
            } else {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            j += 1;
        }
    }
    find2(b, i, b' ', b'\t')
}

/// The first index at or after `i` where `b` holds `x` or `y` (`b.len()`
/// if none), eight bytes per step.
#[inline]
fn find2(b: &[u8], mut i: usize, x: u8, y: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The lowest flagged byte of `zero(v)` is exact: borrows only flag
    // bytes above it.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    while i + 8 <= b.len() {
        let v = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let m = zero(v ^ (x as u64 * ONES)) | zero(v ^ (y as u64 * ONES));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && b[i] != x && b[i] != y {
        i += 1;
    }
    i
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// Read the header after the timestamp; return where the message starts.
fn header<'a>(line: &'a str, i: usize, have_ts: bool, ev: &mut ParsedEvent<'a>) -> usize {
    header_impl::<true>(line, i, have_ts, ev)
}

/// [`header`]; with `REUSE = false` every token's end and level are looked
/// up again (the general form, to test the reuse against).
fn header_impl<'a, const REUSE: bool>(
    line: &'a str,
    mut i: usize,
    have_ts: bool,
    ev: &mut ParsedEvent<'a>,
) -> usize {
    let b = line.as_bytes();
    // Pipe layout: ts|component|pid|message
    if have_ts && b.get(i) == Some(&b'|') {
        i += 1;
        for key in ["component", "pid"] {
            let end = i + b[i..]
                .iter()
                .take(65)
                .position(|&c| c == b'|')
                .unwrap_or(65);
            if end >= b.len() || b[end] != b'|' || b[i..end].contains(&b' ') {
                break;
            }
            let v = &line[i..end];
            if key == "pid" && !v.bytes().all(|c| c.is_ascii_digit()) {
                break;
            }
            ev.fields.push(Field::new(key, v));
            i = end + 1;
        }
        return i;
    }
    let mut msg_start = i;
    let mut known: KnownToken = None;
    if have_ts {
        if let Some((prog, after)) = program_dash(line, i, &mut known) {
            ev.fields.push(Field::new("program", prog));
            msg_start = after;
        }
    }
    let mut level_seen = false;
    let mut pending_pid: Option<&'a str> = None;
    for _ in 0..6 {
        let s = skip_ws(b, msg_start);
        if s >= b.len() {
            return s;
        }
        // A token already looked at (by `program_dash` or the pid check
        // below): reuse its end and level.
        let seen = if REUSE {
            known.filter(|&(start, _, _)| start == s)
        } else {
            None
        };
        let e = match seen {
            Some((_, end, _)) => end,
            None => token_end(b, s),
        };
        let tok = &line[s..e];
        if matches!(tok, "-" | "|" | ":" | "--") {
            msg_start = e;
            continue;
        }
        if !level_seen {
            let level = match seen {
                Some((_, _, level)) => level,
                None => header_level(tok),
            };
            if let Some(sev) = level {
                ev.severity = Some(sev);
                level_seen = true;
                if let Some(pid) = pending_pid.take() {
                    ev.fields.push(Field::new("pid", pid));
                }
                msg_start = e;
                continue;
            }
            if pending_pid.is_none()
                && (have_ts || s == 0)
                && !tok.is_empty()
                && tok.len() <= 10
                && tok.bytes().all(|c| c.is_ascii_digit())
            {
                // A number is a pid only if a level token follows it.
                let s2 = skip_ws(b, e);
                if s2 < b.len() && {
                    let e2 = token_end(b, s2);
                    let level = header_level(&line[s2..e2]);
                    // The next round starts at this token: reuse.
                    known = Some((s2, e2, level));
                    level.is_some()
                } {
                    pending_pid = Some(tok);
                    msg_start = e;
                    continue;
                }
            }
            break;
        }
        // After the level: [thread] and logger.Name:
        if tok.len() > 2 && tok.starts_with('[') && tok.ends_with(']') {
            // A thread name with spaces (`[IPC Server Responder]`) only when a
            // logger follows, so `[client 1.2.3.4] Directory ...` stays.
            let s2 = skip_ws(b, e);
            let next_is_logger = s2 < b.len() && logger_name(&line[s2..token_end(b, s2)]).is_some();
            if !tok.contains(' ') || next_is_logger {
                ev.fields.push(Field::new("thread", &tok[1..tok.len() - 1]));
                msg_start = e;
                continue;
            }
        }
        if let Some(name) = logger_name(tok) {
            ev.fields.push(Field::new("logger", name));
            msg_start = e;
        }
        break;
    }
    skip_ws(b, msg_start)
}

/// glog: `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`. Returns where the
/// message starts.
fn glog<'a>(line: &'a str, i: usize, cfg: &ParseConfig, ev: &mut ParsedEvent<'a>) -> Option<usize> {
    let b = &line.as_bytes()[i..];
    if b.len() < 22
        || !matches!(b[0], b'I' | b'W' | b'E' | b'F')
        || b[5] != b' '
        || b[8] != b':'
        || b[11] != b':'
    {
        return None;
    }
    let d = |k: usize| -> Option<u32> {
        let (x, y) = (b[k], b[k + 1]);
        (x.is_ascii_digit() && y.is_ascii_digit()).then(|| ((x - b'0') * 10 + (y - b'0')) as u32)
    };
    let (mo, day, h, mi, s) = (d(1)?, d(3)?, d(6)?, d(9)?, d(12)?);
    let mut ms = 0;
    if b[14] == b'.' {
        ms = d(15)? * 10 + (b[17] as char).to_digit(10)?;
    }
    let close = b.iter().take(120).position(|&c| c == b']')?;
    let mut j = 14;
    if b[14] == b'.' {
        j = 15;
        while j < close && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    if close <= j {
        return None;
    }
    let sev = map_level_name(&line[i..i + 1])?;
    ev.severity = Some(sev);
    ev.timestamp_ms = to_epoch_ms(cfg.time.reference_year, mo, day, h, mi, s, ms);
    // "threadid file:line]"
    let hdr = line[i + j..i + close].trim();
    let mut src = None;
    for p in hdr.split_whitespace() {
        if p.contains(':') {
            src = Some(p);
        } else if p.bytes().all(|c| c.is_ascii_digit()) {
            ev.fields.push(Field::new("thread", p));
        }
    }
    if let Some(src) = src {
        ev.fields.push(Field::new("source", src));
    }
    Some(skip_ws(line.as_bytes(), i + close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logger_name_equals_early_exit_form() {
        // The form before the branch-free pass: stop at the first byte
        // outside the table.
        fn reference(tok: &str) -> Option<&str> {
            let name = tok.strip_suffix(':')?;
            if name.len() <= 2 {
                return None;
            }
            let mut dot = 0u8;
            for &c in name.as_bytes() {
                let t = LOGGER[c as usize];
                if t == 0 {
                    return None;
                }
                dot |= t;
            }
            (dot & L_DOT != 0).then_some(name)
        }
        // Every token of up to 4 bytes over an alphabet holding each byte class.
        let alphabet = ["a", "Z", "7", ".", "$", "_", "-", ":", " ", "é", "/"];
        let mut toks = vec![String::new()];
        for _ in 0..4 {
            let last: Vec<String> = toks.clone();
            for t in &last {
                for a in alphabet {
                    toks.push(format!("{t}{a}"));
                }
            }
        }
        toks.extend(
            [
                "org.apache.hadoop.mapreduce.v2.app.MRAppMaster:",
                "Foo$Bar:",
                "a.b c:",
                "dfs.DataNode$PacketResponder:",
                "x.y",
            ]
            .map(String::from),
        );
        for t in &toks {
            assert_eq!(logger_name(t), reference(t), "{t:?}");
            let with_colon = format!("{t}:");
            assert_eq!(
                logger_name(&with_colon),
                reference(&with_colon),
                "{with_colon:?}"
            );
        }
    }

    #[test]
    fn header_reuse_equals_lookups() {
        let heads = [
            "INFO",
            "[INFO]",
            "WARN:",
            "warn:",
            "-",
            "--",
            "|",
            ":",
            "123",
            "4567890123",
            "[main]",
            "[IPC Server handler 5]",
            "org.apache.Foo$Bar:",
            "app",
            "app.exe",
            "chrome.exe *64",
            "x",
            "",
            "  ",
            "[error]",
            "<warn>",
            "Debug:",
            "12 INFO",
        ];
        let mut lines = vec![
            "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1".to_string(),
            "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapred.MRAppMaster: x"
                .to_string(),
            "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:Q@1] - y"
                .to_string(),
            "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open".to_string(),
            "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579".to_string(),
        ];
        for a in heads {
            for b in heads {
                for c in ["-", "msg", "ERROR x", "- text"] {
                    lines.push(format!("2024-01-02 03:04:05 {a} {b} {c}"));
                    lines.push(format!("{a} {b} {c}"));
                }
            }
        }
        let cfg = ParseConfig::default();
        for line in &lines {
            let mut i = 0;
            let mut have_ts = false;
            if let Some((_, used)) = timestamp::parse_prefix(line, &cfg.time) {
                i = used;
                have_ts = true;
            }
            let mut x = ParsedEvent::new(Format::Plain, line);
            let mut y = ParsedEvent::new(Format::Plain, line);
            let rx = header_impl::<true>(line, i, have_ts, &mut x);
            let ry = header_impl::<false>(line, i, have_ts, &mut y);
            assert_eq!((rx, &x), (ry, &y), "{line}");
        }
    }

    #[test]
    fn find2_and_token_end_equal_byte_loops() {
        let b = b"[a [b] c]x\ty z] [[q]  \xff\x80 [unbalanced [x] tail\t\x09 end";
        for i in 0..b.len() {
            for (x, y) in [(b' ', b'\t'), (b'[', b']'), (0xff, 0x80)] {
                let want = (i..b.len())
                    .find(|&k| b[k] == x || b[k] == y)
                    .unwrap_or(b.len());
                assert_eq!(find2(b, i, x, y), want);
            }
            let mut want = (i..b.len())
                .find(|&k| b[k] == b' ' || b[k] == b'\t')
                .unwrap_or(b.len());
            if b[i] == b'[' {
                let mut depth = 0usize;
                for (k, &c) in b.iter().enumerate().skip(i) {
                    if c == b'[' {
                        depth += 1;
                    } else if c == b']' {
                        depth -= 1;
                        if depth == 0 {
                            want = k + 1;
                            break;
                        }
                    }
                }
            }
            assert_eq!(token_end(b, i), want, "{i}");
        }
    }
    use crate::timestamp::TimeConfig;

    const CFG: ParseConfig = ParseConfig {
        time: TimeConfig {
            reference_year: 2024,
        },
        message_only: false,
    };

    fn p(line: &str) -> ParsedEvent<'_> {
        parse(line, &CFG)
    }

    #[test]
    fn message_only_parses_the_same_message_without_scanning_it_for_a_level() {
        let message_only = ParseConfig {
            message_only: true,
            ..CFG
        };
        for line in [
            "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating",
            "Dec 10 06:55:46 LabSZ sshd[24200]: error: Received disconnect from 1.2.3.4",
            "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
            "2015-10-18 18:01:47,978 WARN [main] org.apache.hadoop.Foo: lost 3 nodes",
            "something failed with ERROR code 5",
            "",
        ] {
            let full = parse(line, &CFG);
            let lean = parse(line, &message_only);
            assert_eq!(lean.message, full.message, "{line}");
            assert_eq!(lean.timestamp_ms, full.timestamp_ms, "{line}");
            assert_eq!(lean.fields, full.fields, "{line}");
            // The header's level is still read; the body is not scanned.
            let header_level = parse_header_only(line);
            assert_eq!(lean.severity, header_level, "{line}");
        }
        assert_eq!(
            parse("something failed with ERROR code 5", &CFG).severity,
            Some(Severity::Error)
        );
    }

    /// The severity found in the header alone (as `parse` sets it before the
    /// body scan).
    fn parse_header_only(line: &str) -> Option<Severity> {
        let mut ev = ParsedEvent::new(Format::Plain, line);
        let mut i = line.len() - line.trim_start_matches(' ').len();
        if let Some((_, used)) = timestamp::parse_prefix(&line[i..], &CFG.time) {
            i += used;
            header(line, i, true, &mut ev);
        } else {
            header(line, i, false, &mut ev);
        }
        ev.severity
    }

    #[test]
    fn loghub_headers() {
        let ev = p("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating");
        assert_eq!(ev.severity, Some(Severity::Info));
        assert_eq!(ev.field("pid"), Some("148"));
        assert_eq!(ev.field("logger"), Some("dfs.DataNode$PacketResponder"));
        assert_eq!(
            ev.message,
            "PacketResponder 1 for block blk_38865049064139660 terminating"
        );
        assert_eq!(ev.timestamp_ms, to_epoch_ms(2008, 11, 9, 20, 36, 15, 0));

        let ev = p("2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for application appattempt_1445144423722_0020_000001");
        assert_eq!(ev.field("thread"), Some("main"));
        assert_eq!(
            ev.message,
            "Created MRAppMaster for application appattempt_1445144423722_0020_000001"
        );

        let ev = p("17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for [TERM, HUP, INT]");
        assert_eq!(
            ev.message,
            "Registered signal handlers for [TERM, HUP, INT]"
        );

        let ev = p("2015-07-29 19:04:29,071 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@688] - Send worker leaving thread");
        assert_eq!(ev.severity, Some(Severity::Warn));
        assert_eq!(ev.message, "Send worker leaving thread");
        let ev = p("2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200");
        assert_eq!(ev.message, "Notification time out: 3200");

        let ev = p("[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden by rule: /var/www/html/");
        assert_eq!(ev.severity, Some(Severity::Error));
        assert_eq!(
            ev.message,
            "[client 1.2.3.4] Directory index forbidden by rule: /var/www/html/"
        );

        let ev = p("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579");
        assert_eq!(ev.field("component"), Some("Step_LSC"));
        assert_eq!(ev.field("pid"), Some("30002312"));
        assert_eq!(ev.message, "onStandStepChanged 3579");
        assert_eq!(ev.severity, None);

        let ev = p("[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS");
        assert!(ev.timestamp_ms.is_some());
        assert_eq!(ev.field("program"), Some("chrome.exe"));
        assert!(ev.message.starts_with("proxy.cse"));
        let ev =
            p("[07.26 17:23:54] chrome.exe *64 - mtalk.google.com:5228 error : Could not connect");
        assert_eq!(ev.field("program"), Some("chrome.exe *64"));
        assert!(ev.message.starts_with("mtalk"));

        let ev = p("2015-10-18 18:01:47,978 INFO [IPC Server Responder] org.apache.hadoop.ipc.Server: IPC Server Responder: starting");
        assert_eq!(ev.field("thread"), Some("IPC Server Responder"));
        assert_eq!(ev.message, "IPC Server Responder: starting");

        let ev = p("20171223-22:16:0:119|Step_LSC|30002312|processHandleBroadcastAction x");
        assert_eq!(ev.message, "processHandleBroadcastAction x");

        let ev = p("2024-01-01 12:00:00,123 myapp - INFO - hello");
        assert_eq!(ev.field("program"), Some("myapp"));
        assert_eq!(ev.severity, Some(Severity::Info));
        assert_eq!(ev.message, "hello");
    }

    #[test]
    fn other_layouts() {
        let ev = p("ERROR: connection refused");
        assert_eq!(ev.severity, Some(Severity::Error));
        assert_eq!(ev.message, "connection refused");
        let ev = p("just a message with error: inside");
        assert_eq!(ev.message, "just a message with error: inside");
        assert_eq!(ev.severity, Some(Severity::Error));
        let ev = p("E0412 10:00:00.123456   1234 main.go:12] disk failed");
        assert_eq!(ev.severity, Some(Severity::Error));
        assert_eq!(ev.message, "disk failed");
        assert_eq!(ev.field("source"), Some("main.go:12"));
        assert_eq!(ev.timestamp_ms, to_epoch_ms(2024, 4, 12, 10, 0, 0, 123));
        let ev = p("2024-01-02T03:04:05Z");
        assert_eq!(ev.message, "");
        let ev = p("");
        assert_eq!(ev.message, "");
        let ev = p("3 files deleted");
        assert_eq!(ev.message, "3 files deleted");
    }
}
