//! Limits per connection, user and address: what one client may hold or ask for, so that no
//! lawyer's misbehaving app (or an attacker with a valid token) can exhaust the server.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use clap::Args;

/// Bounds on what one connection, user or address may use. Each violation is refused with a
/// reason the client can show (a denial, an error reply or a close frame).
#[derive(Clone, Debug, Args)]
pub struct LimitSettings {
    /// Close a socket that has not authenticated anything within this many seconds.
    #[arg(long, env = "HUB_AUTH_TIMEOUT_SECS", default_value_t = 10)]
    pub auth_timeout_secs: u64,
    /// Documents one connection may have open at once (the desktop multiplexes every open
    /// document of a lawyer over one socket).
    #[arg(long, env = "HUB_MAX_DOCS_PER_CONNECTION", default_value_t = 1024)]
    pub max_docs_per_connection: usize,
    /// Sync connections one user may hold on this instance at once.
    #[arg(long, env = "HUB_MAX_CONNECTIONS_PER_USER", default_value_t = 32)]
    pub max_connections_per_user: usize,
    /// Sync connections from one peer address on this instance. Behind a reverse proxy every
    /// connection comes from the proxy's address: raise this (or limit per client address in
    /// the proxy, e.g. nginx `limit_conn`).
    #[arg(long, env = "HUB_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 2048)]
    pub max_connections_per_address: usize,
    /// New matters one user may create per minute.
    #[arg(long, env = "HUB_NEW_CASES_PER_MINUTE", default_value_t = 30)]
    pub new_cases_per_minute: u32,
    /// Catch-up (`changes`) requests one connection may make per minute.
    #[arg(long, env = "HUB_CHANGES_PER_MINUTE", default_value_t = 120)]
    pub changes_per_minute: u32,
    /// Awareness (presence) states kept per document.
    #[arg(long, env = "HUB_MAX_AWARENESS_STATES", default_value_t = 256)]
    pub max_awareness_states: usize,
    /// Bytes of one awareness state (a cursor and a name need a few hundred).
    #[arg(long, env = "HUB_MAX_AWARENESS_STATE_BYTES", default_value_t = 8192)]
    pub max_awareness_state_bytes: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            auth_timeout_secs: 10,
            max_docs_per_connection: 1024,
            max_connections_per_user: 32,
            max_connections_per_address: 2048,
            new_cases_per_minute: 30,
            changes_per_minute: 120,
            max_awareness_states: 256,
            max_awareness_state_bytes: 8192,
        }
    }
}

/// What this instance counts against [`LimitSettings`]: open connections per user and per peer
/// address, and matters created per user in the last minute.
pub struct Limiter {
    settings: LimitSettings,
    per_user: Mutex<HashMap<Arc<str>, usize>>,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    new_cases: Mutex<HashMap<Arc<str>, VecDeque<Instant>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A counted connection of one user; dropping it releases the count.
pub struct UserSlot {
    limiter: Arc<Limiter>,
    user: Arc<str>,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.limiter.per_user);
        if let Some(count) = counts.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

/// A counted connection from one address; dropping it releases the count.
pub struct AddressSlot {
    limiter: Arc<Limiter>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.limiter.per_address);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl Limiter {
    pub fn new(settings: LimitSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            per_user: Mutex::new(HashMap::new()),
            per_address: Mutex::new(HashMap::new()),
            new_cases: Mutex::new(HashMap::new()),
        })
    }

    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    /// Count a connection of `user`, or refuse it when they already hold the most allowed.
    pub fn user_connection(self: &Arc<Self>, user: &str) -> Option<UserSlot> {
        let mut counts = lock(&self.per_user);
        let user: Arc<str> = Arc::from(user);
        let count = counts.entry(user.clone()).or_insert(0);
        if *count >= self.settings.max_connections_per_user {
            return None;
        }
        *count += 1;
        Some(UserSlot {
            limiter: self.clone(),
            user,
        })
    }

    /// Count a connection from `address`, or refuse it when it already holds the most allowed.
    pub fn address_connection(self: &Arc<Self>, address: IpAddr) -> Option<AddressSlot> {
        let mut counts = lock(&self.per_address);
        let count = counts.entry(address).or_insert(0);
        if *count >= self.settings.max_connections_per_address {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            limiter: self.clone(),
            address,
        })
    }

    /// Whether `user` may create another matter now (and count it if so).
    pub fn new_case(&self, user: &str) -> bool {
        let now = Instant::now();
        let mut created = lock(&self.new_cases);
        // Forget users idle for a minute, so the map holds only the last minute's creators.
        if created.len() > 10_000 {
            created.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|at| now.duration_since(*at) < MINUTE)
            });
        }
        let times = created.entry(Arc::from(user)).or_default();
        while times
            .front()
            .is_some_and(|at| now.duration_since(*at) >= MINUTE)
        {
            times.pop_front();
        }
        if times.len() >= self.settings.new_cases_per_minute as usize {
            return false;
        }
        times.push_back(now);
        true
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// A per-connection budget of requests per minute (a sliding window of the last minute).
pub struct PerMinute {
    limit: usize,
    times: VecDeque<Instant>,
}

impl PerMinute {
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit as usize,
            times: VecDeque::new(),
        }
    }

    /// Take one request from the budget; false when the last minute's budget is spent.
    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        while self
            .times
            .front()
            .is_some_and(|at| now.duration_since(*at) >= MINUTE)
        {
            self.times.pop_front();
        }
        if self.times.len() >= self.limit {
            return false;
        }
        self.times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_released() {
        let limiter = Limiter::new(LimitSettings {
            max_connections_per_user: 2,
            max_connections_per_address: 1,
            new_cases_per_minute: 2,
            ..Default::default()
        });
        let first = limiter.user_connection("ada");
        let second = limiter.user_connection("ada");
        assert!(first.is_some() && second.is_some());
        assert!(limiter.user_connection("ada").is_none());
        assert!(limiter.user_connection("ben").is_some());
        drop(first);
        assert!(limiter.user_connection("ada").is_some());

        let address: IpAddr = [127, 0, 0, 1].into();
        let slot = limiter.address_connection(address);
        assert!(slot.is_some());
        assert!(limiter.address_connection(address).is_none());
        drop(slot);
        assert!(limiter.address_connection(address).is_some());

        assert!(limiter.new_case("ada") && limiter.new_case("ada"));
        assert!(!limiter.new_case("ada"));
        assert!(limiter.new_case("ben"));

        let mut budget = PerMinute::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take());
    }
}
