//! Admission before work: a bulk request is admitted only if its expected cost fits the
//! server's budget and its client's share, and that is decided before anything of it is
//! decoded. A request that does not fit gets 429 at once.
//!
//! Costs are in "item units", one verification of an item whose key is already validated:
//! - an item whose key is in the key cache (or named by `key_id`) costs `CACHED_ITEM_COST`;
//! - an item whose key is not cached costs `FRESH_ITEM_COST`: KeyValidate (a subgroup check)
//!   and a cache slot on top of the verification. Fresh keys are free to make, so a hostile
//!   client's keys are always of this kind;
//! - every item of the client's that failed verification in the current window adds
//!   `FAILED_ITEM_COST` to each of its requests while the window lasts: a bad item costs its
//!   engine batch extra checks (docs/API.md, "Cost of a bad item"), and that cost goes to the
//!   client that sent it, not to everyone sharing the budget.
//!
//! A client is a peer IP address. The debts of clients are kept in a bounded `moka` cache with a
//! time to live (already the key cache's crate): a client that floods addresses cannot grow the
//! map without bound, and the window expires by itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use moka::sync::Cache;

/// Cost of an item whose key needs no validation.
pub const CACHED_ITEM_COST: usize = 1;
/// Cost of an item whose key must be decoded and validated first.
pub const FRESH_ITEM_COST: usize = 2;
/// Extra cost, per request, of each item the client had fail verification in the window.
pub const FAILED_ITEM_COST: usize = 4;
/// How long a client's failed items weigh on its requests.
pub const DEBT_WINDOW: Duration = Duration::from_secs(10);
/// Most clients whose debts are remembered (the oldest are forgotten first).
const DEBT_CLIENTS: u64 = 65_536;

/// Why a request was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

pub struct Admission {
    capacity: usize,
    client_share: usize,
    held: Arc<Mutex<Held>>,
    debts: Cache<IpAddr, Arc<AtomicUsize>>,
}

#[derive(Default)]
struct Held {
    total: usize,
    by_client: HashMap<Option<IpAddr>, usize>,
}

impl Admission {
    /// A budget of `capacity` item units, of which one client may hold `client_share`.
    pub fn new(capacity: usize, client_share: usize) -> Self {
        Self {
            capacity,
            client_share,
            held: Arc::default(),
            debts: Cache::builder()
                .max_capacity(DEBT_CLIENTS)
                .time_to_live(DEBT_WINDOW)
                .build(),
        }
    }

    /// Takes `cost` (plus the client's debt) from the budget, or refuses. An idle server admits
    /// any request, and a client's share never refuses a request of its own size alone: only
    /// its other requests in flight and its debt count against it.
    pub fn admit(&self, client: Option<IpAddr>, cost: usize) -> Result<Ticket, Refused> {
        let debt = client.map_or(0, |c| self.debt(c));
        let weight = cost + debt * FAILED_ITEM_COST;
        let mut held = self.lock();
        let client_held = held.by_client.get(&client).copied().unwrap_or(0);
        let fits_total = held.total == 0 || held.total + weight <= self.capacity;
        let fits_client = client_held + weight <= self.client_share.max(cost);
        if !(fits_total && fits_client) {
            return Err(Refused);
        }
        held.total += weight;
        *held.by_client.entry(client).or_default() += weight;
        Ok(Ticket {
            held: self.held.clone(),
            client,
            weight,
        })
    }

    /// Records items of `client` that failed verification.
    pub fn charge_failures(&self, client: Option<IpAddr>, failed: usize) {
        if let (Some(client), true) = (client, failed > 0) {
            self.debts
                .get_with(client, Arc::default)
                .fetch_add(failed, Ordering::Relaxed);
        }
    }

    /// Failed items of `client` in the current window.
    pub fn debt(&self, client: IpAddr) -> usize {
        self.debts
            .get(&client)
            .map_or(0, |d| d.load(Ordering::Relaxed))
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        lock(&self.held)
    }
}

fn lock(held: &Mutex<Held>) -> MutexGuard<'_, Held> {
    // Every update under this lock completes before anything can panic.
    held.lock().unwrap_or_else(|p| p.into_inner())
}

/// A request's share of the budget, given back when the request is answered or dropped.
pub struct Ticket {
    held: Arc<Mutex<Held>>,
    client: Option<IpAddr>,
    weight: usize,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut held = lock(&self.held);
        held.total -= self.weight;
        if let Some(n) = held.by_client.get_mut(&self.client) {
            *n -= self.weight;
            if *n == 0 {
                held.by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn a_client_gets_its_share_and_others_the_rest() {
        let admission = Admission::new(100, 40);
        let a = admission.admit(ip(1), 30).unwrap();
        assert_eq!(admission.admit(ip(1), 20).err(), Some(Refused));
        let b = admission.admit(ip(2), 40).unwrap();
        let c = admission.admit(ip(3), 30).unwrap();
        // The budget is spent: even a client with nothing in flight waits.
        assert_eq!(admission.admit(ip(4), 1).err(), Some(Refused));
        drop((a, b, c));
        // A request larger than the share is admitted when its client has nothing in flight.
        let big = admission.admit(ip(1), 90).unwrap();
        assert_eq!(admission.admit(ip(1), 1).err(), Some(Refused));
        drop(big);
        assert_eq!(lock(&admission.held).total, 0);
        assert!(lock(&admission.held).by_client.is_empty());
    }

    #[test]
    fn failed_items_weigh_on_their_client_only() {
        let admission = Admission::new(1000, 40);
        admission.charge_failures(ip(1), 8);
        assert_eq!(admission.debt(ip(1).unwrap()), 8);
        // 8 failed items add 32 units: a 10-unit request no longer fits a 40-unit share.
        assert_eq!(admission.admit(ip(1), 10).err(), Some(Refused));
        let honest = admission.admit(ip(2), 40).unwrap();
        drop(honest);
        assert!(admission.admit(ip(1), 8).is_ok());
    }
}
