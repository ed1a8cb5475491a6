//! Server health without a clock: the caller reports each call's outcome and the
//! time, and asks when to come back ([`Distribution::poll_timeout`]).
//!
//! | State | Event | Next state |
//! |---|---|---|
//! | `Alive` | a failure, fewer than `failure_limit` in a row | `Alive` |
//! | `Alive` | the `failure_limit`th failure in a row | `Dead { retry_at: now + retry_after }` |
//! | `Dead` | `handle_timeout(now)` with `now >= retry_at` | `Probing` (takes traffic again) |
//! | `Dead` | a failure (of a call sent before it died) | `Dead`, same `retry_at` |
//! | `Probing` | a failure | `Dead`, waiting twice as long as last time, at most `max_retry_after` |
//! | any | a success | `Alive`, counts reset |
//!
//! [`Distribution::poll_timeout`]: super::Distribution::poll_timeout

use std::time::{Duration, Instant};

/// What happens to the keys of a server that is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Policy {
    /// Keys stay mapped to their server; while it is down, [`route`] refuses them
    /// at once (no connection attempt, no timeout to wait for) until its retry time.
    /// Every process maps every key the same way whatever it believes about the
    /// servers, so a partial network partition cannot make two processes write one
    /// key to two servers. libmemcached without auto-eject, and the memcached
    /// proxy, behave this way.
    ///
    /// [`route`]: super::Distribution::route
    #[default]
    FailFast,
    /// A dead server leaves the ring: its keys go to the servers that are left, as
    /// the mode distributes them over that smaller list, until it is back (libmemcached's
    /// `AUTO_EJECT_HOSTS`, pymemcache's `HashClient`). Ketama and rendezvous move
    /// only the dead server's keys; jump, gomemcache and modula move most keys. While
    /// processes disagree about which servers are up, they send a key to different
    /// servers, and a reader can miss (or read a stale copy of) what a writer wrote.
    Redistribute,
}

/// How failures are counted and for how long a server is left alone.
///
/// ```
/// use std::time::Duration;
/// use memcache_codec::distribution::{HealthConfig, Policy};
///
/// // pymemcache's HashClient: dead after 2 failures, back into rotation after 60 s.
/// let pymemcache_like = HealthConfig::DEFAULT
///     .failure_limit(2)
///     .retry_after(Duration::from_secs(60))
///     .max_retry_after(Duration::from_secs(60))
///     .policy(Policy::Redistribute);
/// assert_eq!(pymemcache_like.get_policy(), Policy::Redistribute);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HealthConfig {
    failure_limit: u32,
    retry_after: Duration,
    max_retry_after: Duration,
    policy: Policy,
}

impl HealthConfig {
    /// Dead after 2 failures in a row; first retry after 1 s, then 2 s, 4 s, ... up
    /// to 60 s; [`Policy::FailFast`].
    pub const DEFAULT: Self = Self {
        failure_limit: 2,
        retry_after: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(60),
        policy: Policy::FailFast,
    };

    /// Failures in a row that make a server dead (at least 1; 0 counts as 1).
    pub const fn failure_limit(mut self, failures: u32) -> Self {
        self.failure_limit = if failures == 0 { 1 } else { failures };
        self
    }

    /// How long a server stays dead the first time.
    pub const fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// The longest wait: each failed retry doubles the wait up to this.
    pub const fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// What happens to a dead server's keys.
    pub const fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The policy set.
    pub const fn get_policy(&self) -> Policy {
        self.policy
    }

    /// The wait after the `deaths`th death in a row (1 for the first).
    fn wait(&self, deaths: u32) -> Duration {
        let doublings = deaths.saturating_sub(1).min(32);
        self.retry_after
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max_retry_after.max(self.retry_after))
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Where a server stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerState {
    /// Taking traffic (possibly after failures, fewer than the limit in a row).
    Alive,
    /// Not taking traffic until `retry_at`, when
    /// [`handle_timeout`](super::Distribution::handle_timeout) makes it
    /// [`Probing`](Self::Probing).
    Dead {
        /// When the server may be tried again.
        retry_at: Instant,
    },
    /// Its retry time has come: it takes traffic again, and the next outcome
    /// decides. A success makes it alive; a failure makes it dead again, for twice
    /// as long as the last time (up to the maximum).
    Probing,
}

/// One server's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Health {
    pub(crate) state: ServerState,
    /// Failures in a row while alive.
    pub(crate) failures: u32,
    /// Deaths in a row (reset by a success).
    deaths: u32,
}

impl Health {
    pub(crate) const NEW: Self = Self {
        state: ServerState::Alive,
        failures: 0,
        deaths: 0,
    };

    /// True unless dead: the server takes traffic.
    pub(crate) fn is_live(&self) -> bool {
        !matches!(self.state, ServerState::Dead { .. })
    }

    /// A call failed at `now`.
    pub(crate) fn failure(&mut self, config: &HealthConfig, now: Instant) {
        match self.state {
            ServerState::Alive => {
                self.failures = self.failures.saturating_add(1);
                if self.failures >= config.failure_limit {
                    self.die(config, now);
                }
            }
            ServerState::Probing => self.die(config, now),
            // A call sent before it died: it is dead already, the wait stands.
            ServerState::Dead { .. } => {}
        }
    }

    fn die(&mut self, config: &HealthConfig, now: Instant) {
        self.deaths = self.deaths.saturating_add(1);
        self.failures = 0;
        self.state = ServerState::Dead {
            retry_at: now + config.wait(self.deaths),
        };
    }

    /// A call succeeded: the server answers.
    pub(crate) fn success(&mut self) {
        *self = Self::NEW;
    }

    /// Makes a dead server probing once its retry time has come; true if it did.
    pub(crate) fn tick(&mut self, now: Instant) -> bool {
        match self.state {
            ServerState::Dead { retry_at } if now >= retry_at => {
                self.state = ServerState::Probing;
                true
            }
            _ => false,
        }
    }

    /// When this server wants `handle_timeout`.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.state {
            ServerState::Dead { retry_at } => Some(retry_at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let config = HealthConfig::DEFAULT
            .retry_after(Duration::from_secs(1))
            .max_retry_after(Duration::from_secs(10));
        let waits: Vec<u64> = (1..=6).map(|d| config.wait(d).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(config.wait(u32::MAX), Duration::from_secs(10));
        // A maximum below the first wait does not shorten it.
        let odd = config.max_retry_after(Duration::ZERO);
        assert_eq!(odd.wait(3), Duration::from_secs(1));
        assert_eq!(HealthConfig::DEFAULT.failure_limit(0).failure_limit, 1);
    }

    #[test]
    fn life_cycle() {
        let config = HealthConfig::DEFAULT.failure_limit(2);
        let t0 = Instant::now();
        let mut h = Health::NEW;
        h.failure(&config, t0);
        assert_eq!((h.state, h.failures), (ServerState::Alive, 1));
        h.success();
        h.failure(&config, t0);
        assert_eq!(h.state, ServerState::Alive, "a success resets the count");
        h.failure(&config, t0);
        let first = t0 + Duration::from_secs(1);
        assert_eq!(h.state, ServerState::Dead { retry_at: first });
        assert!(!h.is_live());
        h.failure(&config, t0 + Duration::from_millis(500));
        assert_eq!(h.deadline(), Some(first), "late failures do not extend");
        assert!(!h.tick(first - Duration::from_nanos(1)));
        assert!(h.tick(first));
        assert_eq!(h.state, ServerState::Probing);
        assert!(h.is_live());
        h.failure(&config, first);
        assert_eq!(
            h.state,
            ServerState::Dead {
                retry_at: first + Duration::from_secs(2)
            },
            "one failed probe is enough, and the wait doubles"
        );
        h.tick(first + Duration::from_secs(2));
        h.success();
        assert_eq!(h, Health::NEW);
    }
}
