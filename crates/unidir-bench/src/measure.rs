//! Process measurements (Linux `/proc`), statistics and formatting shared by the binaries.

use std::time::Duration;

/// CPU time the calling thread has used (`/proc/thread-self/schedstat`, nanoseconds);
/// `None` where that file does not exist.
pub fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Peak resident set size of process `pid` so far (`VmHWM` in `/proc/<pid>/status`), in KiB;
/// `None` once the process is gone.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Median and minimum of `values` (the lower middle for an even count); `None` when empty.
pub fn median_min<T: Copy + Ord>(values: &[T]) -> Option<(T, T)> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let median = *sorted.get((sorted.len().max(1) - 1) / 2)?;
    Some((median, sorted[0]))
}

/// `0.42 s`, `12.3 s`, `184 s`.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 100.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// A real-world duration: `45 s`, `24.3 min`, `2.15 h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5_400.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.2} h", s / 3_600.0)
    }
}

/// `a / b` as `1.23×`, or `—` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "—".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_lower_middle() {
        assert_eq!(median_min(&[5, 1, 3]), Some((3, 1)));
        assert_eq!(median_min(&[4, 2, 8, 6]), Some((4, 2)));
        assert_eq!(median_min::<u32>(&[]), None);
    }

    #[test]
    fn formats() {
        assert_eq!(secs(Duration::from_millis(420)), "0.42 s");
        assert_eq!(human(Duration::from_secs(1_458)), "24.3 min");
        assert_eq!(human(Duration::from_secs(7_740)), "2.15 h");
        assert_eq!(ratio(3.0, 2.0), "1.50×");
        assert_eq!(ratio(3.0, 0.0), "—");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_peak_rss_and_thread_cpu() {
        assert!(peak_rss_kib(std::process::id()).is_some_and(|k| k > 0));
        assert!(thread_cpu().is_some());
    }
}
