//! Wrong tokens, counted per client address: a few are forgiven, then the address is answered
//! `429 Too Many Requests` (its token not even compared) until its credit comes back, and the
//! log gets one line per address and minute, not one per attempt.
//!
//! Every wrong bearer token, wrong metrics token and wrong console sign-in spends one credit of
//! its address; an IPv6 address counts with its whole /64 (one host holds that many). Behind a
//! reverse proxy every client shares the proxy's address: let the proxy limit by client.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Wrong tokens an address may send in a burst.
pub const BURST: u32 = 10;
/// One more wrong token is forgiven every this long (10 a minute).
pub const REFILL: Duration = Duration::from_secs(6);
/// At most one log line per address in this long.
pub const LOG_EVERY: Duration = Duration::from_secs(60);
/// Addresses remembered; past it, every new one shares one account.
const MAX_ADDRESSES: usize = 10_000;

/// One address's account.
#[derive(Debug, Clone)]
struct Account {
    /// Wrong tokens still forgiven, as of `at`.
    credit: f64,
    at: Instant,
    /// When its last log line was written.
    logged: Option<Instant>,
    /// Refusals not yet in a log line.
    unlogged: u64,
}

impl Account {
    fn new(now: Instant) -> Self {
        Self {
            credit: f64::from(BURST),
            at: now,
            logged: None,
            unlogged: 0,
        }
    }

    /// Brings the credit up to `now`.
    fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.at).as_secs_f64() / REFILL.as_secs_f64();
        self.credit = (self.credit + earned).min(f64::from(BURST));
        self.at = now;
    }

    /// Whether it is as if new: full credit, nothing to log.
    fn idle(&self, now: Instant) -> bool {
        let mut a = self.clone();
        a.refill(now);
        a.credit >= f64::from(BURST)
            && a.unlogged == 0
            && a.logged.is_none_or(|l| now.duration_since(l) >= LOG_EVERY)
    }
}

/// What to write in the log about a refusal, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The client's address (its /64 for IPv6).
    pub client: String,
    /// Refusals of that address since its previous line (this one included).
    pub refused: u64,
}

/// Whom an account is of: an address (its /64 for IPv6), or every address past the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Addr(IpAddr),
    Overflow,
}

/// The accounts of the addresses that sent wrong tokens.
#[derive(Debug, Default)]
pub struct Throttle {
    accounts: Mutex<HashMap<Key, Account>>,
    /// Whether addresses are past the bound: new ones then share [`Key::Overflow`].
    overflowing: std::sync::atomic::AtomicBool,
}

/// The key an address is counted under: itself, or its /64 for IPv6 (an IPv4 address mapped
/// into IPv6 is its IPv4 address).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

/// The account `ip` is held under: its own; else, while addresses are past the bound, the
/// shared one.
fn held_under(map: &HashMap<Key, Account>, ip: IpAddr, overflowing: bool) -> Key {
    let own = Key::Addr(key(ip));
    if map.contains_key(&own) || !overflowing {
        own
    } else {
        Key::Overflow
    }
}

impl Throttle {
    /// `Err(wait)` while `ip` has no credit left: answer 429 without looking at its token.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    /// Spends a credit of `ip` for a wrong token; says what to log, at most once per
    /// [`LOG_EVERY`] per address.
    pub fn wrong(&self, ip: IpAddr) -> Option<LogLine> {
        self.wrong_at(ip, Instant::now())
    }

    /// Counts a refusal of a request [`Throttle::check`] turned away (it says what to log, as
    /// [`Throttle::wrong`] does).
    pub fn refused(&self, ip: IpAddr) -> Option<LogLine> {
        let now = Instant::now();
        let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let k = held_under(&map, ip, self.overflowing());
        let account = map.get_mut(&k)?;
        account.unlogged += 1;
        Self::log_line(k, account, now)
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let k = held_under(&map, ip, self.overflowing());
        match map.get_mut(&k) {
            Some(a) => {
                a.refill(now);
                if a.credit >= 1.0 {
                    Ok(())
                } else {
                    Err(REFILL.mul_f64(1.0 - a.credit))
                }
            }
            None => Ok(()),
        }
    }

    fn wrong_at(&self, ip: IpAddr, now: Instant) -> Option<LogLine> {
        let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let mut k = Key::Addr(key(ip));
        if !map.contains_key(&k) && map.len() >= MAX_ADDRESSES {
            map.retain(|_, a| !a.idle(now));
            if map.len() >= MAX_ADDRESSES {
                k = Key::Overflow;
            }
        }
        self.overflowing.store(
            map.len() >= MAX_ADDRESSES || k == Key::Overflow,
            std::sync::atomic::Ordering::Relaxed,
        );
        let account = map.entry(k).or_insert_with(|| Account::new(now));
        account.refill(now);
        account.credit = (account.credit - 1.0).max(0.0);
        account.unlogged += 1;
        Self::log_line(k, account, now)
    }

    fn overflowing(&self) -> bool {
        self.overflowing.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn log_line(k: Key, account: &mut Account, now: Instant) -> Option<LogLine> {
        if account
            .logged
            .is_some_and(|l| now.duration_since(l) < LOG_EVERY)
        {
            return None;
        }
        account.logged = Some(now);
        let refused = std::mem::take(&mut account.unlogged);
        let client = match k {
            Key::Overflow => "many addresses".to_string(),
            Key::Addr(IpAddr::V6(v6)) => format!("{v6}/64"),
            Key::Addr(IpAddr::V4(v4)) => v4.to_string(),
        };
        Some(LogLine { client, refused })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_forgiven_then_the_address_waits_and_one_line_is_logged() {
        let t = Throttle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let start = Instant::now();
        let mut lines = Vec::new();
        for _ in 0..BURST {
            assert_eq!(t.check_at(ip, start), Ok(()));
            lines.extend(t.wrong_at(ip, start));
        }
        assert_eq!(
            lines,
            [LogLine {
                client: "192.0.2.7".into(),
                refused: 1
            }]
        );
        let wait = t.check_at(ip, start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= REFILL, "{wait:?}");
        assert_eq!(t.check_at(other, start), Ok(()), "others are not held");
        assert_eq!(
            t.check_at(ip, start + REFILL),
            Ok(()),
            "one more after REFILL"
        );
        for _ in 0..1000 {
            assert!(t.wrong_at(ip, start + REFILL).is_none());
        }
        let later = t.wrong_at(ip, start + LOG_EVERY).unwrap();
        assert_eq!(later.refused, BURST as u64 - 1 + 1000 + 1);
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..BURST {
            t.wrong_at(format!("2001:db8::{i:x}").parse().unwrap(), now);
        }
        assert!(t.check_at("2001:db8::ffff".parse().unwrap(), now).is_err());
        assert!(t.check_at("2001:db8:0:1::1".parse().unwrap(), now).is_ok());
        assert_eq!(
            key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_loopback_of_ipv6_is_an_address_like_any_other() {
        // ::1's /64 is ::, once the key of the shared account: ten wrong tokens from it held
        // every other client.
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..BURST {
            t.wrong_at("::1".parse().unwrap(), now);
        }
        assert!(t.check_at("::1".parse().unwrap(), now).is_err());
        assert_eq!(t.check_at("::ffff:192.0.2.5".parse().unwrap(), now), Ok(()));
        assert_eq!(t.check_at("2001:db8::5".parse().unwrap(), now), Ok(()));
    }

    #[test]
    fn past_its_bound_new_addresses_share_one_account() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..MAX_ADDRESSES as u32 {
            t.wrong_at(IpAddr::V4(i.into()), now);
        }
        let late: IpAddr = "203.0.113.1".parse().unwrap();
        for _ in 0..BURST {
            t.wrong_at(late, now);
        }
        assert!(t.check_at("203.0.113.2".parse().unwrap(), now).is_err());
        assert!(t.accounts.lock().unwrap().len() <= MAX_ADDRESSES + 1);
        // Once the accounts are idle again, they make room.
        let much_later = now + LOG_EVERY + REFILL * BURST;
        t.wrong_at("203.0.113.3".parse().unwrap(), much_later);
        assert!(t.accounts.lock().unwrap().len() < 10);
    }
}
