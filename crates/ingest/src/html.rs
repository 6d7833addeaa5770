//! Web pages to text: tags, scripts and styles removed, block elements turned into line breaks, entities decoded.
//! Page chrome (breadcrumbs, 索引号 tables, footers) is removed later, line by line, for pages and text alike.

/// Elements whose content is never part of the document.
const SKIPPED: &[&str] = &["script", "style", "noscript", "template", "svg", "head", "nav", "button", "select"];

/// Elements that end a line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "ul",
    "ol",
    "dd",
    "dt",
    "blockquote",
    "pre",
    "hr",
    "title",
];

pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skipping: Option<String> = None;
    while let Some(open) = rest.find('<') {
        if skipping.is_none() {
            out.push_str(&rest[..open]);
        }
        rest = &rest[open..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(close) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match &skipping {
            Some(skipped) if closing && *skipped == name => skipping = None,
            Some(_) => {}
            None if !closing && SKIPPED.contains(&name.as_str()) && !tag.ends_with('/') => skipping = Some(name),
            None if BLOCKS.contains(&name.as_str()) => out.push('\n'),
            None if name == "td" || name == "th" => out.push_str(" | "),
            None => {}
        }
    }
    if skipping.is_none() {
        out.push_str(rest);
    }
    let decoded = html_escape::decode_html_entities(&out).replace('\u{a0}', " ");
    decoded.lines().map(str::trim).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_scripts_and_entities() {
        let html =
            "<html><head><title>x</title><script>var a = '<p>';</script></head><body><div>答复&nbsp;如下：</div>\
                    <p>下一步，我局将&ldquo;加快&rdquo;建设。<br>第二行</p><!-- 注释 <p>不要</p> --></body></html>";
        let text = to_text(html);
        assert!(text.contains("答复 如下："), "{text}");
        assert!(text.contains("我局将“加快”建设。\n第二行"), "{text}");
        assert!(!text.contains("var a") && !text.contains("不要") && !text.contains("<"), "{text}");
    }
}
