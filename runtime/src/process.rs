//! Facts about this process, for benchmarks and reports.

/// Peak resident set size so far, in KiB (`VmHWM` in `/proc/self/status`; Linux only).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
