//! Prometheus counters, gauges and a latency histogram, rendered as text for `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

const BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 20, 50, 100, 250, 500, 1000];

#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b as f64 {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

#[derive(Default)]
pub struct Metrics {
    pub issued: Counter,
    pub refused: Counter,
    pub http_requests: Counter,
    pub http_errors: Counter,
    pub logins_failed: Counter,
    /// Logins refused by the failed-login throttle, before any password hash.
    pub logins_throttled: Counter,
    /// Responses with status 429 (rate limits, login throttle).
    pub http_throttled: Counter,
    /// Requests refused at the concurrency limit (503).
    pub http_shed: Counter,
    /// Requests cut off by their timeout (408 or 503).
    pub http_timeouts: Counter,
    pub timestamps: Counter,
    pub issue_latency: Histogram,
}

/// A gauge family: one value per label value (`label` empty: a single unlabelled value).
pub struct Gauge<'a> {
    pub name: &'a str,
    pub help: &'a str,
    pub label: &'a str,
    pub values: Vec<(&'a str, u64)>,
}

impl Metrics {
    pub fn render(&self, extra: &[(&str, &str, u64)], gauges: &[Gauge<'_>]) -> String {
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "sealpki_certificates_issued_total",
            "Certificates signed and stored.",
            self.issued.get(),
        );
        counter(
            "sealpki_issuance_refused_total",
            "Issuance requests refused by profile or lint.",
            self.refused.get(),
        );
        counter(
            "sealpki_http_requests_total",
            "HTTP requests served.",
            self.http_requests.get(),
        );
        counter(
            "sealpki_http_errors_total",
            "HTTP responses with status 500 or above.",
            self.http_errors.get(),
        );
        counter(
            "sealpki_logins_failed_total",
            "Failed operator logins.",
            self.logins_failed.get(),
        );
        counter(
            "sealpki_logins_throttled_total",
            "Logins refused after too many failures, without checking the password.",
            self.logins_throttled.get(),
        );
        counter(
            "sealpki_http_throttled_total",
            "HTTP responses with status 429 (per-address rate limits, login throttle).",
            self.http_throttled.get(),
        );
        counter(
            "sealpki_http_shed_total",
            "HTTP requests refused with 503 at the concurrency limit.",
            self.http_shed.get(),
        );
        counter(
            "sealpki_http_timeouts_total",
            "HTTP requests cut off by their timeout.",
            self.http_timeouts.get(),
        );
        for (name, help, v) in extra {
            counter(name, help, *v);
        }
        for g in gauges {
            let _ = writeln!(s, "# HELP {} {}\n# TYPE {} gauge", g.name, g.help, g.name);
            for (label, v) in &g.values {
                if g.label.is_empty() {
                    let _ = writeln!(s, "{} {v}", g.name);
                } else {
                    let _ = writeln!(s, "{}{{{}=\"{label}\"}} {v}", g.name, g.label);
                }
            }
        }
        let h = &self.issue_latency;
        let _ = writeln!(s, "# HELP sealpki_issue_seconds End-to-end issuance latency.\n# TYPE sealpki_issue_seconds histogram");
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(
                s,
                "sealpki_issue_seconds_bucket{{le=\"{}\"}} {}",
                *b as f64 / 1000.0,
                h.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = h.count.load(Ordering::Relaxed);
        let _ = writeln!(s, "sealpki_issue_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            s,
            "sealpki_issue_seconds_sum {}",
            h.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "sealpki_issue_seconds_count {count}");
        s
    }
}
