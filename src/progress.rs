//! Progress lines on stderr. In the library so that long library steps (build, geometry) can
//! report as they go; the CLI only decides whether it is quiet.

use std::time::Instant;

/// Progress on stderr, one line per step with its duration; silent with --quiet.
pub struct Progress {
    quiet: bool,
    start: Instant,
    step: Option<(String, Instant)>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress { quiet, start: Instant::now(), step: None }
    }
    pub fn step(&mut self, what: &str) {
        self.finish_step();
        self.step = Some((what.to_string(), Instant::now()));
    }
    fn finish_step(&mut self) {
        if let Some((what, t)) = self.step.take() {
            if !self.quiet {
                eprintln!("  {what} … {:.2} s", t.elapsed().as_secs_f64());
            }
        }
    }
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }
    pub fn say(&mut self, line: &str) {
        self.finish_step();
        if !self.quiet {
            eprintln!("{line}");
        }
    }
    pub fn done(&mut self, what: &str) {
        self.finish_step();
        if !self.quiet {
            eprintln!("{what} in {:.2} s", self.start.elapsed().as_secs_f64());
        }
    }
}
