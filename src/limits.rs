//! In-memory protection against abuse of the public endpoints: a bounded least-recently-used map,
//! token-bucket rate limits per client address (IPv6 by /64), and the failed-login throttle that runs
//! before any password hash is computed. Nothing here grows without bound: every table has a fixed
//! capacity and forgets the least recently seen key first.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{LimitsConfig, Rate};

/// A map of at most `cap` entries; inserting into a full map drops the least recently used entry.
/// Lookups and updates are O(log n).
pub struct Lru<K, V> {
    map: HashMap<K, (V, u64)>,
    order: BTreeMap<u64, K>,
    tick: u64,
    cap: usize,
}

impl<K: Clone + Eq + Hash, V> Lru<K, V> {
    pub fn new(cap: usize) -> Self {
        Lru {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            cap: cap.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// The value for `k` without marking it used.
    pub fn peek(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(v, _)| v)
    }

    /// The value for `k`, marked most recently used.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let t = self.next_tick();
        let (v, used) = self.map.get_mut(k)?;
        self.order.remove(used);
        *used = t;
        self.order.insert(t, k.clone());
        Some(v)
    }

    /// Insert or replace `k`, most recently used; drops the least recently used entry when full.
    pub fn insert(&mut self, k: K, v: V) {
        let t = self.next_tick();
        if let Some((_, used)) = self.map.get(&k) {
            self.order.remove(used);
        } else if self.map.len() >= self.cap {
            if let Some((_, oldest)) = self.order.pop_first() {
                self.map.remove(&oldest);
            }
        }
        self.order.insert(t, k.clone());
        self.map.insert(k, (v, t));
    }

    /// The value for `k` (marked used), inserting `make()` first when absent.
    pub fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        if !self.map.contains_key(&k) {
            self.insert(k.clone(), make());
        }
        self.get_mut(&k).expect("present: inserted above")
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        let (v, used) = self.map.remove(k)?;
        self.order.remove(&used);
        Some(v)
    }
}

/// Who a request comes from, as far as limits are concerned: an IPv4 address, an IPv6 /64 (one
/// subscriber's usual allocation), or unknown (one shared key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4([u8; 4]),
    V6([u8; 8]),
    Unknown,
}

impl ClientKey {
    pub fn of(addr: Option<IpAddr>) -> ClientKey {
        match addr.map(|a| a.to_canonical()) {
            Some(IpAddr::V4(a)) => ClientKey::V4(a.octets()),
            Some(IpAddr::V6(a)) => {
                let mut prefix = [0u8; 8];
                prefix.copy_from_slice(&a.octets()[..8]);
                ClientKey::V6(prefix)
            }
            None => ClientKey::Unknown,
        }
    }
}

/// Whole seconds to wait, at least one (for `Retry-After`).
pub fn retry_secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per client key, in a bounded table.
pub struct RateLimit {
    pub name: &'static str,
    rate: Rate,
    buckets: Mutex<Lru<ClientKey, Bucket>>,
}

impl RateLimit {
    pub fn new(name: &'static str, rate: Rate, table: usize) -> Self {
        RateLimit {
            name,
            rate,
            buckets: Mutex::new(Lru::new(table)),
        }
    }

    /// Take a token for `addr`, or say how long until one is there.
    pub fn check(&self, addr: Option<IpAddr>) -> Result<(), Duration> {
        self.check_at(ClientKey::of(addr), Instant::now())
    }

    fn check_at(&self, key: ClientKey, now: Instant) -> Result<(), Duration> {
        let Rate { per_second, burst } = self.rate;
        if per_second <= 0.0 {
            return Ok(());
        }
        let burst = f64::from(burst.max(1));
        let mut table = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = table.get_or_insert_with(key, || Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_second).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / per_second))
        }
    }

    /// Client keys remembered now.
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Usernames are compared and recorded by at most this many characters.
pub const USERNAME_CHARS: usize = 64;

/// A username as far as throttling and the audit log are concerned: at most `USERNAME_CHARS`
/// characters, control characters replaced. Returns the name and whether it was cut.
pub fn bounded_username(name: &str) -> (String, bool) {
    let cut = name.chars().count() > USERNAME_CHARS;
    let s = name
        .chars()
        .take(USERNAME_CHARS)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    (s, cut)
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum LoginKey {
    User(String),
    Client(ClientKey),
}

struct Window {
    start: Instant,
    attempts: u32,
}

/// Failed logins per username and per client address in a fixed window. An attempt is counted
/// before the password is checked (so parallel guesses cannot run more hashes than the limit) and
/// given back when it succeeds.
pub struct LoginThrottle {
    max: u32,
    window: Duration,
    table: Mutex<Lru<LoginKey, Window>>,
}

/// A counted login attempt; pass it back to `LoginThrottle::succeeded` when the password was right.
pub struct Attempt {
    user: LoginKey,
    client: LoginKey,
}

impl LoginThrottle {
    pub fn new(max: u32, window: Duration, table: usize) -> Self {
        LoginThrottle {
            max: max.max(1),
            window,
            table: Mutex::new(Lru::new(table)),
        }
    }

    /// Count an attempt for `user` from `addr`, or refuse it (how long until the window ends) when
    /// either has used up its failures.
    pub fn attempt(&self, user: &str, addr: Option<IpAddr>) -> Result<Attempt, Duration> {
        self.attempt_at(user, ClientKey::of(addr), Instant::now())
    }

    fn attempt_at(&self, user: &str, client: ClientKey, now: Instant) -> Result<Attempt, Duration> {
        let keys = Attempt {
            user: LoginKey::User(bounded_username(user).0),
            client: LoginKey::Client(client),
        };
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        for k in [&keys.user, &keys.client] {
            if let Some(w) = table.get_mut(k) {
                let end = w.start + self.window;
                if now >= end {
                    table.remove(k);
                } else if w.attempts >= self.max {
                    wait = wait.max(end - now);
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for k in [&keys.user, &keys.client] {
            table
                .get_or_insert_with(k.clone(), || Window {
                    start: now,
                    attempts: 0,
                })
                .attempts += 1;
        }
        Ok(keys)
    }

    /// The password was right: the username starts afresh, and the address gets its attempt back.
    pub fn succeeded(&self, a: Attempt) {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        table.remove(&a.user);
        if let Some(w) = table.get_mut(&a.client) {
            w.attempts = w.attempts.saturating_sub(1);
        }
    }
}

/// Every limiter of one server process.
pub struct Limiters {
    pub pdf_verify: RateLimit,
    pub ses_verify: RateLimit,
    pub cert_verify: RateLimit,
    pub tsa: RateLimit,
    pub ocsp_fresh: RateLimit,
    pub login: LoginThrottle,
}

impl Limiters {
    pub fn new(c: &LimitsConfig) -> Self {
        let n = c.rate_table_entries;
        Limiters {
            pdf_verify: RateLimit::new("pdf_verify", c.pdf_verify, n),
            ses_verify: RateLimit::new("ses_verify", c.ses_verify, n),
            cert_verify: RateLimit::new("cert_verify", c.cert_verify, n),
            tsa: RateLimit::new("tsa", c.tsa, n),
            ocsp_fresh: RateLimit::new("ocsp_fresh", c.ocsp_fresh, n),
            login: LoginThrottle::new(
                c.login_failures,
                Duration::from_secs(c.login_window_seconds.max(1)),
                n,
            ),
        }
    }

    /// The rate limits, for metrics.
    pub fn rates(&self) -> [&RateLimit; 5] {
        [
            &self.pdf_verify,
            &self.ses_verify,
            &self.cert_verify,
            &self.tsa,
            &self.ocsp_fresh,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_drops_the_least_recently_used() {
        let mut m = Lru::new(2);
        m.insert(1, "a");
        m.insert(2, "b");
        assert!(m.get_mut(&1).is_some()); // 2 is now the oldest
        m.insert(3, "c");
        assert_eq!(m.len(), 2);
        assert!(m.peek(&2).is_none());
        assert_eq!(m.peek(&1), Some(&"a"));
        m.insert(3, "d"); // replacing does not evict
        assert_eq!((m.len(), m.peek(&3)), (2, Some(&"d")));
        assert_eq!(m.remove(&1), Some("a"));
        assert_eq!(m.len(), 1);
        for i in 0..1000 {
            m.insert(i, "x");
        }
        assert_eq!((m.len(), m.order.len()), (2, 2));
    }

    #[test]
    fn buckets_refill_and_report_the_wait() {
        let r = RateLimit::new("t", Rate::new(2.0, 3), 10);
        let k = ClientKey::V4([192, 0, 2, 1]);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(r.check_at(k, t0).is_ok());
        }
        let wait = r.check_at(k, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        assert_eq!(retry_secs(wait), 1);
        // Another address has its own bucket; half a second later one token is back.
        assert!(r.check_at(ClientKey::V4([192, 0, 2, 2]), t0).is_ok());
        assert!(r.check_at(k, t0 + Duration::from_millis(500)).is_ok());
        assert!(r.check_at(k, t0 + Duration::from_millis(500)).is_err());
        // Off.
        let off = RateLimit::new("off", Rate::new(0.0, 0), 10);
        for _ in 0..100 {
            assert!(off.check_at(k, t0).is_ok());
        }
        assert!(off.is_empty());
    }

    #[test]
    fn the_table_is_bounded_by_addresses_seen() {
        let r = RateLimit::new("t", Rate::new(1.0, 1), 100);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            let _ = r.check_at(ClientKey::V4(i.to_be_bytes()), t0);
        }
        assert_eq!(r.len(), 100);
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(Some(a)), ClientKey::of(Some(b)));
        assert_ne!(ClientKey::of(Some(a)), ClientKey::of(Some(c)));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ClientKey::of(Some(mapped)), ClientKey::V4([192, 0, 2, 7]));
    }

    #[test]
    fn logins_are_throttled_per_user_and_per_address() {
        let t = LoginThrottle::new(2, Duration::from_secs(60), 100);
        let (a, b) = (ClientKey::V4([10, 0, 0, 1]), ClientKey::V4([10, 0, 0, 2]));
        let t0 = Instant::now();
        t.attempt_at("admin", a, t0).ok().unwrap();
        t.attempt_at("admin", a, t0).ok().unwrap();
        // The user is used up, from any address; the address is used up, for any user.
        let wait = t.attempt_at("admin", b, t0).err().unwrap();
        assert_eq!(wait, Duration::from_secs(60));
        assert!(t.attempt_at("other", a, t0).is_err());
        assert!(t.attempt_at("other", b, t0).is_ok());
        // A long name counts by its first 64 characters.
        let long = "x".repeat(10_000);
        t.attempt_at(&long, ClientKey::V4([10, 0, 0, 3]), t0)
            .ok()
            .unwrap();
        let other_tail = format!("{}{}", "x".repeat(64), "y");
        assert!(t
            .attempt_at(&other_tail, ClientKey::V4([10, 0, 0, 4]), t0)
            .is_ok());
        assert!(t
            .attempt_at(&other_tail, ClientKey::V4([10, 0, 0, 5]), t0)
            .is_err());
        // The window ends.
        assert!(t
            .attempt_at("admin", b, t0 + Duration::from_secs(61))
            .is_ok());
        // A success gives the address its attempt back and clears the user.
        let t = LoginThrottle::new(2, Duration::from_secs(60), 100);
        let ok = t.attempt_at("admin", a, t0).ok().unwrap();
        t.succeeded(ok);
        t.attempt_at("admin", a, t0).ok().unwrap();
        t.attempt_at("admin", a, t0).ok().unwrap();
        assert!(t.attempt_at("admin", a, t0).is_err());
    }

    #[test]
    fn limits_read_from_toml_with_whole_or_fractional_rates() {
        let c: LimitsConfig = toml::from_str(
            "tsa = { per_second = 20, burst = 5 }\ncert_verify = { per_second = 0.5, burst = 1 }",
        )
        .unwrap();
        assert_eq!(c.tsa, Rate::new(20.0, 5));
        assert_eq!(c.cert_verify, Rate::new(0.5, 1));
        assert_eq!(c.concurrency, LimitsConfig::default().concurrency);
        assert!(toml::from_str::<LimitsConfig>("tsa = { per_second = 1 }").is_err());
    }

    #[test]
    fn usernames_are_bounded_for_the_audit_log() {
        let (s, cut) = bounded_username(&"é".repeat(1_000_000));
        assert!(cut);
        assert_eq!(s.chars().count(), USERNAME_CHARS);
        assert_eq!(bounded_username("ad\nmin"), ("ad\u{fffd}min".into(), false));
    }
}
