//! Validation before append: every "you can't do that" lives here, so `apply` never has to refuse anything.
//!
//! A check sees the folded state of the stream (and, for commitments, of its reply), the proposed fact, and today's
//! date as a parameter — never a clock.

use chrono::NaiveDate;

use crate::error::DomainError;
use crate::event::Event;
use crate::state::{CommitmentState, ReplyState};

/// The longest free text accepted in any field (a quoted paragraph is a few KiB).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Free text must say something, be of sane length, and hold no control characters other than line breaks and tabs.
pub fn check_text(field: &'static str, text: &str) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::EmptyText { field });
    }
    check_optional_text(field, text)
}

/// Like [`check_text`] but empty is allowed.
pub(crate) fn check_optional_text(field: &'static str, text: &str) -> Result<(), DomainError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(DomainError::TextTooLong { field, len: text.len(), max: MAX_TEXT_BYTES });
    }
    if let Some(bad) = text.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        return Err(DomainError::ControlCharacter { field, code: u32::from(bad) });
    }
    Ok(())
}

/// The longest name recorded as an event's actor (64 Chinese characters).
pub const MAX_ACTOR_BYTES: usize = 192;

/// Who acts is recorded in every event and shown in every timeline: a name of sane length, without control
/// characters or bidirectional overrides, and not blank.
pub fn check_actor(actor: &str) -> Result<(), DomainError> {
    const FIELD: &str = "记录人";
    if actor.trim().is_empty() {
        return Err(DomainError::EmptyText { field: FIELD });
    }
    if actor.len() > MAX_ACTOR_BYTES {
        return Err(DomainError::TextTooLong { field: FIELD, len: actor.len(), max: MAX_ACTOR_BYTES });
    }
    let unsafe_char = |c: &char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if let Some(bad) = actor.chars().find(unsafe_char) {
        return Err(DomainError::ControlCharacter { field: FIELD, code: u32::from(bad) });
    }
    Ok(())
}

pub(crate) fn check_not_future(on: NaiveDate, today: NaiveDate) -> Result<(), DomainError> {
    if on > today {
        Err(DomainError::InFuture { on, today })
    } else {
        Ok(())
    }
}

/// Checks a fact about a reply before it is appended to the reply's stream.
pub fn check_reply_event(
    reply: &ReplyState,
    occurred_on: NaiveDate,
    event: &Event,
    today: NaiveDate,
) -> Result<(), DomainError> {
    check_not_future(occurred_on, today)?;
    match event {
        Event::ReplyRegistered(registered) => {
            if let (Some(id), Some(_)) = (reply.id, &reply.registered) {
                return Err(DomainError::AlreadyRegistered { id });
            }
            // A field the document did not give is left empty (the reply is 待补全); one that is given must be text.
            check_optional_text("答复单位", &registered.organ)?;
            check_optional_text("文号", &registered.doc_no)?;
            if let Some(signed_on) = registered.signed_on {
                check_not_future(signed_on, today)?;
            }
            let optional = [&registered.doc_type, &registered.title, &registered.result, &registered.disclosure]
                .into_iter()
                .chain([&registered.addressee, &registered.proposal.assembly, &registered.proposal.session])
                .chain([&registered.proposal.number]);
            for text in optional.flatten() {
                check_optional_text("答复信息", text)?;
            }
            for text in registered.proposers.iter().chain(&registered.cc) {
                check_text("提出人或抄送单位", text)?;
            }
            Ok(())
        }
        Event::ReplyAmended(amended) => {
            let (Some(id), Some(registered)) = (reply.id, &reply.registered) else {
                return Err(DomainError::WrongStream { event: event.tag(), expected: "已登记的答复" });
            };
            if amended.is_empty() {
                return Err(DomainError::NothingToAmend { id });
            }
            if amended.applied_to(registered) == *registered {
                return Err(DomainError::AmendsNothing { id });
            }
            for (field, text) in [("答复单位", &amended.organ), ("文号", &amended.doc_no)] {
                if let Some(text) = text {
                    check_text(field, text)?;
                }
            }
            let optional = [&amended.doc_type, &amended.title, &amended.result, &amended.assembly, &amended.session]
                .into_iter()
                .chain([&amended.number]);
            for text in optional.flatten() {
                check_text("答复信息", text)?;
            }
            for proposer in amended.proposers.iter().flatten() {
                check_text("提出人", proposer)?;
            }
            if let Some(signed_on) = amended.signed_on {
                check_not_future(signed_on, today)?;
            }
            check_text("更正理由", &amended.reason)
        }
        Event::IntakeReviewed(reviewed) => {
            let (Some(id), Some(_)) = (reply.id, &reply.registered) else {
                return Err(DomainError::WrongStream { event: event.tag(), expected: "已登记的答复" });
            };
            if reviewed.is_empty() {
                return Err(DomainError::NothingToAmend { id });
            }
            for correction in &reviewed.corrections {
                check_text("复核修改的字段", &correction.field)?;
                check_optional_text("复核前的内容", &correction.read)?;
                check_optional_text("复核后的内容", &correction.given)?;
            }
            for text in reviewed.dropped.iter().chain(&reviewed.added) {
                check_text("承诺内容", text)?;
            }
            Ok(())
        }
        Event::ReplyEvaluated(evaluated) => {
            let (Some(id), Some(_)) = (reply.id, &reply.registered) else {
                return Err(DomainError::WrongStream { event: event.tag(), expected: "已登记的答复" });
            };
            if let Some(signed_on) = reply.signed_on().filter(|signed_on| occurred_on < *signed_on) {
                return Err(DomainError::BeforeSigned { id, on: occurred_on, signed_on });
            }
            if let Some(comment) = &evaluated.comment {
                check_text("评价意见", comment)?;
            }
            Ok(())
        }
        _ => Err(DomainError::WrongStream { event: event.tag(), expected: "答复" }),
    }
}

/// Checks a fact about a commitment before it is appended to the commitment's stream.
pub fn check_commitment_event(
    commitment: &CommitmentState,
    reply: &ReplyState,
    occurred_on: NaiveDate,
    event: &Event,
    today: NaiveDate,
) -> Result<(), DomainError> {
    check_not_future(occurred_on, today)?;
    let (Some(reply_id), Some(_)) = (reply.id, &reply.registered) else {
        return Err(DomainError::WrongStream { event: event.tag(), expected: "已登记答复的承诺" });
    };
    // A reply registered without its signing date (待补全) bounds nothing yet.
    let signed_on = reply.signed_on();
    if let Event::CommitmentMade(made) = event {
        if let Some(id) = commitment.id.filter(|_| commitment.made_on.is_some()) {
            return Err(DomainError::AlreadyRegistered { id });
        }
        if let Some(signed_on) = signed_on.filter(|signed_on| occurred_on < *signed_on) {
            return Err(DomainError::BeforeSigned { id: reply_id, on: occurred_on, signed_on });
        }
        check_text("承诺内容", &made.text)?;
        // The owner defaults to the replying organ; while that is missing (待补全), so may the owner be.
        if !(made.owner.is_empty() && reply.organ().trim().is_empty()) {
            check_text("责任单位", &made.owner)?;
        }
        for handler in &made.co_handlers {
            check_text("会办单位", handler)?;
        }
        if let (Some(due), Some(signed_on)) = (made.due, signed_on) {
            check_due(due, signed_on)?;
        }
        return Ok(());
    }

    let (Some(id), Some(made_on)) = (commitment.id, commitment.made_on) else {
        return Err(DomainError::WrongStream { event: event.tag(), expected: "已作出的承诺" });
    };
    if occurred_on < made_on {
        return Err(DomainError::BeforeMade { id, on: occurred_on, made_on });
    }
    let must_be_active = || match (&commitment.closure, commitment.dismissed_on) {
        (_, Some(on)) => Err(DomainError::AlreadyDismissed { id, on }),
        (Some(closure), None) => Err(DomainError::AlreadyClosed { id, on: closure.on, outcome: closure.outcome }),
        (None, None) => Ok(()),
    };
    match event {
        Event::ProgressReported(progress) => {
            must_be_active()?;
            check_text("进展情况", &progress.summary)?;
            check_evidence(&progress.evidence)?;
            match progress.percent {
                Some(percent) if percent > 100 => Err(DomainError::PercentOutOfRange { percent }),
                _ => Ok(()),
            }
        }
        Event::Closed(closed) => {
            must_be_active()?;
            check_text("办结情况", &closed.summary)?;
            check_evidence(&closed.evidence)
        }
        Event::Reopened(reopened) => {
            if !commitment.is_closed() && !commitment.is_dismissed() {
                return Err(DomainError::NotClosed { id });
            }
            check_text("重新打开的理由", &reopened.reason)
        }
        Event::DueDateSet(set) => {
            must_be_active()?;
            if let Some(signed_on) = signed_on {
                check_due(set.due, signed_on)?;
            }
            match (commitment.due, &set.reason) {
                (Some(due), _) if due == set.due => Err(DomainError::DueUnchanged { id, due }),
                (Some(due), None) => Err(DomainError::DueChangeNeedsReason { id, due }),
                (_, Some(reason)) => check_text("变更期限的理由", reason),
                (None, None) => Ok(()),
            }
        }
        Event::Reassigned(reassigned) => {
            must_be_active()?;
            check_text("责任单位", &reassigned.owner)?;
            check_text("调整理由", &reassigned.reason)?;
            if reassigned.owner.trim() == commitment.owner {
                return Err(DomainError::SameOwner { id, owner: commitment.owner.clone() });
            }
            Ok(())
        }
        Event::NoteAdded(note) => check_text("备注", &note.text),
        Event::EvidenceAttached(attached) => {
            must_be_active()?;
            check_attachment(attached)
        }
        Event::CommitmentAmended(amended) => {
            if amended.is_empty() {
                return Err(DomainError::NothingToAmend { id });
            }
            if amended.text.as_ref().is_none_or(|text| *text == commitment.text)
                && amended.section.is_none_or(|section| Some(section) == commitment.section)
            {
                return Err(DomainError::AmendsNothing { id });
            }
            if let Some(text) = &amended.text {
                check_text("承诺内容", text)?;
            }
            check_text("更正理由", &amended.reason)
        }
        Event::Dismissed(dismissed) => {
            must_be_active()?;
            if dismissed.duplicate_of == Some(id) {
                return Err(DomainError::DuplicateOfItself { id });
            }
            check_text("撤销理由", &dismissed.reason)
        }
        _ => Err(DomainError::WrongStream { event: event.tag(), expected: "承诺" }),
    }
}

fn check_due(due: NaiveDate, signed_on: NaiveDate) -> Result<(), DomainError> {
    if due < signed_on {
        Err(DomainError::DueBeforeSigned { due, signed_on })
    } else {
        Ok(())
    }
}

/// The longest attachment file name accepted (a file system's limit).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// An attachment names one file by its content: a plain file name (no folder), its SHA-256 in lowercase hex, a size
/// and a kind.
pub fn check_attachment(attached: &crate::event::EvidenceAttached) -> Result<(), DomainError> {
    const NAME: &str = "附件文件名";
    check_text(NAME, &attached.file_name)?;
    let name = &attached.file_name;
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(DomainError::TextTooLong { field: NAME, len: name.len(), max: MAX_FILE_NAME_BYTES });
    }
    let well_formed = attached.sha256.len() == 64
        && attached.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if name.contains(['/', '\\', '\n', '\t']) || name == "." || name == ".." || !well_formed || attached.bytes == 0 {
        return Err(DomainError::BadAttachment { file_name: name.clone() });
    }
    check_text("附件类型", &attached.media_type)
}

fn check_evidence(evidence: &[String]) -> Result<(), DomainError> {
    evidence.iter().try_for_each(|reference| check_text("佐证材料", reference))
}
