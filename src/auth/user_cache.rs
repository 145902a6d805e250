//! A short-lived cache of authenticated users, so a request does not cost a users-table
//! query when the same user called a moment ago.
//!
//! Every request still verifies its token (signature, expiry, audience, issuer); only the
//! lookup of the token's subject is cached. An entry lives `auth.user_cache_secs` (0 turns
//! the cache off), so a changed or removed user is seen within that time; users unknown to
//! the database are never cached, so a new user is seen at once. The map is bounded: when it
//! is full, expired entries are swept, and if that frees nothing it is cleared.

use std::time::{Duration, Instant};

use dashmap::DashMap;

use super::Principal;

/// Upper bound of cached users (a few hundred bytes each).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct UserCache {
    ttl: Duration,
    entries: DashMap<String, (Instant, Principal)>,
}

impl UserCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: DashMap::new(),
        }
    }

    /// The cached user, if one was stored less than the TTL before `now`.
    pub fn get(&self, user_id: &str, now: Instant) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entry = self.entries.get(user_id)?;
        let (stored, principal) = entry.value();
        (now.saturating_duration_since(*stored) < self.ttl).then(|| principal.clone())
    }

    pub fn put(&self, principal: &Principal, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        if self.entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (stored, _)| now.saturating_duration_since(*stored) < ttl);
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries
            .insert(principal.user_id.clone(), (now, principal.clone()));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::UserType;

    fn user(id: &str) -> Principal {
        Principal {
            user_id: id.into(),
            email: format!("{id}@example.com"),
            name: id.into(),
            user_type: UserType::Client,
            venue_id: None,
        }
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = UserCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        cache.put(&user("u1"), t0);
        assert_eq!(
            cache.get("u1", t0 + Duration::from_secs(4)),
            Some(user("u1"))
        );
        assert_eq!(cache.get("u1", t0 + Duration::from_secs(5)), None);
        assert_eq!(cache.get("u2", t0), None);
    }

    #[test]
    fn a_zero_ttl_turns_the_cache_off() {
        let cache = UserCache::new(Duration::ZERO);
        let t0 = Instant::now();
        cache.put(&user("u1"), t0);
        assert!(cache.is_empty());
        assert_eq!(cache.get("u1", t0), None);
    }

    #[test]
    fn a_full_cache_sweeps_expired_entries_first() {
        let cache = UserCache::new(Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..MAX_ENTRIES {
            cache.put(&user(&format!("old{i}")), t0);
        }
        let later = t0 + Duration::from_secs(2);
        cache.put(&user("fresh"), later);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get("fresh", later), Some(user("fresh")));
    }
}
