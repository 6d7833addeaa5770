//! Word `.docx` to text: the paragraphs of `word/document.xml`, one per line.

use std::io::Read;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::IngestError;

/// The largest `document.xml` read (a zip bomb inflates a few megabytes into gigabytes): a long reply's is a few
/// megabytes of markup. Larger is refused, as is text beyond [`MAX_DOCUMENT_BYTES`](crate::MAX_DOCUMENT_BYTES), the
/// bound on any document.
const MAX_XML_BYTES: u64 = 32 * 1024 * 1024;

pub fn to_text(bytes: &[u8]) -> Result<String, IngestError> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|error| IngestError::Docx(error.to_string()))?;
    let entry = archive
        .by_name("word/document.xml")
        .map_err(|_| IngestError::Docx("压缩包中没有 word/document.xml，不是 Word 文档".into()))?;
    let mut xml = String::new();
    entry
        .take(MAX_XML_BYTES + 1)
        .read_to_string(&mut xml)
        .map_err(|error| IngestError::Docx(format!("document.xml 无法读取：{error}")))?;
    if xml.len() as u64 > MAX_XML_BYTES {
        return Err(IngestError::Docx(format!("document.xml 解压后超过 {} MB，不像一份答复", MAX_XML_BYTES >> 20)));
    }
    let mut reader = Reader::from_str(&xml);
    let mut text = String::new();
    let mut in_text = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag)) if tag.name().as_ref() == b"w:t" => in_text = true,
            Ok(Event::End(tag)) => match tag.name().as_ref() {
                b"w:t" => in_text = false,
                b"w:p" => text.push('\n'),
                _ => {}
            },
            Ok(Event::Empty(tag)) => match tag.name().as_ref() {
                b"w:br" | b"w:cr" => text.push('\n'),
                b"w:tab" => text.push('\t'),
                _ => {}
            },
            Ok(Event::Text(content)) if in_text => {
                let unescaped = content.unescape().map_err(|error| IngestError::Docx(error.to_string()))?;
                text.push_str(&unescaped);
                if text.len() > crate::MAX_DOCUMENT_BYTES {
                    return Err(IngestError::TooLarge { size: text.len(), max: crate::MAX_DOCUMENT_BYTES });
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(error) => return Err(IngestError::Docx(format!("document.xml 格式错误：{error}"))),
        }
    }
    Ok(text)
}
