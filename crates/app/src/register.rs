//! The register's one rule about replies as a whole: one reply per organ and document number (文号); without a 文号,
//! one per organ and proposal (assembly, session, number); and one per document (by its content hash), so that
//! re-importing a document adds nothing. A reply with neither 文号 nor proposal number is known by its content alone.
//!
//! The rule is checked against the projection, read once per command. (An index kept by the store would make the
//! check independent of the register's size; the identity of a reply is about to change — a reply without a 文号
//! is identified by its proposal reference and organ — so the index waits for that rule.)

use std::collections::HashMap;

use duban_domain::ReplyRegistered;
use ulid::Ulid;

use crate::error::Result;
use crate::App;

/// The key under which a reply must be unique: its organ and document number, as written (trimmed).
pub fn reply_key(organ: &str, doc_no: &str) -> (String, String) {
    (organ.trim().to_string(), doc_no.trim().to_string())
}

/// A reply's organ and its 文号 or proposal reference.
type Key = (String, String);

/// The keys a registration is unique under: organ and 文号, and organ and proposal reference (so that a corrected
/// document of the same reply is recognised whether or not its 文号 was read the first time). One exception: after
/// the proposer judged a reply 不满意, the organ's next reply to the same proposal under another 文号 is the
/// re-handling's (重新办理), a reply of its own.
fn keys_of(reply: &ReplyRegistered) -> (Option<Key>, Option<Key>) {
    let by_number = (!reply.doc_no.trim().is_empty()).then(|| reply_key(&reply.organ, &reply.doc_no));
    let proposal = &reply.proposal;
    let by_proposal = proposal
        .number
        .as_ref()
        .filter(|number| !number.trim().is_empty())
        .map(|_| (reply.organ.trim().to_string(), format!("提案建议：{}", proposal.describe())));
    (by_number, by_proposal)
}

/// What the register holds, by reply key and by content hash.
pub(crate) struct Registered {
    by_key: HashMap<(String, String), Ulid>,
    /// By organ and proposal: the reply, whether it has a 文号, and whether the proposer judged it 不满意.
    by_proposal: HashMap<(String, String), (Ulid, bool, bool)>,
    by_hash: HashMap<String, Ulid>,
}

/// Where a new reply clashes with the register.
pub(crate) enum Clash {
    /// The same document was registered already (a re-import).
    SameDocument(Ulid),
    /// Another reply holds this organ and document number, or this organ and proposal.
    SameNumber(Ulid),
}

impl Registered {
    pub fn load(app: &App) -> Result<Registered> {
        let mut registered =
            Registered { by_key: HashMap::new(), by_proposal: HashMap::new(), by_hash: HashMap::new() };
        for family in app.store.families_between(None, None) {
            let Some(reply) = family?.reply else { continue };
            let dissatisfied = reply.evaluation.is_some_and(|(_, s)| s == duban_domain::Satisfaction::Dissatisfied);
            let (Some(id), Some(reply)) = (reply.id, reply.registered) else { continue };
            registered.remember(id, &reply);
            if let (true, (_, Some(key))) = (dissatisfied, keys_of(&reply)) {
                if let Some(entry) = registered.by_proposal.get_mut(&key).filter(|entry| entry.0 == id) {
                    entry.2 = true;
                }
            }
        }
        Ok(registered)
    }

    /// Whether `reply` may be registered, and if not, which reply is in its way.
    pub fn clash(&self, reply: &ReplyRegistered) -> Option<Clash> {
        if let Some(id) = reply.source.as_ref().and_then(|source| self.by_hash.get(&source.sha256)) {
            return Some(Clash::SameDocument(*id));
        }
        self.holder(reply, None).map(Clash::SameNumber)
    }

    /// The reply other than `except` that holds `reply`'s keys.
    fn holder(&self, reply: &ReplyRegistered, except: Option<Ulid>) -> Option<Ulid> {
        let (by_number, by_proposal) = keys_of(reply);
        let other = |id: &Ulid| Some(*id) != except;
        by_number.and_then(|key| self.by_key.get(&key).copied().filter(other)).or_else(|| {
            let (id, numbered, dissatisfied) = by_proposal.and_then(|key| self.by_proposal.get(&key).copied())?;
            // The re-handling's reply, under a 文号 of its own.
            let rehandled = dissatisfied && numbered && !reply.doc_no.trim().is_empty();
            (!rehandled && other(&id)).then_some(id)
        })
    }

    /// As [`Registered::clash`], for a registration reply `id` would have after a correction: a clash with itself is
    /// none. (Only its key counts: a correction keeps the document it was read from.)
    pub fn clash_with_other(&self, reply: &ReplyRegistered, id: Ulid) -> Option<Clash> {
        self.holder(reply, Some(id)).map(Clash::SameNumber)
    }

    pub fn remember(&mut self, id: Ulid, reply: &ReplyRegistered) {
        if let Some(source) = &reply.source {
            self.by_hash.insert(source.sha256.clone(), id);
        }
        let (by_number, by_proposal) = keys_of(reply);
        if let Some(key) = by_number {
            self.by_key.insert(key, id);
        }
        if let Some(key) = by_proposal {
            // A numbered reply does not displace an unnumbered one: that one still waits for its 文号.
            let numbered = !reply.doc_no.trim().is_empty();
            match self.by_proposal.get(&key) {
                Some((_, false, _)) if numbered => {}
                _ => {
                    self.by_proposal.insert(key, (id, numbered, false));
                }
            }
        }
    }
}
