//! Progress lines on stderr. In the library so that long library steps (build, geometry) can
//! report as they go; the CLI only decides whether it is quiet.

use std::time::{Duration, Instant};

/// Progress on stderr, one line per step with its duration; silent with --quiet.
pub struct Progress {
    quiet: bool,
    start: Instant,
    step: Option<(String, Instant)>,
    warnings: usize,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress { quiet, start: Instant::now(), step: None, warnings: 0 }
    }
    pub fn step(&mut self, what: &str) {
        self.finish_step();
        self.step = Some((what.to_string(), Instant::now()));
    }
    fn finish_step(&mut self) {
        if let Some((what, t)) = self.step.take() {
            if !self.quiet {
                eprintln!("  {what} … {}", elapsed(t.elapsed()));
            }
        }
    }
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }
    /// A line for the user; lines starting with `warning:` are counted (see [`Progress::warnings`]).
    pub fn say(&mut self, line: &str) {
        self.finish_step();
        if line.trim_start().starts_with("warning:") {
            self.warnings += 1;
        }
        if !self.quiet {
            eprintln!("{line}");
        }
    }
    /// Every warning said so far, whichever step printed it (geometry, cache, territory…).
    pub fn warnings(&self) -> usize {
        self.warnings
    }
    pub fn done(&mut self, what: &str) {
        self.finish_step();
        if !self.quiet {
            eprintln!("{what} in {}", elapsed(self.start.elapsed()));
        }
    }
}

/// A step's duration: milliseconds under a second, where most steps of a batch or a
/// diagnosis fall (so the lines are a rough profile), else seconds.
fn elapsed(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis().max(1))
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations_under_a_second_in_milliseconds() {
        assert_eq!(super::elapsed(Duration::from_micros(11_400)), "11 ms");
        assert_eq!(super::elapsed(Duration::from_micros(300)), "1 ms");
        assert_eq!(super::elapsed(Duration::from_micros(999_900)), "999 ms");
        assert_eq!(super::elapsed(Duration::from_millis(1_000)), "1.00 s");
        assert_eq!(super::elapsed(Duration::from_millis(12_345)), "12.35 s");
    }

    #[test]
    fn every_warning_said_is_counted() {
        let mut p = super::Progress::new(true);
        p.say("warning: 28088 has no 2018 boundary");
        p.say("reading files");
        p.say("  warning: geometry of 28012 repaired");
        assert_eq!(p.warnings(), 2);
    }
}
