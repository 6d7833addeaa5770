//! Which sentences are promises, per corpus.md: every item of a forward-looking section (下一步, 下阶段, 今后, or a
//! list introduced as future measures), and body sentences announcing work not yet done (正在…, 计划…, 拟…, 将…).
//! Work already done, shortcomings, thanks and procedure are not promises.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use crate::due;
use crate::normalize::{starts_body, Document, Paragraph};
use crate::patterns::{CLOSING, DATE_LINE, ITEM_START, METADATA, TOP_HEADING};
use crate::ProposedCommitment;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in pattern")
}

/// A paragraph or sentence that opens a forward-looking section.
static NEXT_START: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^[\s一二三四五六七八九十、（）()．.\d]*(?:下一步|下阶段|下一阶段|下步|今后|接下来|下一步工作)")
});
/// `下一步` at the start of a clause (not `本市下阶段建立…`).
static NEXT_INSIDE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[，,。；;：:、）)])\s*(?:下一步|下阶段|下一阶段|下步|今后)"));
/// `将` that marks the future, not the disposal `将…作为/转化为…`.
static DISPOSAL: LazyLock<Regex> = LazyLock::new(|| re(r"^[^，,。；;]*?(?:作为|视为|化为|列为|改为|变为|定为|报为)"));
/// A lead-in that introduces the list after it rather than promising anything itself.
static LEAD_IN: LazyLock<Regex> = LazyLock::new(|| re(r"[:：]$|以下|如下"));
static LIST_LEAD_IN: LazyLock<Regex> = LazyLock::new(|| re(r"以下|如下|措施|[:：]$"));
static QUOTED: LazyLock<Regex> = LazyLock::new(|| re(r"《[^》]*》|“[^”]*”|「[^」]*」"));
static PROCEDURE: LazyLock<Regex> = LazyLock::new(|| re(r"此复函|回执|审签|答复如下|函复如下|收悉"));
/// Marks of work not yet done wherever they stand: plain words, and `下一步` opening a clause.
static FORWARD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"正在|准备|预计|力争|即将|将于|拟于|年底前|着手|(?:^|[，,。；;：:、）)])\s*(?:下一步|下阶段|下一阶段|下步|今后)",
    )
});
/// `待新建道路投用时…`: waiting for a condition, then acting.
static WAITING: LazyLock<Regex> = LazyLock::new(|| re(r"待[^，,。；;]{1,24}(?:后|时)"));

/// Whether a sentence (in simplified characters) announces work not yet done.
fn is_forward(sentence: &str) -> bool {
    // Words inside titles and quotations (《…行动计划》, “探索者”计划) say nothing about the organ's own plans.
    let text =
        if sentence.contains(['《', '“', '「']) { QUOTED.replace_all(sentence, "“”") } else { sentence.into() };
    let text = text.as_ref();
    let courtesy = || CLOSING.is_match(text.trim_start_matches(['，', ',', ' '])) || PROCEDURE.is_match(text);
    if FORWARD.is_match(text) || text.contains('待') && WAITING.is_match(text) {
        return !courtesy();
    }
    if !text.contains(['划', '拟', '将']) {
        return false;
    }
    let chars: Vec<char> = text.chars().collect();
    let punctuation = |c: Option<&char>| c.is_none_or(|c| "，,。、；;：:）)”》！？!?".contains(*c));
    let verb = chars.iter().enumerate().any(|(i, c)| {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1);
        match c {
            // 计划 as a verb (我局计划在…, 一是计划修建, ，计划与…), not the noun (英才计划领军项目, 改造计划，).
            '划' if before == Some('计') => {
                let subject_before = i < 2 || "，,。；;：:是也还并将均正拟局委府们".contains(chars[i - 2]);
                let verb_after = after.is_some_and(|c| c.is_ascii_digit() || "在于与将对到从把年今明".contains(*c));
                subject_before && !punctuation(after) || verb_after
            }
            '拟' => before != Some('草') && !punctuation(after),
            '将' => {
                let future = !matches!(before, Some('已' | '现'));
                let rest: String = chars[i + 1..].iter().collect();
                future && !DISPOSAL.is_match(&rest) && !punctuation(after)
            }
            _ => false,
        }
    });
    verb && !courtesy()
}

/// Splits a paragraph into sentences (byte ranges of `simple`), keeping closing quotes with their sentence.
fn sentences(simple: &str, split_clauses: bool) -> Vec<(usize, usize)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = simple.char_indices().collect();
    let mut index = 0;
    while index < chars.len() {
        let (at, c) = chars[index];
        let mut end_here = matches!(c, '。' | '！' | '？' | '!' | '?');
        // `对…建议，将…；对…，将…`: one promise per clause.
        if split_clauses && (c == '；' || c == ';') {
            end_here = simple[at + c.len_utf8()..].trim_start().starts_with('对');
        }
        if end_here {
            let mut end = at + c.len_utf8();
            while index + 1 < chars.len() && matches!(chars[index + 1].1, '”' | '’' | '"' | '」' | '』' | ')' | '）')
            {
                index += 1;
                end = chars[index].0 + chars[index].1.len_utf8();
            }
            pieces.push((start, end));
            start = end;
        }
        index += 1;
    }
    if start < simple.len() {
        pieces.push((start, simple.len()));
    }
    pieces
}

/// Positions of a sequential inline list (`一是…二是…`, `（一）…（二）…`): the byte offsets where items start.
fn inline_items(simple: &str) -> Vec<usize> {
    if !simple.contains('一') {
        return Vec::new();
    }
    const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    for style in [0, 1, 2] {
        let mut positions = Vec::new();
        let mut from = 0;
        for numeral in NUMERALS {
            let markers = match style {
                0 => vec![format!("{numeral}是")],
                1 => vec![format!("（{numeral}）"), format!("({numeral})")],
                _ => vec![format!("{numeral}要")],
            };
            let found =
                markers.iter().filter_map(|m| simple[from..].find(m.as_str()).map(|at| (at + from, m.len()))).min();
            match found {
                Some((at, length)) => {
                    positions.push(at);
                    from = at + length;
                }
                None => break,
            }
        }
        if positions.len() >= 2 {
            return positions;
        }
    }
    Vec::new()
}

struct Extractor<'a> {
    signed_on: Option<NaiveDate>,
    found: Vec<ProposedCommitment>,
    paragraph_index: usize,
    paragraph: &'a Paragraph,
}

impl Extractor<'_> {
    /// Records the piece `start..end` (bytes of the simplified text) as a commitment.
    fn push(&mut self, start: usize, end: usize, section: &'static str, confidence: f32) {
        let simple = &self.paragraph.simple;
        let first = simple[..start].chars().count();
        let count = simple[start..end].chars().count();
        let raw: String = self.paragraph.text.chars().skip(first).take(count).collect();
        let leading = raw.chars().take_while(|c| c.is_whitespace() || "，,；;、。".contains(*c)).count();
        let text: String = raw.chars().skip(leading).collect::<String>().trim_end().to_string();
        if text.chars().count() < 6 {
            return;
        }
        let piece: String = simple[start..end].to_string();
        let (due, due_phrase) = due::hint(&piece, self.signed_on).map_or((None, None), |(d, p)| (Some(d), Some(p)));
        let begin = self.paragraph.offset + first + leading;
        self.found.push(ProposedCommitment {
            end: (begin + text.chars().count()) as u32,
            text,
            section,
            paragraph: self.paragraph_index as u32,
            start: begin as u32,
            due,
            due_phrase,
            confidence,
        });
    }

    /// A forward-looking paragraph: one commitment per item, else per sentence (lead-ins and courtesy skipped).
    fn forward(&mut self, from: usize, section: &'static str) {
        let simple = &self.paragraph.simple[from..];
        let items = inline_items(simple);
        if !items.is_empty() {
            self.sentences_of(from, from + items[0], section, true);
            for (n, at) in items.iter().enumerate() {
                let end = items.get(n + 1).copied().unwrap_or(simple.len());
                self.push(from + at, from + end, section, 0.9);
            }
            return;
        }
        if ITEM_START.is_match(simple.trim_start()) && from == 0 {
            self.push(0, simple.len(), section, 0.9);
            return;
        }
        self.sentences_of(from, self.paragraph.simple.len(), section, true);
    }

    fn sentences_of(&mut self, from: usize, to: usize, section: &'static str, forward_section: bool) {
        let pieces = sentences(&self.paragraph.simple[from..to], forward_section);
        self.pieces_of(from, &pieces, section, forward_section);
    }

    /// Like `sentences_of`, over sentences already split (byte ranges relative to `from`).
    fn pieces_of(&mut self, from: usize, pieces: &[(usize, usize)], section: &'static str, forward_section: bool) {
        for &(start, end) in pieces {
            let sentence = self.paragraph.simple[from + start..from + end].trim();
            if forward_section {
                let skip = LEAD_IN.is_match(sentence.trim_end_matches(['”', '"']))
                    || CLOSING.is_match(sentence)
                    || PROCEDURE.is_match(sentence);
                if !skip {
                    self.push(from + start, from + end, section, 0.85);
                }
            } else if is_forward(sentence) {
                self.push(from + start, from + end, "body", 0.6);
            }
        }
    }
}

fn is_signature(paragraph: &Paragraph) -> bool {
    let text = &paragraph.simple;
    text.chars().count() <= 40
        && !text.contains(['。', '，', ',', '；'])
        && !ITEM_START.is_match(text)
        && !NEXT_START.is_match(text)
}

pub fn extract(document: &Document, signed_on: Option<NaiveDate>) -> Vec<ProposedCommitment> {
    let paragraphs = &document.paragraphs;
    let start = paragraphs.iter().position(|p| p.in_body && starts_body(&p.simple)).map_or(0, |intro| intro + 1);
    let end = paragraphs
        .iter()
        .rposition(|p| DATE_LINE.is_match(&p.simple.replace(' ', "")) && !p.simple.contains("印发"))
        .filter(|&end| end >= start)
        .unwrap_or(paragraphs.len());
    let mut found = Vec::new();
    let mut in_next = false;
    let mut in_list = false;
    for index in start..end {
        let paragraph = &paragraphs[index];
        let simple = paragraph.simple.as_str();
        let mut extractor =
            Extractor { signed_on, found: std::mem::take(&mut found), paragraph_index: index, paragraph };
        let heading = ITEM_START.is_match(simple) && !simple.contains('。') && simple.chars().count() <= 50;
        if METADATA.is_match(simple)
            || CLOSING.is_match(simple)
            || is_signature(paragraph)
            || simple.len() < 180 && PROCEDURE.is_match(simple)
        {
            in_next = false;
            in_list = false;
        } else if heading && (TOP_HEADING.is_match(simple) || NEXT_INSIDE.is_match(simple)) {
            in_next = NEXT_INSIDE.is_match(simple) || simple.contains("今后");
            in_list = false;
        } else if NEXT_START.is_match(simple) {
            in_next = true;
            extractor.forward(0, "next_steps");
        } else if in_next || in_list && ITEM_START.is_match(simple) {
            let section = if in_next { "next_steps" } else { "body" };
            extractor.forward(0, section);
        } else {
            in_list = false;
            body(&mut extractor, paragraphs.get(index + 1), &mut in_next, &mut in_list);
        }
        found = extractor.found;
    }
    found
}

/// A body paragraph: promises are sentences announcing future work; a `下一步` sentence opens a forward section from
/// there; a future lead-in opens a list of items.
fn body(extractor: &mut Extractor, next: Option<&Paragraph>, in_next: &mut bool, in_list: &mut bool) {
    let simple = extractor.paragraph.simple.clone();
    let pieces = sentences(&simple, false);
    let opens_next = |sentence: &str| {
        sentence.contains(['下', '今'])
            && NEXT_INSIDE.is_match(sentence)
            && NEXT_INSIDE.is_match(&QUOTED.replace_all(sentence, ""))
    };
    if let Some(at) = pieces.iter().position(|&(s, e)| opens_next(&simple[s..e])) {
        let from = pieces[at].0;
        extractor.sentences_of(0, from, "body", false);
        *in_next = true;
        extractor.forward(from, "next_steps");
        return;
    }
    let items = inline_items(&simple);
    if let Some(&first) = items.first() {
        let lead_in = &simple[..first];
        let last_sentence = sentences(lead_in, false).last().map_or(lead_in, |&(s, e)| &lead_in[s..e]);
        if is_forward(last_sentence) {
            extractor.sentences_of(0, first - (lead_in.len() - lead_in.trim_end().len()), "body", false);
            for (n, at) in items.iter().enumerate() {
                let end = items.get(n + 1).copied().unwrap_or(simple.len());
                extractor.push(*at, end, "body", 0.75);
            }
            return;
        }
    }
    let last = pieces.last().map_or("", |&(s, e)| &simple[s..e]);
    let introduces_list =
        next.is_some_and(|p| ITEM_START.is_match(&p.simple)) && is_forward(last) && LIST_LEAD_IN.is_match(last);
    if introduces_list {
        let until = pieces.last().map_or(0, |&(s, _)| s);
        extractor.sentences_of(0, until, "body", false);
        // A list introduced as future measures is read like a 下一步 section.
        *in_list = true;
        *in_next = true;
        return;
    }
    extractor.pieces_of(0, &pieces, "body", false);
}
