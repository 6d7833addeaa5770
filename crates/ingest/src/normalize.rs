//! Normalisation: lines cleaned of emphasis and page chrome, lines broken by page breaks rejoined into paragraphs,
//! and a simplified-character shadow of every paragraph for matching (the original is kept for quoting).

use crate::patterns::{CHROME, CLOSING, DATE_LINE, ITEM_START, METADATA};

/// A paragraph of the normalised text.
#[derive(Clone, Debug)]
pub struct Paragraph {
    /// As written (emphasis removed, lines rejoined).
    pub text: String,
    /// The same text in simplified characters, character for character.
    pub simple: String,
    /// Character offset of the paragraph in the normalised text.
    pub offset: usize,
    /// Whether the paragraph stands after the salutation (in the reply's body or closing).
    pub in_body: bool,
}

/// A reply document as lines (for metadata) and paragraphs (for commitments).
#[derive(Clone, Debug, Default)]
pub struct Document {
    /// Non-empty, trimmed lines in simplified characters, chrome removed.
    pub lines: Vec<String>,
    /// The same lines as written.
    pub original_lines: Vec<String>,
    /// Cells of page tables (`| 发布机构 | 某局 |`) as key/value pairs.
    pub table: Vec<(String, String)>,
    pub paragraphs: Vec<Paragraph>,
}

/// Characters that only traditional script uses and that virtually every traditional-script reply contains
/// (答復, 會議, 屆, 號, 建議, 關於, 將, 為, 們, 這, 對, 與 …), sorted for binary search. A document with none of them is read as simplified
/// script without converting it, which saves most of the conversion's cost.
const TRADITIONAL_MARKERS: &[char] = &[
    '來', '個', '們', '傳', '劃', '動', '務', '區', '員', '問', '國', '場', '學', '實', '將', '對', '屆', '後', '從',
    '復', '應', '於', '時', '會', '條', '業', '機', '為', '現', '產', '發', '經', '網', '縣', '繫', '聯', '與', '處',
    '號', '見', '設', '說', '議', '辦', '這', '進', '過', '達', '還', '長', '門', '開', '關', '電', '題', '體', '點',
];

/// Whether a text may be in traditional script and needs converting for matching.
pub fn may_be_traditional(text: &str) -> bool {
    text.chars().any(|c| c >= '\u{4E00}' && TRADITIONAL_MARKERS.binary_search(&c).is_ok())
}

/// Simplified characters for matching; falls back to the original if the conversion would shift offsets.
pub fn simplify(text: &str) -> String {
    let simple = fast2s::convert(text);
    if simple.chars().count() == text.chars().count() {
        simple
    } else {
        text.to_string()
    }
}

/// Pinyin that some mirrors of government sites print after every character (`答復(fù)`, `標(biāo) 題`): noise.
static PINYIN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(\p{Han})\s?\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)").expect("a valid built-in pattern")
});

fn clean(line: &str) -> String {
    let unpinyined;
    let line = if line.contains('(') && PINYIN.is_match(line) {
        unpinyined = PINYIN.replace_all(line, "$1").into_owned();
        unpinyined.as_str()
    } else {
        line
    };
    let line = line.trim_matches(|c: char| c.is_whitespace());
    if line.contains(['*', '\u{3000}', '\u{a0}']) {
        line.replace("**", "").replace(['\u{3000}', '\u{a0}'], " ").trim().to_string()
    } else {
        line.to_string()
    }
}

fn ends_sentence(line: &str) -> bool {
    let trimmed = line.trim_end_matches(['”', '’', '"', '」', '』', ')', '）', '】']);
    trimmed.ends_with(['。', '！', '？', '：', '；', '!', '?', ':', ';'])
        || trimmed.len() < line.len() && trimmed.ends_with('.')
}

fn is_heading(line: &str) -> bool {
    ITEM_START.is_match(line) && !line.contains('。') && line.chars().count() <= 50
}

/// Whether a line stands on its own: a heading, metadata, a date, a signature-like short line, or a closing.
fn stands_alone(line: &str) -> bool {
    is_heading(line) || METADATA.is_match(line) || DATE_LINE.is_match(line) || CLOSING.is_match(line)
}

/// Salutations (`某某委员：`, `市科委：`) and the opening sentence (`…收悉…答复如下`) start the body.
pub fn starts_body(line: &str) -> bool {
    line.contains("收悉") || line.contains("答复如下") || line.contains("函复如下") || line.contains("函告如下")
}

impl Document {
    pub fn new(text: &str) -> Document {
        let mut document = Document::default();
        let traditional = may_be_traditional(text);
        for raw in text.lines() {
            let line = clean(raw);
            if line.is_empty() {
                continue;
            }
            let simple = if traditional { simplify(&line) } else { line.clone() };
            if simple.matches('|').count() >= 2 {
                document.read_table(&simple, &line);
                // A page that holds the whole reply in a table cell (`问题答复: | 某某代表: 你提出的…|`): its long
                // cells are the text.
                // Not the cell that quotes the suggestion itself (`问题内容: | …`).
                let cells: Vec<(&str, &str)> = simple.split('|').zip(line.split('|')).collect();
                for (at, (simple_cell, cell)) in cells.iter().enumerate() {
                    let (simple_cell, cell) = (simple_cell.trim(), cell.trim());
                    let key = at.checked_sub(1).map_or("", |key| cells[key].0.trim());
                    let quotes_the_suggestion = key.contains("内容") && !key.contains("答复");
                    if simple_cell.chars().count() >= 60 && !quotes_the_suggestion && !CHROME.is_match(simple_cell) {
                        document.push_split_at_opening(simple_cell, cell);
                    }
                }
                continue;
            }
            if CHROME.is_match(&simple) {
                continue;
            }
            document.push_split_at_opening(&simple, &line);
        }
        let body_start = document.lines.iter().position(|line| starts_body(line)).map_or(0, |intro| {
            // The salutation, when there is one, stands just before the opening sentence.
            if intro > 0 && document.lines[intro - 1].chars().count() <= 40 {
                intro - 1
            } else {
                intro
            }
        });
        let mut offset = 0;
        let mut index = 0;
        while index < document.lines.len() {
            let mut text = document.original_lines[index].clone();
            let mut simple = document.lines[index].clone();
            let in_body = index > body_start;
            // A body line that does not end a sentence continues on the next line (a page break or a wrapped line).
            while in_body
                && index + 1 < document.lines.len()
                && !ends_sentence(&text)
                && !stands_alone(&document.lines[index])
                && (text.chars().count() >= 15 || text.ends_with(['，', '、', ',']))
                && !stands_alone(&document.lines[index + 1])
            {
                index += 1;
                text.push_str(&document.original_lines[index]);
                simple.push_str(&document.lines[index]);
            }
            let length = text.chars().count();
            document.paragraphs.push(Paragraph { text, simple, offset, in_body });
            offset += length + 1;
            index += 1;
        }
        document
    }

    /// Adds a line; a line that runs on past the opening formula (`…收悉，现答复如下: 我局将…`, as web pages flatten
    /// a reply) is split after it, so that the reply's body starts a line of its own.
    fn push_split_at_opening(&mut self, simple: &str, original: &str) {
        static OPENING: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"(?:答复|回复|函复)如下\s*[:：]\s*").expect("a valid built-in pattern")
        });
        if let Some(found) = OPENING.find(simple) {
            let rest = &simple[found.end()..];
            let same_length = simple.chars().count() == original.chars().count();
            if rest.chars().count() >= 10 && same_length {
                let at = simple[..found.end()].chars().count();
                let split = original.char_indices().nth(at).map_or(original.len(), |(byte, _)| byte);
                self.lines.push(simple[..found.end()].trim_end().to_string());
                self.original_lines.push(original[..split].trim_end().to_string());
                self.lines.push(rest.to_string());
                self.original_lines.push(original[split..].to_string());
                return;
            }
        }
        self.lines.push(simple.to_string());
        self.original_lines.push(original.to_string());
    }

    fn read_table(&mut self, simple: &str, original: &str) {
        let keys: Vec<&str> = simple.split('|').map(str::trim).collect();
        let values: Vec<&str> = original.split('|').map(str::trim).collect();
        for pair in 0..keys.len().saturating_sub(1) {
            if !keys[pair].is_empty() && !values[pair + 1].is_empty() && keys[pair].chars().count() <= 6 {
                self.table.push((keys[pair].to_string(), values[pair + 1].to_string()));
            }
        }
    }

    /// The normalised text that locators point into: paragraphs joined by line breaks.
    pub fn text(&self) -> String {
        self.paragraphs.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_breaks_inside_sentences_are_rejoined_but_headings_are_not() {
        let text = "张三委员：\n\n你提出的提案收悉，现答复如下：\n\n一、构建全链条体系，畅通转化通道\n\n\
                    区科委协同市场监管局等部门，着力破解科技成果转化的“链式\n\n联盟”难题。\n\n**二是上线“一件事”**。\n\n\
                    上海市某局\n\n2025年5月29日\n";
        let document = Document::new(text);
        let texts: Vec<&str> = document.paragraphs.iter().map(|p| p.text.as_str()).collect();
        assert!(texts.contains(&"区科委协同市场监管局等部门，着力破解科技成果转化的“链式联盟”难题。"), "{texts:?}");
        assert!(texts.contains(&"一、构建全链条体系，畅通转化通道"), "{texts:?}");
        assert!(texts.contains(&"二是上线“一件事”。"), "{texts:?}");
        assert!(texts.contains(&"上海市某局") && texts.contains(&"2025年5月29日"), "{texts:?}");
    }

    #[test]
    fn chrome_is_dropped_and_tables_are_read() {
        let text =
            "首页/ 专题专栏/ 正文\n索引号 | 123 | 发布机构 | 某县文化和旅游局 |\n正文第一行。\n版权所有:某县人民政府\n";
        let document = Document::new(text);
        assert_eq!(document.lines, vec!["正文第一行。"]);
        assert!(document.table.contains(&("发布机构".to_string(), "某县文化和旅游局".to_string())));
    }

    #[test]
    fn traditional_markers_are_sorted_and_found() {
        assert!(TRADITIONAL_MARKERS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(may_be_traditional("關於對市十屆人大二次會議第15號建議的答復"));
        assert!(!may_be_traditional("关于对市十届人大二次会议第15号建议的答复"));
    }

    #[test]
    fn traditional_text_gets_a_simplified_shadow_of_the_same_length() {
        let document = Document::new("下一步我們將從以下方面加強建設。");
        assert_eq!(document.paragraphs[0].simple, "下一步我们将从以下方面加强建设。");
        assert_eq!(document.paragraphs[0].text, "下一步我們將從以下方面加強建設。");
    }
}
