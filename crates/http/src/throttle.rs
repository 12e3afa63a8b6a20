//! Slows down password guessing without handing anyone a way to lock others out.
//!
//! Failures are counted per (client address, email) and per client address, never per email
//! alone: whoever knows an administrator's email can slow down only their own address, and the
//! right password from any other address still signs in. Past a key's free failures every
//! further failure — including an attempt refused while locked, so a client that ignores
//! `Retry-After` waits longer — doubles the lock, up to a cap. A key forgets its failures after
//! an hour without any, and a success clears its (address, email) pair (not its address: one
//! account of one's own must not reset a guessing budget spent on other people's emails).
//!
//! Failures per email across every address are only watched: they are logged, never locking.
//! An IPv6 client is keyed by its /64, the block one subscriber usually holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failures a key allows before it locks, and how its lock grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub free_failures: u32,
    pub first_lock: Duration,
    pub max_lock: Duration,
}

/// One address guessing one account's password.
pub const PAIR: Policy = Policy {
    free_failures: 5,
    first_lock: Duration::from_secs(30),
    max_lock: Duration::from_secs(15 * 60),
};

/// One address across every email (password spraying). Higher: many people may share an
/// address behind a NAT.
pub const ADDRESS: Policy = Policy {
    free_failures: 20,
    first_lock: Duration::from_secs(30),
    max_lock: Duration::from_secs(60 * 60),
};

/// Failures of one email from every address: logged every this many, never locking.
const WATCH_EVERY: u32 = 20;

/// A key's failures are forgotten after this long without one (and once its lock is over).
const QUIET: Duration = Duration::from_secs(60 * 60);

/// Entries kept before expired ones are dropped (memory bound under a spray of addresses).
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.last) > QUIET && self.locked_until.is_none_or(|u| u <= now)
    }
}

/// The lock after `failures` failures under `policy`, if any: `first_lock`, doubling with
/// every failure past the free ones, never more than `max_lock`.
pub fn lock_after(policy: Policy, failures: u32) -> Option<Duration> {
    let past = failures.checked_sub(policy.free_failures)?;
    let doubled = policy
        .first_lock
        .checked_mul(1u32 << past.min(20))
        .unwrap_or(policy.max_lock);
    Some(doubled.min(policy.max_lock))
}

/// The throttling key of a client address: the address itself, or an IPv6 address's /64.
pub fn address_key(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => address.to_owned(),
    }
}

/// What one sign-in attempt is counted under.
#[derive(Clone, Debug)]
struct Keys {
    pair: String,
    address: String,
    watch: String,
    email: String,
    client: String,
}

impl Keys {
    fn new(address: &str, email: &str) -> Self {
        let client = address_key(address);
        Self {
            pair: format!("pair:{client} {email}"),
            address: format!("ip:{client}"),
            watch: format!("email:{email}"),
            email: email.to_owned(),
            client,
        }
    }

    fn locking(&self) -> [(&str, Policy); 2] {
        [(&self.pair, PAIR), (&self.address, ADDRESS)]
    }
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginThrottle {
    /// Before a password is checked: the seconds `address` must wait before trying `email`
    /// again, if it is locked. A refused attempt counts as a failure.
    pub fn refused(&self, address: &str, email: &str, now: Instant) -> Option<u64> {
        let keys = Keys::new(address, email);
        let locked = {
            let map = self.entries.lock().ok()?;
            keys.locking()
                .iter()
                .any(|(k, _)| map.get(*k).is_some_and(|e| is_locked(e, now)))
        };
        if !locked {
            return None;
        }
        Some(self.count_failure(&keys, now).max(1))
    }

    /// A wrong password (or an unknown email) from `address`.
    pub fn failed(&self, address: &str, email: &str, now: Instant) {
        self.count_failure(&Keys::new(address, email), now);
    }

    /// The right password: the pair starts afresh. The address keeps its count.
    pub fn succeeded(&self, address: &str, email: &str) {
        let keys = Keys::new(address, email);
        if let Ok(mut map) = self.entries.lock() {
            map.remove(&keys.pair);
        }
    }

    /// Counts a failure under every key; answers the longest lock now in force, in seconds.
    fn count_failure(&self, keys: &Keys, now: Instant) -> u64 {
        let Ok(mut map) = self.entries.lock() else {
            return 0;
        };
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| !e.expired(now));
        }
        if map.len() >= MAX_ENTRIES {
            // Still full of live entries: keep the locks, which are what protects accounts.
            map.retain(|_, e| is_locked(e, now));
        }
        let mut wait = Duration::ZERO;
        for (key, policy) in keys.locking() {
            let e = bump(&mut map, key, now);
            if let Some(lock) = lock_after(policy, e.failures) {
                let until = now + lock;
                e.locked_until = Some(e.locked_until.map_or(until, |u| u.max(until)));
                wait = wait.max(until - now);
                if worth_logging(policy, e.failures) {
                    tracing::warn!(
                        email = %keys.email,
                        address = %keys.client,
                        failures = e.failures,
                        retry_after_secs = lock.as_secs(),
                        per = if key.starts_with("pair:") { "address and email" } else { "address" },
                        "repeated failed sign-ins: slowing this address down"
                    );
                }
            }
        }
        let watched = bump(&mut map, &keys.watch, now).failures;
        if watched.is_multiple_of(WATCH_EVERY) {
            tracing::warn!(
                email = %keys.email,
                address = %keys.client,
                failures = watched,
                "many failed sign-ins for this email (all addresses together)"
            );
        }
        wait.as_secs()
    }
}

fn is_locked(e: &Entry, now: Instant) -> bool {
    e.locked_until.is_some_and(|u| u > now)
}

fn bump<'a>(map: &'a mut HashMap<String, Entry>, key: &str, now: Instant) -> &'a mut Entry {
    let e = map.entry(key.to_owned()).or_insert(Entry {
        failures: 0,
        last: now,
        locked_until: None,
    });
    if e.expired(now) {
        *e = Entry {
            failures: 0,
            last: now,
            locked_until: None,
        };
    }
    e.failures = e.failures.saturating_add(1);
    e.last = now;
    e
}

/// The first lock and every tenth failure after it, so an attack leaves a trace without
/// flooding the log.
fn worth_logging(policy: Policy, failures: u32) -> bool {
    failures >= policy.free_failures && (failures - policy.free_failures).is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "198.51.100.7";
    const B: &str = "203.0.113.9";
    const EMAIL: &str = "admin@acme.test";

    fn fail(t: &LoginThrottle, addr: &str, email: &str, n: u32, now: Instant) {
        for _ in 0..n {
            assert_eq!(t.refused(addr, email, now), None);
            t.failed(addr, email, now);
        }
    }

    #[test]
    fn the_guessing_address_is_slowed_and_its_wait_doubles() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        fail(&t, A, EMAIL, PAIR.free_failures - 1, now);
        assert_eq!(t.refused(A, EMAIL, now), None);
        t.failed(A, EMAIL, now);
        // Locked for 30 s; every refused attempt doubles it.
        assert_eq!(t.refused(A, EMAIL, now), Some(60));
        assert_eq!(t.refused(A, EMAIL, now), Some(120));
        // The lock runs out; the next failure locks for longer still.
        let later = now + Duration::from_secs(121);
        assert_eq!(t.refused(A, EMAIL, later), None);
        t.failed(A, EMAIL, later);
        assert_eq!(t.refused(A, EMAIL, later), Some(480));
    }

    #[test]
    fn another_address_is_never_locked_out_of_the_account() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        fail(&t, A, EMAIL, PAIR.free_failures, now);
        for _ in 0..50 {
            let _ = t.refused(A, EMAIL, now);
        }
        assert!(t.refused(A, EMAIL, now).is_some());
        assert_eq!(t.refused(B, EMAIL, now), None);
        // Other emails from A wait only once A itself has sprayed enough.
        assert!(t.refused(A, "someone@acme.test", now).is_some());
        let t = LoginThrottle::default();
        fail(&t, A, EMAIL, PAIR.free_failures, now);
        assert_eq!(t.refused(A, "someone@acme.test", now), None);
    }

    #[test]
    fn spraying_many_emails_from_one_address_locks_that_address() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..ADDRESS.free_failures {
            fail(&t, A, &format!("user{i}@acme.test"), 1, now);
        }
        assert_eq!(t.refused(A, "fresh@acme.test", now), Some(60));
        assert_eq!(t.refused(B, "fresh@acme.test", now), None);
    }

    #[test]
    fn success_clears_the_pair_but_not_the_address() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        fail(&t, A, EMAIL, PAIR.free_failures - 1, now);
        t.succeeded(A, EMAIL);
        fail(&t, A, EMAIL, PAIR.free_failures - 1, now);
        assert_eq!(t.refused(A, EMAIL, now), None);
        // The address's count went on: 8 so far, 12 more lock it.
        for i in 0..ADDRESS.free_failures - 2 * (PAIR.free_failures - 1) {
            fail(&t, A, &format!("other{i}@acme.test"), 1, now);
        }
        assert!(t.refused(A, "mine@acme.test", now).is_some());
    }

    #[test]
    fn quiet_keys_forget() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        fail(&t, A, EMAIL, PAIR.free_failures - 1, now);
        let later = now + QUIET + Duration::from_secs(1);
        fail(&t, A, EMAIL, PAIR.free_failures - 1, later);
        assert_eq!(t.refused(A, EMAIL, later), None);
    }

    #[test]
    fn back_off_is_capped() {
        assert_eq!(lock_after(PAIR, 4), None);
        assert_eq!(lock_after(PAIR, 5), Some(Duration::from_secs(30)));
        assert_eq!(lock_after(PAIR, 6), Some(Duration::from_secs(60)));
        assert_eq!(lock_after(PAIR, 10), Some(PAIR.max_lock));
        assert_eq!(lock_after(PAIR, u32::MAX), Some(PAIR.max_lock));
        assert_eq!(lock_after(ADDRESS, 19), None);
        assert_eq!(lock_after(ADDRESS, 20), Some(Duration::from_secs(30)));
    }

    /// Collects every event as `LEVEL field=value …`.
    struct Capture(std::sync::Arc<Mutex<Vec<String>>>);

    impl tracing::Subscriber for Capture {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            let mut line = event.metadata().level().to_string();
            event.record(&mut |f: &tracing::field::Field, v: &dyn std::fmt::Debug| {
                line.push_str(&format!(" {}={v:?}", f.name()));
            });
            if let Ok(mut lines) = self.0.lock() {
                lines.push(line);
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn repeated_failures_are_logged_with_email_and_address() {
        let lines = std::sync::Arc::new(Mutex::new(Vec::new()));
        tracing::subscriber::with_default(Capture(lines.clone()), || {
            let t = LoginThrottle::default();
            let now = Instant::now();
            fail(&t, A, EMAIL, PAIR.free_failures - 1, now);
        });
        assert!(lines.lock().map(|l| l.is_empty()).unwrap_or(false));
        tracing::subscriber::with_default(Capture(lines.clone()), || {
            let t = LoginThrottle::default();
            let now = Instant::now();
            fail(&t, A, EMAIL, PAIR.free_failures, now);
        });
        let lines = lines.lock().map(|l| l.clone()).unwrap_or_default();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("WARN"), "{}", lines[0]);
        assert!(lines[0].contains("email=admin@acme.test"), "{}", lines[0]);
        assert!(lines[0].contains("address=198.51.100.7"), "{}", lines[0]);
        assert!(
            lines[0].contains("repeated failed sign-ins"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:bbbb::2")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(address_key("198.51.100.7"), "198.51.100.7");
    }
}
