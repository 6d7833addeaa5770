//! Intake with review: a person looks at what was read from a document before it becomes part of the record
//! (the web app's 文件导入). The reviewer may correct any field, change a promise's text or due date, drop a sentence
//! taken for a promise and add one the reader missed; the reply is then registered as reviewed, in one append with
//! its promises, and what the reviewer changed is recorded beside it (`IntakeReviewed`), so that the reader's misses
//! can be counted later. The same rules as `import` apply (one reply per document, per organ and number).

use chrono::NaiveDate;
use duban_domain::{CommitmentMade, Correction, IntakeReviewed, Locator, Section};
use duban_ingest::Parsed;
use ulid::Ulid;

use crate::context::Context;
use crate::error::{refuse, Result};
use crate::import::FileOutcome;
use crate::register::Registered;
use crate::App;

/// The registration as the reviewer gave it (every field as it stands on the review page; empty: not given).
#[derive(Clone, Debug, Default)]
pub struct Reviewed {
    pub organ: String,
    pub doc_no: String,
    pub signed_on: Option<NaiveDate>,
    pub assembly: String,
    pub session: String,
    pub number: String,
    pub title: String,
    pub promises: Vec<ReviewedPromise>,
}

/// One promise on the review page: one the reader found (`read`: its place in [`Parsed::commitments`]) or one the
/// reviewer added (`read: None`).
#[derive(Clone, Debug)]
pub struct ReviewedPromise {
    pub read: Option<usize>,
    pub keep: bool,
    pub text: String,
    pub due: Option<NaiveDate>,
}

impl Reviewed {
    /// The review page's starting point: everything as read, every promise kept.
    pub fn as_read(parsed: &Parsed) -> Reviewed {
        let reply = &parsed.reply;
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        Reviewed {
            organ: text(&reply.organ),
            doc_no: text(&reply.doc_no),
            signed_on: reply.signed_on,
            assembly: text(&reply.assembly),
            session: text(&reply.session),
            number: text(&reply.number),
            title: text(&reply.title),
            promises: parsed
                .commitments
                .iter()
                .enumerate()
                .map(|(at, found)| ReviewedPromise {
                    read: Some(at),
                    keep: true,
                    text: found.text.clone(),
                    due: found.due,
                })
                .collect(),
        }
    }
}

/// What the reviewer changed of `parsed`'s reading, and the registration and promises to record.
fn review(parsed: &Parsed, given: &Reviewed) -> Result<(duban_domain::ReplyRegistered, Vec<Made>, IntakeReviewed)> {
    let mut registration = parsed.registration();
    let mut changes = IntakeReviewed::default();
    let mut correct = |field: &str, read: String, given: String| {
        if read.trim() != given.trim() {
            changes.corrections.push(Correction { field: field.to_string(), read, given: given.trim().to_string() });
        }
    };
    let read = |value: &Option<String>| value.clone().unwrap_or_default();
    let reply = &parsed.reply;
    correct("答复单位", read(&reply.organ), given.organ.clone());
    correct("文号", read(&reply.doc_no), given.doc_no.clone());
    let date = |date: Option<NaiveDate>| date.map(|d| d.to_string()).unwrap_or_default();
    correct("签发日期", date(reply.signed_on), date(given.signed_on));
    correct("会议", read(&reply.assembly), given.assembly.clone());
    correct("届次", read(&reply.session), given.session.clone());
    correct("编号", read(&reply.number), given.number.clone());
    correct("标题", read(&reply.title), given.title.clone());
    let optional = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_string());
    registration.organ = given.organ.trim().to_string();
    registration.doc_no = given.doc_no.trim().to_string();
    registration.signed_on = given.signed_on;
    registration.proposal.assembly = optional(&given.assembly);
    registration.proposal.session = optional(&given.session);
    registration.proposal.number = optional(&given.number);
    registration.title = optional(&given.title);

    let mut promises = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (place, promise) in given.promises.iter().enumerate() {
        let field = |what: &str| format!("承诺 {} 的{what}", place + 1);
        match promise.read {
            Some(at) => {
                let Some(found) = parsed.commitments.get(at) else {
                    return refuse(format!("复核表第 {} 条承诺不在识别结果中：请重新上传文件", place + 1));
                };
                if !seen.insert(at) {
                    return refuse(format!("复核表中识别结果第 {} 条出现两次", at + 1));
                }
                if !promise.keep {
                    changes.dropped.push(found.text.clone());
                    continue;
                }
                if promise.text.trim().is_empty() {
                    return refuse(format!("第 {} 条承诺的内容为空：不要这条请选“删去”", place + 1));
                }
                correct_into(&mut changes, field("内容"), found.text.clone(), promise.text.clone());
                correct_into(&mut changes, field("期限"), date(found.due), date(promise.due));
                promises.push(Made {
                    text: promise.text.trim().to_string(),
                    section: if found.section == "next_steps" { Section::NextSteps } else { Section::Body },
                    due: promise.due,
                    // The phrase stays the due date's source only while the date is the one read from it.
                    due_phrase: found.due_phrase.clone().filter(|_| promise.due == found.due && promise.due.is_some()),
                    locator: Some(Locator { paragraph: found.paragraph, start: found.start, end: found.end }),
                });
            }
            None if !promise.keep || promise.text.trim().is_empty() => {}
            None => {
                changes.added.push(promise.text.trim().to_string());
                promises.push(Made {
                    text: promise.text.trim().to_string(),
                    section: Section::NextSteps,
                    due: promise.due,
                    due_phrase: None,
                    locator: None,
                });
            }
        }
    }
    // A promise read but missing from the form (an old page) counts as dropped.
    for (at, found) in parsed.commitments.iter().enumerate() {
        if !seen.contains(&at) && given.promises.iter().all(|promise| promise.read != Some(at)) {
            changes.dropped.push(found.text.clone());
        }
    }
    Ok((registration, promises, changes))
}

fn correct_into(changes: &mut IntakeReviewed, field: String, read: String, given: String) {
    if read.trim() != given.trim() {
        changes.corrections.push(Correction { field, read, given: given.trim().to_string() });
    }
}

/// A promise to record, before its reply's id is known.
struct Made {
    text: String,
    section: Section,
    due: Option<NaiveDate>,
    due_phrase: Option<String>,
    locator: Option<Locator>,
}

impl App {
    /// Registers the reply read from `parsed` as the reviewer gave it (see the module's notes): the reply, its
    /// promises, what the reviewer changed and the link to its proposal, in one append. A refusal writes nothing.
    pub fn register_reviewed(&self, ctx: &Context, parsed: &Parsed, given: &Reviewed) -> Result<FileOutcome> {
        let (registration, promises, changes) = review(parsed, given)?;
        let owner = registration.organ.clone();
        let signed_on = registration.signed_on;
        let made = |reply: Ulid| {
            promises
                .iter()
                .map(|promise| CommitmentMade {
                    reply,
                    text: promise.text.clone(),
                    section: promise.section,
                    owner: owner.clone(),
                    co_handlers: Vec::new(),
                    // A due date before the reply was signed is not one (the domain would refuse the promise).
                    due: promise.due.filter(|due| signed_on.is_none_or(|signed| *due >= signed)),
                    due_phrase: promise.due_phrase.clone(),
                    locator: promise.locator.clone(),
                })
                .collect()
        };
        if let Some(promise) = promises.iter().find(|p| p.due.zip(signed_on).is_some_and(|(due, signed)| due < signed))
        {
            return refuse(format!(
                "承诺“{}”的期限 {} 早于签发日期 {}",
                promise.text,
                promise.due.map(|d| d.to_string()).unwrap_or_default(),
                signed_on.map(|d| d.to_string()).unwrap_or_default()
            ));
        }
        let mut registered = Registered::load(self)?;
        let mut proposals = crate::proposals::Proposals::load(self)?;
        let file = parsed.source.file_name.clone();
        let review = (!changes.is_empty()).then_some(changes);
        let outcome = self
            .register_document(ctx, &mut registered, &mut proposals, &file, registration, &made, review, false)
            .map_err(crate::error::AppError::Refused)?;
        if outcome.status == "skipped" {
            let existing = outcome.reply_id.unwrap_or_default();
            return refuse(format!("文件 {file} 已登记为答复 {existing}（内容相同），没有再次登记"));
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed() -> Parsed {
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../ingest/samples/jiaoyu.txt");
        duban_ingest::parse(&std::fs::read(sample).unwrap(), "jiaoyu.txt").unwrap()
    }

    #[test]
    fn as_read_the_review_records_no_changes_and_every_difference_is_named() {
        let parsed = parsed();
        assert!(!parsed.commitments.is_empty(), "the sample has promises");
        let as_read = Reviewed::as_read(&parsed);
        let (registration, promises, changes) = review(&parsed, &as_read).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(promises.len(), parsed.commitments.len());
        assert_eq!(registration, parsed.registration());

        let mut given = as_read.clone();
        given.doc_no = "沪民复〔2025〕13号".into();
        given.promises[0].text = "于2025年底前出台导则。".into();
        given.promises[0].due = NaiveDate::from_ymd_opt(2026, 3, 31);
        let last = given.promises.len() - 1;
        given.promises[last].keep = false;
        given
            .promises
            .push(ReviewedPromise { read: None, keep: true, text: "年内开展专项检查。".into(), due: None });
        let (registration, promises, changes) = review(&parsed, &given).unwrap();
        assert_eq!(registration.doc_no, "沪民复〔2025〕13号");
        let fields: Vec<&str> = changes.corrections.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["文号", "承诺 1 的内容", "承诺 1 的期限"]);
        assert_eq!(changes.dropped, [parsed.commitments[last].text.clone()]);
        assert_eq!(changes.added, ["年内开展专项检查。"]);
        assert_eq!(promises.len(), parsed.commitments.len());
        assert_eq!(promises[0].due_phrase, None, "a due date changed by hand is staff's, not the phrase's");
        assert!(promises.last().unwrap().locator.is_none());
    }

    #[test]
    fn a_kept_promise_emptied_or_named_twice_is_refused() {
        let parsed = parsed();
        let mut given = Reviewed::as_read(&parsed);
        given.promises[0].text = "  ".into();
        assert!(review(&parsed, &given).is_err());
        let mut given = Reviewed::as_read(&parsed);
        let first = given.promises[0].clone();
        given.promises.push(first);
        assert!(review(&parsed, &given).is_err());
    }
}
