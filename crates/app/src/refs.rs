//! References people can say aloud, accepted wherever an id is (the command line, and the server after it):
//!
//! - `#37` — 编号: the seq of the event that opened the reply or promise. Given in order of creation, never reused
//!   (the log only grows), the same after `export` and `import-events` (seqs are kept), and found by reading one
//!   event: no index to keep. A young register's numbers are small: the first import's reply is `#1`, its promises
//!   `#2`, `#3`, ….
//! - `#12/2` — the second promise of reply `#12`, promises counted in the order they were recorded.
//! - `1221号/2`, `第1221号提案/2`, `十四届三次1221号/2`, `市政协十四届三次会议1221号/2` — the second promise of the
//!   reply to proposal 1221; what comes before the number narrows it down (assembly, session, answering organ),
//!   needed only when the number recurs. `1221号` alone names the reply.
//! - anything else: a ULID or a unique prefix of one (at least six characters).

use duban_domain::{CommitmentState, ProposalKind, StreamKind};
use duban_store::Family;
use ulid::Ulid;

use crate::error::{refuse, Result};
use crate::App;

/// A reference as typed, before it is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// A ULID or a prefix of one.
    Id(String),
    /// `#37`, optionally `/position`.
    Number { number: u64, position: Option<usize> },
    /// `十四届三次1221号/2`.
    Proposal { qualifier: String, number: String, kind: Option<ProposalKind>, position: Option<usize> },
}

/// Full-width digits and signs as their ASCII forms, spaces dropped, the traditional 號 and 議 as 号 and 议:
/// `＃３７／２` is `#37/2`, `1221號` is `1221号`.
fn narrow(input: &str) -> String {
    input
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' | '＃' | '／' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '號' => '号',
            '議' => '议',
            _ => c,
        })
        .collect()
}

impl Reference {
    /// Reads a reference; refuses one that is clearly meant as a number or a position but is malformed.
    pub fn parse(input: &str) -> Result<Reference> {
        let text = narrow(input);
        let (head, position) = match text.rsplit_once('/') {
            Some((head, tail)) => match tail.parse::<usize>() {
                Ok(position) if position >= 1 => (head.to_string(), Some(position)),
                _ => return refuse(format!("「{input}」中“/”后应是第几项承诺（从 1 起的数字），例如 1221号/2")),
            },
            None => (text.clone(), None),
        };
        if let Some(number) = head.strip_prefix('#') {
            return match number.parse::<u64>() {
                Ok(number) if number >= 1 => Ok(Reference::Number { number, position }),
                _ => refuse(format!("「{input}」不是编号：# 后应是数字，例如 #37")),
            };
        }
        // `[限定]第?数字号?(提案|建议)?`: a proposal if it says 号 or names a position.
        let mut rest = head.as_str();
        let mut kind = None;
        for (word, named) in [("提案", ProposalKind::Proposal), ("建议", ProposalKind::Suggestion)] {
            if let Some(stripped) = rest.strip_suffix(word) {
                rest = stripped;
                kind = Some(named);
            }
        }
        let said_number = rest.ends_with('号');
        let rest = rest.strip_suffix('号').unwrap_or(rest);
        let digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let is_proposal = digits > 0 && (said_number || position.is_some() || kind.is_some());
        if !is_proposal {
            if position.is_some() {
                return refuse(format!("「{input}」：“/第几项”只能跟在编号（#12/2）或提案号（1221号/2）后"));
            }
            return Ok(Reference::Id(input.trim().to_string()));
        }
        let number = rest[rest.len() - digits..].to_string();
        let qualifier = rest[..rest.len() - digits].trim_end_matches('第').to_string();
        Ok(Reference::Proposal { qualifier, number, kind, position })
    }
}

/// How a reference is written for a promise of a reply numbered `reply`: `#12/2`.
pub fn position_reference(reply: u64, position: usize) -> String {
    format!("#{reply}/{position}")
}

impl App {
    /// The reply or promise `input` names (any [`Reference`]); `kind` limits what it may name.
    pub fn resolve(&self, input: &str, kind: Option<StreamKind>) -> Result<Ulid> {
        match Reference::parse(input)? {
            Reference::Id(text) => Ok(self.store.resolve(&text, kind)?),
            Reference::Number { number, position: None } => {
                let (id, found) = self.numbered(number, input)?;
                expect_kind(input, found, kind)?;
                Ok(id)
            }
            Reference::Number { number, position: Some(position) } => {
                let (reply, found) = self.numbered(number, input)?;
                if found != StreamKind::Reply {
                    return refuse(format!("「{input}」：#{number} 是一项承诺，不是答复；“/第几项”要跟在答复的编号后"));
                }
                expect_kind(input, StreamKind::Commitment, kind)?;
                let family = self.family(reply)?;
                nth_commitment(input, family.map(|family| family.commitments).unwrap_or_default(), position)
            }
            Reference::Proposal { qualifier, number, kind: proposal_kind, position } => {
                let mut matches: Vec<Family> = Vec::new();
                for family in self.store.families_between(None, None) {
                    let family = family?;
                    let Some(reply) = &family.reply else { continue };
                    let Some(proposal) = reply.proposal() else { continue };
                    let same_number = proposal
                        .number
                        .as_deref()
                        .is_some_and(|stored| stored.trim_start_matches('0') == number.trim_start_matches('0'));
                    let same_kind = proposal_kind.is_none_or(|wanted| proposal.kind.is_none_or(|k| k == wanted));
                    if !(same_number && same_kind) {
                        continue;
                    }
                    // What precedes the number, matched as organ names are: simplified, half-width, no spaces.
                    let sitting = [proposal.assembly.as_deref(), proposal.session.as_deref()]
                        .iter()
                        .flatten()
                        .copied()
                        .collect::<String>();
                    let narrows = qualifier.is_empty() || {
                        let wanted = duban_domain::fold(&qualifier);
                        [sitting.clone(), format!("{}{sitting}", reply.organ()), reply.organ().to_string()]
                            .iter()
                            .any(|said| duban_domain::fold(said).contains(&wanted))
                    };
                    if narrows {
                        matches.push(family);
                    }
                }
                let family = match matches.len() {
                    0 => return refuse(format!("找不到「{input}」：没有答复登记了第{number}号提案或建议（用 duban reply list --proposal {number} 查看）")),
                    1 => matches.remove(0),
                    _ => {
                        let choices: Vec<String> = matches
                            .iter()
                            .filter_map(|family| family.reply.as_ref())
                            .map(|reply| {
                                format!("#{} {} {}", reply.number, reply.organ(), crate::views::proposal_text(reply))
                            })
                            .collect();
                        return refuse(format!(
                            "「{input}」对应 {} 件答复：{}。请在号前写明会议届次或答复单位，或用编号（如 #{}{}）",
                            matches.len(),
                            choices.join("；"),
                            matches[0].reply.as_ref().map_or(0, |reply| reply.number),
                            position.map(|p| format!("/{p}")).unwrap_or_default()
                        ));
                    }
                };
                match position {
                    None => {
                        expect_kind(input, StreamKind::Reply, kind)?;
                        Ok(family.reply.as_ref().and_then(|reply| reply.id).unwrap_or_default())
                    }
                    Some(position) => {
                        expect_kind(input, StreamKind::Commitment, kind)?;
                        nth_commitment(input, family.commitments, position)
                    }
                }
            }
        }
    }

    /// The stream event `number` opened, and its kind.
    fn numbered(&self, number: u64, input: &str) -> Result<(Ulid, StreamKind)> {
        let head = self.store.head()?.seq;
        if number > head {
            return refuse(format!("没有编号 #{number}：登记簿现有记录到 #{head} 为止（「{input}」）"));
        }
        match self.store.read_log(number).next().transpose()? {
            Some(event) if event.seq == number && event.version == 1 => Ok((event.stream, event.event.stream_kind())),
            Some(event) if event.seq == number => refuse(format!(
                "#{number} 是一条「{}」记录，不是答复或承诺的编号；编号见 duban list 或 duban reply list 的第一列",
                event.event.label()
            )),
            _ => refuse(format!("没有编号 #{number}")),
        }
    }
}

fn expect_kind(input: &str, found: StreamKind, wanted: Option<StreamKind>) -> Result<()> {
    match wanted {
        Some(wanted) if wanted != found => refuse(format!(
            "「{input}」是一{}{}，这里要的是{}",
            if found == StreamKind::Commitment { "项" } else { "件" },
            found.label(),
            wanted.label()
        )),
        _ => Ok(()),
    }
}

/// The reply's `position`-th promise (from 1), in the order they were recorded.
fn nth_commitment(input: &str, mut commitments: Vec<CommitmentState>, position: usize) -> Result<Ulid> {
    commitments.sort_by_key(|state| state.number);
    match commitments.get(position - 1) {
        Some(state) => Ok(state.id.unwrap_or_default()),
        None => refuse(format!("「{input}」：这件答复只有 {} 项承诺", commitments.len())),
    }
}

/// Where a promise stands among its reply's, from 1, in the order they were recorded.
pub fn position_of<'a>(commitments: impl IntoIterator<Item = &'a CommitmentState> + Clone, id: &Ulid) -> Option<usize> {
    let number = commitments.clone().into_iter().find(|state| state.id.as_ref() == Some(id))?.number;
    Some(commitments.into_iter().filter(|state| state.number < number).count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_as_people_write_them() {
        let number = |n, p| Reference::Number { number: n, position: p };
        assert_eq!(Reference::parse("#37").unwrap(), number(37, None));
        assert_eq!(Reference::parse(" ＃３７／２ ").unwrap(), number(37, Some(2)));
        let proposal = |q: &str, n: &str, k, p| Reference::Proposal {
            qualifier: q.into(),
            number: n.into(),
            kind: k,
            position: p,
        };
        assert_eq!(Reference::parse("1221号/2").unwrap(), proposal("", "1221", None, Some(2)));
        assert_eq!(Reference::parse("1221/2").unwrap(), proposal("", "1221", None, Some(2)));
        assert_eq!(
            Reference::parse("第1221号提案/2").unwrap(),
            proposal("", "1221", Some(ProposalKind::Proposal), Some(2))
        );
        assert_eq!(
            Reference::parse("市政协十四届三次会议1221号/2").unwrap(),
            proposal("市政协十四届三次会议", "1221", None, Some(2))
        );
        assert_eq!(Reference::parse("十四届三次 0873号").unwrap(), proposal("十四届三次", "0873", None, None));
        assert_eq!(Reference::parse("01JD8X").unwrap(), Reference::Id("01JD8X".into()));
        assert_eq!(Reference::parse("01JD8X2Q").unwrap(), Reference::Id("01JD8X2Q".into()));
        for bad in ["#", "#x", "#0", "#3/0", "1221号/x", "01JD8X/2"] {
            assert!(Reference::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
