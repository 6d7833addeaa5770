//! From a parsed document to the events that would record it: one `ReplyRegistered` and one `CommitmentMade` per
//! extracted commitment. Ids, clock and actor are the caller's; nothing is written here.

use duban_domain::{CommitmentMade, Contact, Locator, ProposalKind, ProposalRef, ReplyRegistered, Section, Source};
use ulid::Ulid;

use crate::Parsed;

impl Parsed {
    /// The registration of this reply. A field the document does not give stays empty (`organ`, `doc_no`) or `None`
    /// (`signed_on`): the reply is registered all the same and marked 待补全 ([`ReplyRegistered::missing`]).
    pub fn registration(&self) -> ReplyRegistered {
        let reply = &self.reply;
        ReplyRegistered {
            doc_type: reply.doc_type.clone(),
            organ: reply.organ.clone().unwrap_or_default(),
            doc_no: reply.doc_no.clone().unwrap_or_default(),
            proposal: ProposalRef {
                assembly: reply.assembly.clone(),
                session: reply.session.clone(),
                number: reply.number.clone(),
                kind: reply.kind.as_deref().and_then(ProposalKind::parse),
            },
            proposers: reply.proposers.clone(),
            title: reply.title.clone(),
            result: reply.result.clone(),
            disclosure: reply.disclosure.clone(),
            addressee: reply.addressee.clone(),
            signed_on: reply.signed_on,
            printed_on: reply.printed_on,
            contact: reply.contact.as_ref().map(|c| Contact {
                name: c.name.clone(),
                phone: c.phone.clone(),
                address: c.address.clone(),
                postcode: c.postcode.clone(),
            }),
            cc: reply.cc.clone(),
            source: Some(Source { file_name: self.source.file_name.clone(), sha256: self.source.sha256.clone() }),
        }
    }

    /// One `CommitmentMade` per extracted commitment, owned by the replying organ. A due date read from the text
    /// that falls before the reply was signed is left out (the phrase is kept).
    pub fn commitments_made(&self, reply: Ulid) -> Vec<CommitmentMade> {
        let owner = self.reply.organ.clone().unwrap_or_default();
        self.commitments
            .iter()
            .map(|found| CommitmentMade {
                reply,
                text: found.text.clone(),
                section: if found.section == "next_steps" { Section::NextSteps } else { Section::Body },
                owner: owner.clone(),
                co_handlers: Vec::new(),
                due: found.due.filter(|due| self.reply.signed_on.is_none_or(|signed| *due >= signed)),
                due_phrase: found.due_phrase.clone(),
                locator: Some(Locator { paragraph: found.paragraph, start: found.start, end: found.end }),
            })
            .collect()
    }
}
