//! Small in-process caches with a time to live, kept in the [`Db`] they
//! read from (see `Db::cached`). What they hold changes rarely (apps,
//! clients, signing keys) and is read on every protocol request; a second
//! of staleness is what a change made by another process (the CLI, another
//! node) may take to show, a change made by this process drops them at once.
//!
//! [`Db`]: super::db::Db

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long a cached value is used before it is read again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Entries beyond this are not worth keeping: the map is emptied (a burst of
/// unknown keys must not grow memory).
const MAX_ENTRIES: usize = 10_000;

/// Values by key, each fresh for [`FRESH_FOR`].
pub struct TtlMap<K, V> {
    entries: KeptMap<K, (Instant, V)>,
    /// What the metrics call it (`oneauth_cache_lookups_total{cache}`).
    name: &'static str,
}

impl<K, V> TtlMap<K, V> {
    pub fn named(name: &'static str) -> Self {
        Self {
            entries: KeptMap::default(),
            name,
        }
    }
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    /// The value of `key`, if one was put less than [`FRESH_FOR`] ago.
    pub fn get(&self, key: &K) -> Option<V> {
        let found = self
            .entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, value)| value);
        super::measure::cache_lookup(self.name, found.is_some());
        found
    }

    pub fn put(&self, key: K, value: V) {
        self.entries.put(key, (Instant::now(), value));
    }
}

/// Values that never change once made, such as the parsed key of a key
/// id: kept without a time to live, until the map holds [`MAX_ENTRIES`].
pub struct KeptMap<K, V> {
    entries: RwLock<HashMap<K, V>>,
}

impl<K, V> Default for KeptMap<K, V> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> KeptMap<K, V> {
    pub fn get(&self, key: &K) -> Option<V> {
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned()
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, value);
    }

    /// The value of `key`, made (and kept) by `make` when there is none.
    pub fn get_or_make<E>(&self, key: &K, make: impl FnOnce() -> Result<V, E>) -> Result<V, E>
    where
        K: Clone,
    {
        if let Some(value) = self.get(key) {
            return Ok(value);
        }
        let value = make()?;
        self.put(key.clone(), value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_while_fresh() {
        let map = TtlMap::<&str, u32>::named("test");
        assert_eq!(map.get(&"a"), None);
        map.put("a", 1);
        assert_eq!(map.get(&"a"), Some(1));
        map.entries.put("a", (Instant::now() - FRESH_FOR, 1));
        assert_eq!(map.get(&"a"), None, "stale");
    }
}
