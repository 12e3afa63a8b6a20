//! Slows down password guessing: after a few failures for the same email or from the same
//! address, further attempts are refused for a growing time, correct password or not.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before a lock: few per account, more per address (many people can share
/// one address behind a NAT, and one attacker must not lock them all out).
const FREE_FAILURES_EMAIL: u32 = 5;
const FREE_FAILURES_ADDRESS: u32 = 30;
const WINDOW: Duration = Duration::from_secs(15 * 60);
const FIRST_LOCK: Duration = Duration::from_secs(30);
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);

fn free_failures(key: &str) -> u32 {
    if key.starts_with("ip:") {
        FREE_FAILURES_ADDRESS
    } else {
        FREE_FAILURES_EMAIL
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    first: Instant,
    locked_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginThrottle {
    /// Seconds to wait before `keys` may try again, if any of them is locked.
    pub fn blocked_for(&self, keys: &[String], now: Instant) -> Option<u64> {
        let map = self.entries.lock().ok()?;
        keys.iter()
            .filter_map(|k| map.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| (until - now).as_secs().max(1))
            .max()
    }

    pub fn record_failure(&self, keys: &[String], now: Instant) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() > 50_000 {
            map.retain(|_, e| {
                now.duration_since(e.first) < WINDOW || e.locked_until.is_some_and(|u| u > now)
            });
        }
        for key in keys {
            let e = map.entry(key.clone()).or_insert(Entry {
                failures: 0,
                first: now,
                locked_until: None,
            });
            if now.duration_since(e.first) > WINDOW && e.locked_until.is_none_or(|u| u <= now) {
                *e = Entry {
                    failures: 0,
                    first: now,
                    locked_until: None,
                };
            }
            e.failures += 1;
            let free = free_failures(key);
            if e.failures >= free {
                let exp = (e.failures - free).min(10);
                let lock = (FIRST_LOCK * (1u32 << exp)).min(MAX_LOCK);
                e.locked_until = Some(now + lock);
            }
        }
    }

    pub fn record_success(&self, keys: &[String]) {
        if let Ok(mut map) = self.entries.lock() {
            for k in keys {
                map.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_free_failures_and_grows() {
        let t = LoginThrottle::default();
        let keys = vec!["email:a@b.c".to_owned()];
        let now = Instant::now();
        for _ in 0..FREE_FAILURES_EMAIL - 1 {
            t.record_failure(&keys, now);
            assert_eq!(t.blocked_for(&keys, now), None);
        }
        t.record_failure(&keys, now);
        assert_eq!(t.blocked_for(&keys, now), Some(30));
        t.record_failure(&keys, now);
        assert_eq!(t.blocked_for(&keys, now), Some(60));
        assert_eq!(t.blocked_for(&keys, now + Duration::from_secs(61)), None);
        t.record_success(&keys);
        assert_eq!(t.blocked_for(&keys, now), None);
        assert_eq!(t.blocked_for(&["email:other".to_owned()], now), None);
    }

    #[test]
    fn addresses_get_more_room_than_accounts() {
        let t = LoginThrottle::default();
        let ip = vec!["ip:10.0.0.1".to_owned()];
        let now = Instant::now();
        for _ in 0..FREE_FAILURES_ADDRESS - 1 {
            t.record_failure(&ip, now);
        }
        assert_eq!(t.blocked_for(&ip, now), None);
        t.record_failure(&ip, now);
        assert!(t.blocked_for(&ip, now).is_some());
    }
}
