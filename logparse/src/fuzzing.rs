//! Input generators shared by the property tests of every module: arbitrary
//! strings, strings that start like each supported format (so the fuzzing
//! reaches deep into each parser), unicode, control characters, huge lines.

use proptest::prelude::*;

/// Prefixes that steer a random tail into each parser.
const PREFIXES: [&str; 16] = [
    "",
    "{",
    "{\"msg\":\"",
    "{\"a\":{\"b\":[",
    "<13>",
    "<165>1 2003-10-11T22:14:15.003Z host app - ID47 [x@1 a=\"",
    "Dec 10 06:55:46 LabSZ sshd[24200]: ",
    "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET ",
    "level=info msg=\"",
    "2015-10-18 18:01:47,978 INFO [",
    "[Sun Dec 04 04:47:44 2005] [error] ",
    "20171223-22:15:29:606|",
    "W0412 10:00:00.123456 ",
    "081109 203615 148 INFO ",
    "Traceback (most recent call last):",
    "\tat ",
];

/// Log-ish or arbitrary strings, up to ~64 KiB.
pub fn log_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        4 => (0..PREFIXES.len(), any::<String>()).prop_map(|(i, s)| format!("{}{s}", PREFIXES[i])),
        4 => (0..PREFIXES.len(), "[ -~\t\\x00-\\x1f\u{80}-\u{10ffff}]{0,200}")
            .prop_map(|(i, s)| format!("{}{s}", PREFIXES[i])),
        2 => "[0-9a-z:./=_\\-\\[\\]{}\" <>%@]{0,120}",
        1 => (any::<String>(), 1usize..2000).prop_map(|(s, n)| s.repeat(n).chars().take(70_000).collect()),
        1 => (0..PREFIXES.len(), 1usize..20_000).prop_map(|(i, n)| format!("{}{}", PREFIXES[i], "a1 ".repeat(n))),
    ]
}
