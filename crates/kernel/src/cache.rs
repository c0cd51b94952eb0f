//! A small cache of computed figures with single flight: concurrent requests for the same key that is not
//! cached wait for one computation instead of each running it (under load, N cold requests would otherwise
//! run N identical computations of seconds each and make every one of them slow). Keys carry what the figure
//! depends on, such as the readings' data version (`readings::service::data_version`), so that a figure is
//! reused exactly until its data change; the time limit only bounds what the key cannot see.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

type Slot<V> = Arc<OnceCell<Arc<V>>>;

/// Up to `capacity` keys, each kept `ttl` from when it was first asked for.
pub struct FlightCache<K, V> {
    slots: Mutex<Vec<(K, Instant, Slot<V>)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: PartialEq, V> FlightCache<K, V> {
    pub const fn new(ttl: Duration, capacity: usize) -> Self {
        FlightCache {
            slots: Mutex::new(Vec::new()),
            ttl,
            capacity,
        }
    }

    /// The cached figure of `key`, or the one `compute` makes; callers asking for the same key while it runs
    /// wait for it. A computation that fails is not kept: the next caller (or one already waiting) tries again.
    pub async fn get_or_try_compute<E, F, Fut>(&self, key: K, compute: F) -> Result<Arc<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let slot = {
            // A poisoned lock still holds whole entries: nothing panics while it is held.
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.retain(|(_, at, _)| at.elapsed() < self.ttl);
            match slots.iter().find(|(k, _, _)| *k == key) {
                Some((_, _, slot)) => slot.clone(),
                None => {
                    let slot: Slot<V> = Arc::default();
                    slots.insert(0, (key, Instant::now(), slot.clone()));
                    slots.truncate(self.capacity);
                    slot
                }
            }
        };
        slot.get_or_try_init(|| async { compute().await.map(Arc::new) })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_of_one_key_share_one_computation() {
        static CACHE: FlightCache<u32, usize> = FlightCache::new(Duration::from_secs(600), 4);
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let callers: Vec<_> = (0..16)
            .map(|_| {
                tokio::spawn(CACHE.get_or_try_compute(1, || async {
                    // Long enough that every caller arrives while it runs.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok::<_, ()>(RUNS.fetch_add(1, Ordering::SeqCst))
                }))
            })
            .collect();
        for caller in callers {
            assert_eq!(*caller.await.unwrap().unwrap(), 0);
        }
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
        // Another key is computed on its own.
        let other = CACHE
            .get_or_try_compute(2, || async {
                Ok::<_, ()>(RUNS.fetch_add(1, Ordering::SeqCst))
            })
            .await
            .unwrap();
        assert_eq!(*other, 1);
    }

    #[tokio::test]
    async fn a_failed_computation_is_not_kept() {
        let cache: FlightCache<&str, u32> = FlightCache::new(Duration::from_secs(600), 4);
        let failed = cache
            .get_or_try_compute("k", || async { Err::<u32, _>("down") })
            .await;
        assert_eq!(failed, Err("down"));
        let value = cache
            .get_or_try_compute("k", || async { Ok::<_, &str>(7) })
            .await
            .unwrap();
        assert_eq!(*value, 7);
    }

    #[tokio::test]
    async fn entries_expire_and_the_oldest_key_leaves_first() {
        let cache: FlightCache<u32, u32> = FlightCache::new(Duration::ZERO, 4);
        cache
            .get_or_try_compute(1, || async { Ok::<_, ()>(1) })
            .await
            .unwrap();
        let again = cache
            .get_or_try_compute(1, || async { Ok::<_, ()>(2) })
            .await
            .unwrap();
        assert_eq!(*again, 2, "a zero time limit keeps nothing");
        let small: FlightCache<u32, u32> = FlightCache::new(Duration::from_secs(600), 1);
        small
            .get_or_try_compute(1, || async { Ok::<_, ()>(1) })
            .await
            .unwrap();
        small
            .get_or_try_compute(2, || async { Ok::<_, ()>(2) })
            .await
            .unwrap();
        let first = small
            .get_or_try_compute(1, || async { Ok::<_, ()>(3) })
            .await
            .unwrap();
        assert_eq!(*first, 3, "capacity 1 keeps only the latest key");
    }
}
