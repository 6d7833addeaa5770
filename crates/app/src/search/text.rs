//! What is searched, and how text is folded before it is compared: the one definition both the index and a plain
//! substring scan use, so that the index can be checked against the scan.
//!
//! Folding maps every character to exactly one character (traditional → simplified script, full width → half
//! width, ASCII upper → lower case), so a position in folded text is the same position in the text as written: a
//! snippet is cut from the original at the place the folded match was found.

use chrono::{DateTime, NaiveDate, Utc};
use duban_domain::{Envelope, Event, ReplyRegistered};
use ulid::Ulid;

/// What a hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A promise's text (承诺).
    Commitment,
    /// A reply's registration: title, organ, 文号, proposal, proposers (答复).
    Reply,
    /// A progress report's or a closure's summary (进展).
    Progress,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Commitment, Kind::Reply, Kind::Progress];

    /// The `--json` and `--kind` name.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Commitment => "commitment",
            Kind::Reply => "reply",
            Kind::Progress => "progress",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Commitment => "承诺",
            Kind::Reply => "答复",
            Kind::Progress => "进展",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.code() == text || kind.label() == text)
    }

    pub(crate) fn byte(self) -> u8 {
        match self {
            Kind::Commitment => 1,
            Kind::Reply => 2,
            Kind::Progress => 3,
        }
    }

    pub(crate) fn from_byte(byte: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.byte() == byte)
    }
}

/// One searchable text as a fact made it: a promise's text when made or amended, a reply's registration when made
/// or corrected, a progress report's summary. A later text of the same item (its `kind` and `item`) replaces an
/// earlier one; a progress text is never replaced (`item` is its promise, `seq` tells reports apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Doc {
    pub kind: Kind,
    pub item: Ulid,
    pub seq: u64,
    pub recorded_at: DateTime<Utc>,
    pub occurred_on: NaiveDate,
    /// Whether it replaces an earlier text of the same item (an amendment).
    pub replaces: bool,
}

/// Folds `text` for comparison, one character for one.
pub fn fold(text: &str) -> Vec<char> {
    let narrow: String = text
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .map(|c| c.to_ascii_lowercase())
        .collect();
    // fast2s writes one character for each it reads (looking at both neighbours to choose it).
    fast2s::convert(&narrow).chars().collect()
}

/// The terms of a query, folded: words split at spaces, a phrase in quotes ("…", “…”) kept whole; empty ones
/// dropped, repeats once.
pub fn terms(query: &str) -> Vec<Vec<char>> {
    let mut terms: Vec<Vec<char>> = Vec::new();
    let mut word: Vec<char> = Vec::new();
    let mut quoted = false;
    let push = |word: &mut Vec<char>, terms: &mut Vec<Vec<char>>| {
        let taken = std::mem::take(word);
        if !taken.is_empty() && !terms.contains(&taken) {
            terms.push(taken);
        }
    };
    for c in fold(query) {
        match c {
            '"' | '“' | '”' => {
                push(&mut word, &mut terms);
                quoted = !quoted;
            }
            c if c.is_whitespace() && !quoted => push(&mut word, &mut terms),
            c => word.push(c),
        }
    }
    push(&mut word, &mut terms);
    terms
}

/// A reply's searchable text: its title, organ, 文号, proposal and proposers, one to a line.
pub fn reply_text(registered: &ReplyRegistered) -> String {
    let proposal = registered.proposal.describe();
    let proposers = registered.proposers.join("、");
    [registered.title.as_deref().unwrap_or(""), &registered.organ, &registered.doc_no, &proposal, &proposers]
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The searchable text `envelope` makes, if any. A reply's correction names only what it corrects: `before` gives
/// the registration as it stood before it (folded from the reply's stream) to apply it to.
pub fn doc_of(
    envelope: &Envelope,
    before: &mut dyn FnMut(&Ulid, u64) -> Option<ReplyRegistered>,
) -> Option<(Doc, String)> {
    let doc = |kind, replaces| Doc {
        kind,
        item: envelope.stream,
        seq: envelope.seq,
        recorded_at: envelope.recorded_at,
        occurred_on: envelope.occurred_on,
        replaces,
    };
    match &envelope.event {
        Event::CommitmentMade(made) => Some((doc(Kind::Commitment, false), made.text.clone())),
        Event::CommitmentAmended(amended) => amended.text.clone().map(|text| (doc(Kind::Commitment, true), text)),
        Event::ReplyRegistered(registered) => Some((doc(Kind::Reply, false), reply_text(registered))),
        Event::ReplyAmended(amended) => {
            let registered = before(&envelope.stream, envelope.seq)?;
            Some((doc(Kind::Reply, true), reply_text(&amended.applied_to(&registered))))
        }
        Event::ProgressReported(progress) => Some((doc(Kind::Progress, false), progress.summary.clone())),
        Event::Closed(closed) if !closed.summary.trim().is_empty() => {
            Some((doc(Kind::Progress, false), closed.summary.clone()))
        }
        _ => None,
    }
}

/// Where `term` first occurs in `text` (both folded), by character.
pub fn find(text: &[char], term: &[char]) -> Option<usize> {
    if term.is_empty() || term.len() > text.len() {
        return None;
    }
    text.windows(term.len()).position(|window| window == term)
}

/// A snippet of `text` around its first match of `terms` (up to `around` characters each side), with `…` where it
/// was cut.
pub fn snippet(text: &str, terms: &[Vec<char>], around: usize) -> String {
    let original: Vec<char> = text.chars().map(|c| if c == '\n' { ' ' } else { c }).collect();
    let folded = fold(text);
    let (start, len) =
        terms.iter().filter_map(|term| find(&folded, term).map(|at| (at, term.len()))).min().unwrap_or((0, 0));
    let from = start.saturating_sub(around);
    let to = (start + len + around).min(original.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(&original[from..to]);
    if to < original.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_one_character_for_each() {
        let text = "概念驗證平台ＡＢＣ１２３　〔2025〕29號";
        let folded: String = fold(text).into_iter().collect();
        assert_eq!(folded, "概念验证平台abc123 〔2025〕29号");
        assert_eq!(fold(text).len(), text.chars().count());
    }

    #[test]
    fn a_query_splits_at_spaces_and_keeps_quoted_phrases() {
        let terms: Vec<String> = terms("充电桩  “协同 创新” 充電樁 X").into_iter().map(String::from_iter).collect();
        assert_eq!(terms, ["充电桩", "协同 创新", "x"]);
    }

    #[test]
    fn a_snippet_is_cut_from_the_original_where_the_folded_match_is() {
        let text = "一二三四五六七八九十概念驗證平台一二三四五六七八九十";
        assert_eq!(snippet(text, &terms("概念验证"), 3), "…八九十概念驗證平台一…");
    }
}
