//! Token buckets in memory for the public (Client API) endpoints: per client address, per
//! visitor, and per address for message creation. Each instance keeps its own buckets, so
//! behind a load balancer the effective limit is the per-instance limit times the instances.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests per second allowed for each key; the burst is twice that. 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicRates {
    /// Every Client API request from one client address.
    pub per_ip: u32,
    /// Every request of one visitor (inbox + source id).
    pub per_visitor: u32,
    /// Messages created from one client address.
    pub messages_per_ip: u32,
}

impl Default for PublicRates {
    fn default() -> Self {
        Self {
            per_ip: 100,
            per_visitor: 20,
            messages_per_ip: 60,
        }
    }
}

impl PublicRates {
    /// No limits (tests and benchmarks that drive thousands of visitors from one address).
    pub const OFF: PublicRates = PublicRates {
        per_ip: 0,
        per_visitor: 0,
        messages_per_ip: 0,
    };
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One family of buckets sharing a rate.
#[derive(Debug)]
pub struct Buckets {
    rate: f64,
    burst: f64,
    map: Mutex<HashMap<String, Bucket>>,
}

/// Buckets kept before idle ones (refilled to full, so forgetting them changes nothing) are
/// dropped.
const MAX_KEYS: usize = 100_000;

impl Buckets {
    pub fn new(per_second: u32) -> Self {
        Self {
            rate: f64::from(per_second),
            burst: f64::from(per_second) * 2.0,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(seconds)` to wait when the bucket is empty.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut map) = self.map.lock() else {
            return Ok(());
        };
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            evict(&mut map, self.rate, self.burst, now);
        }
        let b = map.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * self.rate;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / self.rate;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

/// Makes room in a full map: drops the buckets that have refilled (forgetting them changes
/// nothing) and, when many distinct keys are all active at once (random visitor ids from many
/// addresses), the least recently used half, so the map stays bounded and the next half of
/// new keys costs no scan.
fn evict(map: &mut HashMap<String, Bucket>, rate: f64, burst: f64, now: Instant) {
    map.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
    if map.len() < MAX_KEYS / 2 {
        return;
    }
    let mut seen: Vec<Instant> = map.values().map(|b| b.at).collect();
    let middle = seen.len() / 2;
    let (_, cutoff, _) = seen.select_nth_unstable(middle);
    let cutoff = *cutoff;
    map.retain(|_, b| b.at > cutoff);
}

/// The public endpoints' limits.
#[derive(Debug)]
pub struct PublicLimits {
    ip: Buckets,
    visitor: Buckets,
    messages: Buckets,
}

impl PublicLimits {
    pub fn new(rates: PublicRates) -> Self {
        Self {
            ip: Buckets::new(rates.per_ip),
            visitor: Buckets::new(rates.per_visitor),
            messages: Buckets::new(rates.messages_per_ip),
        }
    }

    /// One request: from `ip`, of `visitor` (inbox/source id) when the path names one, creating
    /// a message or not. `Err(seconds)` when any of its buckets is empty.
    pub fn check(
        &self,
        ip: &str,
        visitor: Option<&str>,
        creates_message: bool,
        now: Instant,
    ) -> Result<(), u64> {
        self.ip.take(ip, now)?;
        if let Some(v) = visitor {
            self.visitor.take(v, now)?;
        }
        if creates_message {
            self.messages.take(ip, now)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let b = Buckets::new(5);
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(b.take("a", now), Ok(()));
        }
        assert_eq!(b.take("a", now), Err(1));
        // Another key is not affected.
        assert_eq!(b.take("b", now), Ok(()));
        // 0.2 s later one token is back, and only one.
        let later = now + Duration::from_millis(200);
        assert_eq!(b.take("a", later), Ok(()));
        assert!(b.take("a", later).is_err());
        // Never more than the burst, however long it waited.
        let much_later = now + Duration::from_secs(3600);
        for _ in 0..10 {
            assert_eq!(b.take("a", much_later), Ok(()));
        }
        assert!(b.take("a", much_later).is_err());
    }

    #[test]
    fn a_flood_of_active_keys_stays_bounded() {
        let b = Buckets::new(1);
        let start = Instant::now();
        for i in 0..(MAX_KEYS + MAX_KEYS / 2) {
            // Every key used once, a tick apart: none has refilled when the map is full.
            let now = start + std::time::Duration::from_micros(i as u64);
            assert_eq!(b.take(&format!("k{i}"), now), Ok(()));
        }
        let len = b.map.lock().unwrap().len();
        assert!(len <= MAX_KEYS, "{len} keys kept");
        // The newest keys are the ones kept.
        assert!(
            b.map
                .lock()
                .unwrap()
                .contains_key(&format!("k{}", MAX_KEYS + MAX_KEYS / 2 - 1))
        );
    }

    #[test]
    fn zero_means_off() {
        let b = Buckets::new(0);
        let now = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(b.take("a", now), Ok(()));
        }
    }

    #[test]
    fn message_and_visitor_limits_apply_on_top_of_the_address() {
        let limits = PublicLimits::new(PublicRates {
            per_ip: 100,
            per_visitor: 1,
            messages_per_ip: 2,
        });
        let now = Instant::now();
        assert!(limits.check("ip", Some("v1"), false, now).is_ok());
        assert!(limits.check("ip", Some("v1"), false, now).is_ok());
        assert!(limits.check("ip", Some("v1"), false, now).is_err());
        assert!(limits.check("ip", Some("v2"), false, now).is_ok());
        for _ in 0..4 {
            assert!(limits.check("ip", None, true, now).is_ok());
        }
        assert!(limits.check("ip", None, true, now).is_err());
        assert!(limits.check("other-ip", None, true, now).is_ok());
    }
}
