//! Reads reply documents and proposes what to record: the reply's metadata and the promises it makes, with
//! diagnostics for whatever could not be read. It never writes and never panics on any input: text that yields
//! nothing recognisable gives diagnostics; only unreadable bytes are an error.
//!
//! ```
//! let text = "上海市示例局\n\n示〔2025〕3号\n\n对区政协十五届五次会议 第100号提案的答复\n\n王某委员：\n\n\
//!             你提出的《关于示例的提案》收悉，现答复如下：\n\n下一步，我局将于年底前建成示例平台。\n\n\
//!             上海市示例局\n\n2025年5月20日\n";
//! let parsed = duban_ingest::parse(text.as_bytes(), "reply.txt").unwrap();
//! assert_eq!(parsed.reply.doc_no.as_deref(), Some("示〔2025〕3号"));
//! assert_eq!(parsed.commitments.len(), 1);
//! assert_eq!(parsed.commitments[0].due.map(|d| d.to_string()).as_deref(), Some("2025-12-31"));
//! ```

mod commitments;
mod decode;
mod docx;
mod due;
mod error;
mod fields;
mod html;
mod normalize;
mod patterns;
mod propose;

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use decode::{Encoding, Format};
pub use error::IngestError;

/// The largest document read (a reply is tens of KiB; a 50 MB "reply" is not one).
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;

/// A reply document as read: its metadata, its proposed commitments, and what could not be read.
#[derive(Clone, Debug, Serialize)]
pub struct Parsed {
    pub reply: ReplyFields,
    pub commitments: Vec<ProposedCommitment>,
    pub diagnostics: Vec<Diagnostic>,
    #[serde(skip)]
    pub source: SourceInfo,
}

/// Where the bytes came from and how they were read.
#[derive(Clone, Debug, Default)]
pub struct SourceInfo {
    pub file_name: String,
    pub sha256: String,
    pub format: Option<Format>,
    pub encoding: Option<Encoding>,
    /// The normalised text commitments' locators point into.
    pub text: String,
}

/// The reply's metadata, exactly as `duban parse --json` prints it (absent values are null).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplyFields {
    pub doc_type: Option<String>,
    pub organ: Option<String>,
    pub doc_no: Option<String>,
    pub assembly: Option<String>,
    pub session: Option<String>,
    pub number: Option<String>,
    /// 提案 or 建议.
    pub kind: Option<String>,
    pub proposers: Vec<String>,
    pub addressee: Option<String>,
    pub title: Option<String>,
    pub result: Option<String>,
    pub disclosure: Option<String>,
    pub signed_on: Option<NaiveDate>,
    pub printed_on: Option<NaiveDate>,
    pub contact: Option<ContactFields>,
    pub cc: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContactFields {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
}

/// A promise found in the text.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProposedCommitment {
    /// The whole item or sentence, page breaks rejoined and emphasis removed.
    pub text: String,
    /// `next_steps` or `body`.
    pub section: &'static str,
    /// Paragraph index and character offsets in the normalised text.
    pub paragraph: u32,
    pub start: u32,
    pub end: u32,
    /// A due date read from the text (`年底前` → 31 December), with the phrase it came from.
    pub due: Option<NaiveDate>,
    pub due_phrase: Option<String>,
    /// How sure the reading is, from 0 to 1.
    pub confidence: f32,
}

/// Something the reader noticed: a field it could not find, a doubtful reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub message: String,
}

impl Parsed {
    /// Whether the document looks like no reply at all (see the `not_a_reply` diagnostic): import refuses such a
    /// document; a reply that merely lacks fields is imported and marked 待补全.
    pub fn is_not_a_reply(&self) -> bool {
        self.diagnostics.iter().any(|diagnostic| diagnostic.code == "not_a_reply")
    }
}

impl Diagnostic {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { code, message: message.into() }
    }
}

/// Reads a reply document from its bytes. `file_name` is used for format hints and the source record only.
pub fn parse(bytes: &[u8], file_name: &str) -> Result<Parsed, IngestError> {
    let sha256 = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let decoded = decode::decode(bytes, file_name)?;
    let mut diagnostics = decoded.diagnostics;
    let document = normalize::Document::new(&decoded.text);
    let reply = fields::read(&document, &mut diagnostics);
    let commitments = commitments::extract(&document, reply.signed_on);
    if commitments.is_empty() {
        diagnostics.push(Diagnostic::new("no_commitments", "未找到承诺事项"));
    }
    // Not a reply at all (a diary, a notice): none of its fields, no promise, and none of the words every reply
    // uses of itself or of what it answers — in simplified or traditional script, anywhere in the text.
    let reply_words =
        ["答复", "答復", "建议", "建議", "提案", "会办", "會辦"].iter().any(|word| decoded.text.contains(word));
    let nothing_found = reply.organ.is_none()
        && reply.doc_no.is_none()
        && reply.number.is_none()
        && reply.proposers.is_empty()
        && reply.title.is_none();
    if nothing_found && commitments.is_empty() && !reply_words {
        diagnostics
            .push(Diagnostic::new("not_a_reply", "看起来不是建议提案答复：未找到单位、文号、提出人、标题或承诺事项"));
    }
    Ok(Parsed {
        reply,
        commitments,
        diagnostics,
        source: SourceInfo {
            file_name: file_name.to_string(),
            sha256,
            format: Some(decoded.format),
            encoding: Some(decoded.encoding),
            text: document.text(),
        },
    })
}
