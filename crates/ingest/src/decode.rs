//! Bytes to text: the container (plain text, web page, .docx) and the encoding are detected from the content, not
//! assumed from the file name.

use serde::Serialize;

use crate::{docx, html, Diagnostic, IngestError, MAX_DOCUMENT_BYTES};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Text,
    Html,
    Docx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// Any other legacy encoding detected by chardetng (GB18030/GBK, Big5, …), by its WHATWG name.
    Legacy(&'static str),
}

pub struct Decoded {
    pub text: String,
    pub format: Format,
    pub encoding: Encoding,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn decode(bytes: &[u8], file_name: &str) -> Result<Decoded, IngestError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty);
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(IngestError::TooLarge { size: bytes.len(), max: MAX_DOCUMENT_BYTES });
    }
    let mut diagnostics = Vec::new();
    if bytes.starts_with(b"PK\x03\x04") {
        let text = docx::to_text(bytes)?;
        return Ok(Decoded { text, format: Format::Docx, encoding: Encoding::Utf8, diagnostics });
    }
    let (text, encoding) = decode_text(bytes, &mut diagnostics)?;
    let control = text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}')).count();
    if control * 100 > text.chars().count().max(1) {
        return Err(IngestError::Binary);
    }
    let lower_name = file_name.to_ascii_lowercase();
    if looks_like_html(&text) || (lower_name.ends_with(".html") || lower_name.ends_with(".htm")) && text.contains('<') {
        return Ok(Decoded { text: html::to_text(&text), format: Format::Html, encoding, diagnostics });
    }
    Ok(Decoded { text, format: Format::Text, encoding, diagnostics })
}

fn decode_text(bytes: &[u8], diagnostics: &mut Vec<Diagnostic>) -> Result<(String, Encoding), IngestError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok((utf8_lossy(rest, diagnostics), Encoding::Utf8));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return Ok((encoding_rs::UTF_16LE.decode_without_bom_handling(rest).0.into_owned(), Encoding::Utf16Le));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return Ok((encoding_rs::UTF_16BE.decode_without_bom_handling(rest).0.into_owned(), Encoding::Utf16Be));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_string(), Encoding::Utf8));
    }
    // UTF-16 without a byte-order mark: ASCII-range text leaves a zero in every other byte.
    let sample = &bytes[..bytes.len().min(4096)];
    let zeros_at = |parity: usize| sample.iter().skip(parity).step_by(2).filter(|b| **b == 0).count();
    let half = sample.len() / 2;
    if half > 0 && zeros_at(1) * 10 > half * 3 && zeros_at(0) * 10 < half {
        return Ok((encoding_rs::UTF_16LE.decode_without_bom_handling(bytes).0.into_owned(), Encoding::Utf16Le));
    }
    if half > 0 && zeros_at(0) * 10 > half * 3 && zeros_at(1) * 10 < half {
        return Ok((encoding_rs::UTF_16BE.decode_without_bom_handling(bytes).0.into_owned(), Encoding::Utf16Be));
    }
    if bytes.contains(&0) {
        return Err(IngestError::Binary);
    }
    // Mostly UTF-8 with a few invalid bytes: read it, and say so.
    let lossy = String::from_utf8_lossy(bytes);
    let bad = lossy.chars().filter(|c| *c == '\u{FFFD}').count();
    let good = lossy.chars().filter(|c| !c.is_ascii() && *c != '\u{FFFD}').count();
    if bad * 10 <= good {
        return Ok((utf8_lossy(bytes, diagnostics), Encoding::Utf8));
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let guess = detector.guess(Some(b"cn"), chardetng::Utf8Detection::Deny);
    // GBK and Big5 overlap: a wrong guess still decodes, into rare characters. Keep the most plausible reading.
    let best = [guess, encoding_rs::GB18030, encoding_rs::BIG5]
        .into_iter()
        .filter_map(|encoding| {
            let text = encoding.decode_without_bom_handling_and_without_replacement(bytes)?;
            Some((oddness(&text), encoding, text))
        })
        .min_by_key(|(odd, _, _)| *odd);
    if let Some((odd, encoding, text)) = best {
        if odd * 5 <= text.chars().count() {
            return Ok((text.into_owned(), Encoding::Legacy(encoding.name())));
        }
    }
    Err(IngestError::Binary)
}

fn utf8_lossy(bytes: &[u8], diagnostics: &mut Vec<Diagnostic>) -> String {
    let text = String::from_utf8_lossy(bytes);
    let bad = text.chars().filter(|c| *c == '\u{FFFD}').count();
    if bad > 0 {
        diagnostics.push(Diagnostic::new("invalid_utf8", format!("文本中有 {bad} 处无效的 UTF-8 字节，已替换为 �")));
    }
    text.into_owned()
}

/// How many characters a reply would hardly contain: decoding with the wrong encoding, or random bytes, yields rare
/// and private-use characters, while a reply is mostly common Chinese characters, ASCII and punctuation.
fn oddness(text: &str) -> usize {
    text.chars()
        .filter(|c| {
            let code = u32::from(*c);
            let common = c.is_ascii()
                || (0x4E00..=0x9FFF).contains(&code)
                || (0x3000..=0x303F).contains(&code)
                || (0xFF00..=0xFFEF).contains(&code)
                || (0x2000..=0x206F).contains(&code);
            !common
        })
        .count()
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(512).collect::<String>().to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.contains("<head")
        || head.contains("<body")
        || (head.starts_with('<') && (head.contains("<div") || head.contains("<p") || head.contains("<meta")))
}
