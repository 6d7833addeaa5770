//! The reply's metadata, read from its lines per corpus.md: header, reference line, salutation, signature, contact
//! block and copies. Matching runs on simplified characters; values are quoted as written.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use crate::normalize::{starts_body, Document};
use crate::patterns::{DATE, DATE_LINE};
use crate::{ContactFields, Diagnostic, ReplyFields};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in pattern")
}

static DOC_NO: LazyLock<Regex> =
    LazyLock::new(|| re(r"[\p{Han}A-Za-z]{1,12}\s*[〔\[【(（]\s*\d{4}\s*[〕\]】)）]\s*第?\s*\d{1,5}\s*号"));
static NPC: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(省|市|区|县|州|旗)?第?([一二三四五六七八九十]{1,3})届(?:人大|人民代表大会)(?:常委会)?第?([一二三四五六七八九十]{1,3})次(?:会议)?",
    )
});
static CPPCC: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(省|市|区|县|州|旗)?政协(?:[\p{Han}]{1,8}?(省|市|区|县|州|旗))?(?:委员会)?第?([一二三四五六七八九十]{1,3})届(?:委员会)?第?([一二三四五六七八九十]{1,3})次(?:会议)?",
    )
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"第\s*([A-Za-z]{0,4}\d+(?:\s*[、,，]\s*\d+)*)\s*号"));
static ORGAN_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:局|委员会|委|政府|办公室|办|厅|院|中心|公司|会|处|部|所|站|馆|队|室|署|社|行|集团|[)）])$")
});
static SENTENCE_MARK: LazyLock<Regex> = LazyLock::new(|| re(r"[。，,！？!?：:；;]"));
static ROLE: LazyLock<Regex> = LazyLock::new(|| re(r"^(.+?)(?:等\d*[名位人]?)?(委员|代表)(?:们)?\s*[:：]?$"));
static PROPOSER_IN_BODY: LazyLock<Regex> =
    LazyLock::new(|| re(r"([\p{Han}·、]{2,40}?)(?:等\d*[名位人]?)?(代表|委员)(?:们)?(?:在[^，,。]{0,40})?提出的"));

/// Maps a byte range of `simple` onto the same characters of `original` (the two have equal character counts).
fn as_written(original: &str, simple: &str, start: usize, end: usize) -> String {
    let first = simple[..start].chars().count();
    let count = simple[start..end].chars().count();
    original.chars().skip(first).take(count).collect()
}

fn no_spaces(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn date_of(text: &str) -> Option<NaiveDate> {
    let captures = DATE.captures(text)?;
    let number = |a: usize, b: usize| captures.get(a).or_else(|| captures.get(b))?.as_str().parse::<u32>().ok();
    NaiveDate::from_ymd_opt(number(1, 4)? as i32, number(2, 5)?, number(3, 6)?)
}

fn organ_like(line: &str) -> bool {
    let length = line.chars().count();
    (2..=40).contains(&length)
        && !SENTENCE_MARK.is_match(line)
        && ORGAN_SUFFIX.is_match(line)
        && !DATE_LINE.is_match(line)
}

pub fn read(document: &Document, diagnostics: &mut Vec<Diagnostic>) -> ReplyFields {
    let lines = &document.lines;
    let original = &document.original_lines;
    let intro = lines.iter().position(|line| starts_body(line));
    let header_end = intro.unwrap_or(lines.len().min(12));
    let salutation = intro.and_then(|intro| intro.checked_sub(1)).filter(|&index| {
        let line = &lines[index];
        line.chars().count() <= 40 && (line.ends_with(['：', ':']) || ROLE.is_match(line))
    });
    let mut fields = ReplyFields::default();

    // Classification and disclosure lines.
    for (index, line) in lines.iter().enumerate() {
        if let Some(value) =
            line.split_once("办理结果").and_then(|(_, rest)| rest.trim_start().strip_prefix(['：', ':']))
        {
            fields.result.get_or_insert_with(|| no_spaces(&original[index][original[index].len() - value.len()..]));
        }
        if let Some((_, rest)) = line.split_once("公开属性") {
            if let Some(value) = rest.trim_start().strip_prefix(['：', ':']) {
                fields.disclosure = Some(no_spaces(value).replace(['・', '•', '‧'], "·"));
            }
        }
    }
    // A class in brackets (`办理结果:(C)`, `（B类）`) is the class.
    if let Some(result) = &fields.result {
        static BRACKETED: LazyLock<Regex> = LazyLock::new(|| re(r"^[(（\[【]\s*([A-Da-d]\s*类?)\s*[)）\]】]$"));
        if let Some(class) = BRACKETED.captures(result) {
            fields.result = Some(no_spaces(&class[1]));
        }
    }
    if fields.result.is_none() {
        static CLASS: LazyLock<Regex> =
            LazyLock::new(|| re(r"(?:办复类别|答复类别|办理类别|类\s*别)\s*[:：]\s*([A-Da-d]\s*类?)"));
        fields.result = lines
            .iter()
            .filter(|line| line.contains('类'))
            .find_map(|line| CLASS.captures(line).map(|c| no_spaces(&c[1])));
    }

    // Document number (and a class written right after it: `平交复函[2017]19号B类`).
    // Page chrome next to a bracketed year (`浏览量[2021]12号`, `点击数：`) is never a 文号.
    const CHROME_WORDS: [&str; 9] = ["浏览", "点击", "阅读", "访问", "发布", "时间", "日期", "来源", "字号"];
    let not_chrome = |found: &regex::Match| {
        let prefix = &found.as_str()[..found.as_str().find(['〔', '[', '【', '(', '（']).unwrap_or(0)];
        !CHROME_WORDS.iter().any(|word| prefix.contains(word))
    };
    for (index, line) in lines[..header_end].iter().enumerate() {
        if let Some(found) = DOC_NO.find_iter(line).find(|found| not_chrome(found)) {
            fields.doc_no = Some(no_spaces(&as_written(&original[index], line, found.start(), found.end())));
            let rest = line[found.end()..].trim();
            static TRAILING_CLASS: LazyLock<Regex> = LazyLock::new(|| re(r"^([A-Da-d]类?)(?:\s|$)"));
            if fields.result.is_none() {
                fields.result = TRAILING_CLASS.captures(rest).map(|c| c[1].to_string());
            }
            break;
        }
    }
    if fields.doc_no.is_none() {
        fields.doc_no = document.table.iter().find(|(key, _)| key == "文号").map(|(_, value)| value.clone());
    }

    // The proposal reference: in the header's title line or the opening sentence.
    let reference_lines: Vec<&String> = lines[..(header_end + 1).min(lines.len())].iter().collect();
    let reference_text = no_spaces(&reference_lines.iter().map(|l| l.as_str()).collect::<Vec<_>>().join("\n"));
    read_reference(&reference_text, &mut fields);

    // Document type: the header's own title, else the opening sentence.
    let header_joined = lines[..header_end].iter().map(|line| no_spaces(line)).collect::<Vec<_>>().join("\n");
    fields.doc_type = header_joined
        .lines()
        .flat_map(|line| {
            ["答复函", "复函", "会办意见", "协办意见", "答复"].into_iter().filter(move |kind| line.ends_with(kind))
        })
        .next()
        .map(String::from)
        .or_else(|| {
            let opening = intro.map(|i| lines[i].as_str()).unwrap_or_default();
            if opening.contains("会办意见") {
                Some("会办意见".into())
            } else if opening.contains("函复") {
                Some("复函".into())
            } else if opening.contains("答复") || lines.iter().any(|l| l.contains("专此答复") || l.contains("特此答复"))
            {
                Some("答复".into())
            } else {
                None
            }
        });

    // Salutation: proposers, or the lead organ a co-handler's opinion is addressed to.
    if let Some(index) = salutation {
        let line = lines[index].trim_end_matches(['：', ':']).trim();
        match ROLE.captures(line) {
            Some(captures) => {
                let names = as_written(
                    &original[index],
                    &lines[index],
                    captures.get(1).unwrap().start(),
                    captures.get(1).unwrap().end(),
                );
                fields.proposers = split_names(&names);
                fields.kind.get_or_insert_with(|| role_kind(&captures[2]));
            }
            None => {
                let written = original[index].trim_end_matches(['：', ':']).trim();
                fields.addressee = Some(no_spaces(written));
            }
        }
    }
    let opening_range = salutation.unwrap_or(header_end)..(header_end + 2).min(lines.len());
    if fields.proposers.is_empty() {
        for index in opening_range.clone() {
            if let Some(captures) = PROPOSER_IN_BODY.captures(&lines[index]) {
                let names = captures.get(1).unwrap();
                let written = as_written(&original[index], &lines[index], names.start(), names.end());
                let written = written.rsplit(['，', ',', '。', '：', ':']).next().unwrap_or_default().to_string();
                fields.proposers = split_names(&written);
                fields.kind.get_or_insert_with(|| role_kind(&captures[2]));
                break;
            }
        }
    }
    for index in opening_range {
        if let Some(title) = read_title(&original[index], &lines[index]) {
            fields.title = Some(title.trim().to_string());
            break;
        }
    }
    if fields.kind.is_none() {
        let opening = intro.map(|i| lines[i].as_str()).unwrap_or_default();
        fields.kind = if opening.contains("提案") {
            Some("提案".into())
        } else if opening.contains("建议") {
            Some("建议".into())
        } else {
            fields.assembly.as_deref().map(|a| if a.ends_with("政协") { "提案".into() } else { "建议".into() })
        };
    }

    // Signature: the date line near the end, and the organ above it.
    let signed =
        (0..lines.len()).rev().find(|&i| DATE_LINE.is_match(&no_spaces(&lines[i])) && !lines[i].contains("印发"));
    if let Some(index) = signed {
        fields.signed_on = date_of(&lines[index]);
        if fields.signed_on.is_none() {
            diagnostics.push(Diagnostic::new("bad_date", format!("签发日期“{}”无法识别", original[index])));
        }
        if let Some(above) = index.checked_sub(1).filter(|&above| organ_like(&lines[above])) {
            fields.organ = Some(no_spaces(&original[above]));
        }
    }
    if fields.organ.is_none() {
        fields.organ = header_organ(document, header_end);
    }
    if fields.organ.is_none() {
        fields.organ =
            document.table.iter().find(|(key, _)| key == "发布机构").map(|(_, value)| value.clone()).or_else(|| {
                // Page chrome and footers name the publishing organ: `发布机构：…`, `来源：…`, `联系单位：…`.
                lines.iter().enumerate().find_map(|(i, line)| {
                    let value = ["发布机构", "发文机关", "来源", "信息来源", "联系单位"]
                        .iter()
                        .find_map(|key| line.strip_prefix(key))?
                        .trim_start_matches([':', '：', ' '])
                        .trim();
                    organ_like(value).then(|| no_spaces(&original[i][original[i].len() - value.len()..]))
                })
            });
    }
    fields.printed_on = lines.iter().filter(|line| line.contains("印发")).find_map(|line| date_of(line));

    fields.contact = read_contact(lines, original);
    fields.cc = lines
        .iter()
        .enumerate()
        .find_map(|(index, line)| {
            static CC: LazyLock<Regex> = LazyLock::new(|| re(r"^抄\s*送\s*[:：]\s*(.+)$"));
            let found = CC.captures(line)?.get(1)?;
            Some(as_written(&original[index], line, found.start(), found.end()))
        })
        .map(|list| {
            list.trim_end_matches(['。', '.'])
                .split(['，', '、', ',', '；', ';'])
                .map(no_spaces)
                .filter(|name| !name.is_empty())
                .collect()
        })
        .unwrap_or_default();

    for (present, field) in [
        (fields.organ.is_some(), "答复单位"),
        (fields.doc_no.is_some(), "文号"),
        (fields.signed_on.is_some(), "签发日期"),
        (!fields.proposers.is_empty(), "提出人"),
        (fields.title.is_some(), "建议提案标题"),
        (fields.session.is_some(), "会议届次"),
    ] {
        if !present {
            diagnostics.push(Diagnostic::new("missing_field", format!("未找到{field}")));
        }
    }
    fields
}

fn role_kind(role: &str) -> String {
    if role == "委员" {
        "提案".into()
    } else {
        "建议".into()
    }
}

fn split_names(names: &str) -> Vec<String> {
    names
        .split(['、', '，', ','])
        .map(|name| no_spaces(name).trim_end_matches('等').to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

fn read_reference(text: &str, fields: &mut ReplyFields) {
    let (assembly, end) = if let Some(c) = CPPCC.captures(text) {
        let level = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        fields.session = Some(format!("{}届{}次会议", &c[3], &c[4]));
        (Some(format!("{level}政协")), c.get(0).unwrap().end())
    } else if let Some(c) = NPC.captures(text) {
        let whole = c.get(0).unwrap();
        let level = c.get(1).map(|m| m.as_str()).unwrap_or_else(|| {
            // `龙陵县第十七届…`: the level is the place name's last character.
            text[..whole.start()].chars().last().filter(|ch| "省市区县州旗".contains(*ch)).map_or("", |ch| {
                let at = text[..whole.start()].len() - ch.len_utf8();
                &text[at..whole.start()]
            })
        });
        fields.session = Some(format!("{}届{}次会议", &c[2], &c[3]));
        (Some(format!("{level}人大")), whole.end())
    } else {
        (None, 0)
    };
    fields.assembly = assembly;
    let after = &text[end..];
    // Without 第: a number right after the session, perhaps with its delegation's mark (`一次会议温36号建议`).
    static BARE_NUMBER: LazyLock<Regex> =
        LazyLock::new(|| re(r"^\s*(?:上)?\s*(\p{Han}{0,2}\d+)\s*号\s*(?:代表)?(?:建议|提案)"));
    let bare = (end > 0).then(|| BARE_NUMBER.captures(after)).flatten().filter(|c| !c[1].starts_with('第'));
    if let Some(c) = NUMBER.captures(after).or_else(|| NUMBER.captures(text)).or(bare) {
        let whole = c.get(0).unwrap();
        fields.number = Some(no_spaces(&c[1]).replace([',', '，'], "、"));
        let following = &text[text.len() - after.len()..];
        let following = following.get(following.find(whole.as_str()).map_or(0, |at| at + whole.len())..).unwrap_or("");
        if following.starts_with("提案") {
            fields.kind = Some("提案".into());
        } else if following.starts_with("建议") || following.starts_with("代表建议") {
            fields.kind = Some("建议".into());
        }
    }
}

/// The title after `提出的`: the quoted text, or up to `的提案` / `的建议` when it is not quoted.
fn read_title(original: &str, simple: &str) -> Option<String> {
    let at = simple.find("提出的")? + "提出的".len();
    let rest_simple = &simple[at..];
    let rest = as_written(original, simple, at, simple.len());
    let skip_about =
        if rest_simple.starts_with("关于") && rest_simple["关于".len()..].starts_with(['《', '“', '"', '「']) {
            2
        } else {
            0
        };
    // A number before the quoted title (`提出的第73号《…》`, `提出的温36号《…》`) is the reference, not the title.
    static NUMBERED: LazyLock<Regex> =
        LazyLock::new(|| re(r"^(?:第)?\p{Han}{0,2}\d+\s*号(?:代表)?(?:建议|提案)?\s*(?:[《“\x22「])"));
    let skip_about = match NUMBERED.find(rest_simple) {
        Some(found) if skip_about == 0 => rest_simple[..found.end()].chars().count() - 1,
        _ => skip_about,
    };
    let rest: String = rest.chars().skip(skip_about).collect();
    let rest_simple: String = rest_simple.chars().skip(skip_about).collect();
    let mut chars = rest.chars();
    let first = chars.next()?;
    let closing = match first {
        '《' => Some('》'),
        '“' => Some('”'),
        '"' => Some('"'),
        '「' => Some('」'),
        _ => None,
    };
    if let Some(closing) = closing {
        let inner: String = chars.take_while(|c| *c != closing).collect();
        return (!inner.is_empty()).then_some(inner);
    }
    let end = ["的提案", "的建议", "提案", "建议"].iter().filter_map(|marker| rest_simple.find(marker)).min()?;
    let count = rest_simple[..end].chars().count();
    let title: String = rest.chars().take(count).collect();
    (count > 0).then_some(title)
}

fn header_organ(document: &Document, header_end: usize) -> Option<String> {
    let lines = &document.lines[..header_end];
    let original = &document.original_lines[..header_end];
    if let Some(index) = lines.iter().position(|line| line.ends_with("文件") && line.chars().count() <= 40) {
        return Some(no_spaces(original[index].trim_end_matches("文件")));
    }
    let doc_no_line = lines.iter().position(|line| DOC_NO.is_match(line));
    let candidates = doc_no_line.and_then(|i| i.checked_sub(1)).into_iter().chain(0..lines.len());
    candidates
        .into_iter()
        .find(|&i| organ_like(&lines[i]) && !lines[i].contains("关于") && !lines[i].contains("第"))
        .map(|i| no_spaces(&original[i]))
}

fn read_contact(lines: &[String], original: &[String]) -> Option<ContactFields> {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        re(r"联\s*系\s*人(?:\s*姓\s*名|\s*及\s*(?:联\s*系\s*)?(?:电\s*话|方\s*式))?\s*[:：]\s*([^,，;；)）:：\d]+)")
    });
    static HANDLER: LazyLock<Regex> =
        LazyLock::new(|| re(r"承办人(?:及联系电话)?\s*[:：]\s*([\p{Han}·]{2,5})\s*([0-9][0-9\-─—–]{5,}[0-9])?"));
    static PHONE: LazyLock<Regex> =
        LazyLock::new(|| re(r"电\s*话[^:：]{0,3}[:：][^0-9]{0,30}?([0-9][0-9\-─—–()（）转]{4,}[0-9])"));
    static ADDRESS: LazyLock<Regex> = LazyLock::new(|| re(r"联系地址\s*[:：]\s*(.+?)\s*(?:邮政编码|邮编|$)"));
    static POSTCODE: LazyLock<Regex> = LazyLock::new(|| re(r"(?:邮政编码|邮编)\s*[:：]\s*(\d{6})"));
    let mut contact = ContactFields::default();
    let contact_like = |line: &str| ["联", "电话", "邮", "承办"].iter().any(|word| line.contains(word));
    for (index, line) in lines.iter().enumerate().filter(|(_, line)| contact_like(line)) {
        let written = |m: regex::Match| no_spaces(&as_written(&original[index], line, m.start(), m.end()));
        if contact.name.is_none() {
            // A name runs up to the next label on its line (`张 雷 联系电话:…`).
            contact.name = NAME
                .captures(line)
                .map(|c| written(c.get(1).unwrap()))
                .map(|name| {
                    let end = ["联系电话", "电话", "手机", "联系方式", "邮箱"]
                        .iter()
                        .filter_map(|label| name.find(label))
                        .min()
                        .unwrap_or(name.len());
                    name[..end].to_string()
                })
                .filter(|name| !name.is_empty());
        }
        if let Some(c) = HANDLER.captures(line) {
            contact.name.get_or_insert_with(|| written(c.get(1).unwrap()));
            if let Some(phone) = c.get(2) {
                contact.phone.get_or_insert_with(|| written(phone));
            }
        }
        if contact.phone.is_none() && !line.starts_with("承办负责人") {
            contact.phone = PHONE.captures(line).map(|c| written(c.get(1).unwrap()));
        }
        if contact.address.is_none() {
            contact.address = ADDRESS.captures(line).map(|c| written(c.get(1).unwrap())).filter(|a| !a.is_empty());
        }
        if contact.postcode.is_none() {
            contact.postcode = POSTCODE.captures(line).map(|c| c[1].to_string());
        }
    }
    (contact != ContactFields::default()).then_some(contact)
}
