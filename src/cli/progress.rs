//! A progress line for long CLI work over many files: a bar redrawn in place on a terminal, one line
//! per file otherwise (logs and CI keep a readable record).

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub struct Progress {
    total: u64,
    done: u64,
    verb: &'static str,
    tty: bool,
    started: Instant,
}

impl Progress {
    pub fn new(total: u64, verb: &'static str) -> Self {
        Progress {
            total,
            done: 0,
            verb,
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    /// Announce the next item.
    pub fn step(&mut self, item: &str) {
        self.done += 1;
        let mut err = std::io::stderr().lock();
        if self.tty {
            let width = 30usize;
            let filled = (self.done * width as u64 / self.total.max(1)) as usize;
            let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
            let _ = write!(
                err,
                "\r\x1b[K[{}{}] {}/{} {:.0}/s {} {}",
                "=".repeat(filled),
                " ".repeat(width - filled),
                self.done,
                self.total,
                rate,
                self.verb,
                item
            );
        } else {
            let _ = writeln!(err, "[{}/{}] {} {}", self.done, self.total, self.verb, item);
        }
        let _ = err.flush();
    }

    pub fn finish(&mut self) {
        if self.tty {
            let _ = writeln!(std::io::stderr());
        }
    }
}
