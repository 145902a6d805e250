//! A change to the mutable fields of a thread row, written field by field.
//!
//! A live thread's row has one writer, its actor (see `actors::thread_actor`), which applies
//! every change to its copy of the record and writes the same [`ThreadPatch`] to the store,
//! in the order it applied them. A patch names only the fields that changed, so a write never
//! puts back a value another writer replaced. Token counters are never part of a patch: they
//! only grow, by an increment in the database that a turn makes with its end
//! ([`super::RunStore::finish`]).
//!
//! Titles have two sources. The user's rename ([`TitleChange::User`]) always applies; a
//! title the assistant generates ([`TitleChange::Generated`]) applies only to a thread that
//! has no title, in memory and in the database alike (`COALESCE(title, ?)`), so a rename that
//! arrives while the first turn runs is never overwritten by the generated title.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::threads::ThreadRecord;
use crate::chatkit::ThreadStatus;

/// Where a new title comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TitleChange {
    /// A rename by the user (`threads.update`); `None` clears the title.
    User(Option<String>),
    /// A title made by the assistant; only fills an empty title.
    Generated(String),
}

/// The fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadPatch {
    pub title: Option<TitleChange>,
    pub status: Option<ThreadStatus>,
    pub allowed_image_domains: Option<Option<Vec<String>>>,
    pub metadata: Option<Map<String, Value>>,
    pub updated_at: DateTime<Utc>,
}

impl ThreadPatch {
    /// A rename by the user.
    pub fn rename(title: Option<String>, now: DateTime<Utc>) -> Self {
        Self {
            title: Some(TitleChange::User(title)),
            status: None,
            allowed_image_domains: None,
            metadata: None,
            updated_at: now,
        }
    }

    /// What a turn changed in its copy of the thread (`after`) since `before`; `None` if
    /// nothing that is stored changed. A title set by a turn is a generated one.
    pub fn between(
        before: &ThreadRecord,
        after: &ThreadRecord,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let title = match (&before.title, &after.title) {
            (b, a) if b == a => None,
            (_, Some(t)) => Some(TitleChange::Generated(t.clone())),
            // A turn that clears the title: nothing to generate, leave it to the user.
            (_, None) => None,
        };
        let patch = Self {
            title,
            status: (before.status != after.status).then(|| after.status.clone()),
            allowed_image_domains: (before.allowed_image_domains != after.allowed_image_domains)
                .then(|| after.allowed_image_domains.clone()),
            metadata: (before.metadata != after.metadata).then(|| after.metadata.clone()),
            updated_at: now,
        };
        (!patch.is_empty()).then_some(patch)
    }

    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.status.is_none()
            && self.allowed_image_domains.is_none()
            && self.metadata.is_none()
    }

    /// Applies the patch to a copy of the row by the same rules as the database write.
    pub fn apply(&self, thread: &mut ThreadRecord) {
        match &self.title {
            Some(TitleChange::User(t)) => thread.title = t.clone(),
            Some(TitleChange::Generated(t)) if thread.title.is_none() => {
                thread.title = Some(t.clone());
            }
            _ => {}
        }
        if let Some(s) = &self.status {
            thread.status = s.clone();
        }
        if let Some(d) = &self.allowed_image_domains {
            thread.allowed_image_domains = d.clone();
        }
        if let Some(m) = &self.metadata {
            thread.metadata = m.clone();
        }
        thread.updated_at = self.updated_at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::AgentType;

    fn thread(title: Option<&str>) -> ThreadRecord {
        let now = Utc::now();
        ThreadRecord {
            id: "thr_1".into(),
            user_id: "u".into(),
            agent_type: AgentType::Client,
            venue_id: None,
            event_id: None,
            title: title.map(str::to_owned),
            status: ThreadStatus::Active,
            allowed_image_domains: None,
            metadata: Map::new(),
            tokens_in: 0,
            tokens_out: 0,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_generated_title_only_fills_an_empty_one() {
        let now = Utc::now();
        let before = thread(None);
        let after = thread(Some("Wedding menu"));
        let patch = ThreadPatch::between(&before, &after, now).unwrap();
        let mut renamed = thread(Some("Mine"));
        patch.apply(&mut renamed);
        assert_eq!(renamed.title.as_deref(), Some("Mine"));
        let mut untitled = thread(None);
        patch.apply(&mut untitled);
        assert_eq!(untitled.title.as_deref(), Some("Wedding menu"));
    }

    #[test]
    fn a_rename_always_applies_and_nothing_unchanged_is_written() {
        let now = Utc::now();
        let mut t = thread(Some("Generated"));
        ThreadPatch::rename(None, now).apply(&mut t);
        assert_eq!(t.title, None);
        assert!(ThreadPatch::between(&t, &t.clone(), now).is_none());
        let mut closed = t.clone();
        closed.status = ThreadStatus::Closed { reason: None };
        let patch = ThreadPatch::between(&t, &closed, now).unwrap();
        assert_eq!(patch.title, None);
        assert_eq!(patch.status, Some(ThreadStatus::Closed { reason: None }));
    }
}
