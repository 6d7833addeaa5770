//! From a parsed document to the events that would record it: one `ReplyRegistered` and one `CommitmentMade` per
//! extracted commitment. Ids, clock and actor are the caller's; nothing is written here.

use duban_domain::{CommitmentMade, Contact, Locator, ProposalKind, ProposalRef, ReplyRegistered, Section, Source};
use ulid::Ulid;

use crate::Parsed;

impl Parsed {
    /// The registration of this reply, or the names of the required fields that were not found.
    pub fn registration(&self) -> Result<ReplyRegistered, Vec<&'static str>> {
        let reply = &self.reply;
        let missing: Vec<&'static str> = [
            (reply.organ.is_none(), "答复单位"),
            (reply.doc_no.is_none(), "文号"),
            (reply.signed_on.is_none(), "签发日期"),
        ]
        .into_iter()
        .filter_map(|(absent, name)| absent.then_some(name))
        .collect();
        let (Some(organ), Some(doc_no), Some(signed_on)) = (&reply.organ, &reply.doc_no, reply.signed_on) else {
            return Err(missing);
        };
        Ok(ReplyRegistered {
            doc_type: reply.doc_type.clone(),
            organ: organ.clone(),
            doc_no: doc_no.clone(),
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
            signed_on,
            printed_on: reply.printed_on,
            contact: reply.contact.as_ref().map(|c| Contact {
                name: c.name.clone(),
                phone: c.phone.clone(),
                address: c.address.clone(),
                postcode: c.postcode.clone(),
            }),
            cc: reply.cc.clone(),
            source: Some(Source { file_name: self.source.file_name.clone(), sha256: self.source.sha256.clone() }),
        })
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
