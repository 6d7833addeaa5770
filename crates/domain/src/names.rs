//! Matching organ names the way people type them: `--organ 文化旅游` finds `示範市文化旅遊局`, `--organ 区科委` finds
//! `上海市示范区科学技术委员会`. Both the query and the name are folded — traditional characters to simplified,
//! full-width letters, digits and brackets to half-width, spaces dropped — and every short form in the alias table
//! is written out in full (`科委` → `科学技术委员会`); the query then matches a name that contains it.
//!
//! The table holds the abbreviations organs use of themselves in replies and that staff type; an office adds its own
//! (`duban --aliases FILE`: one `简称=全称` per line). A short form is written out only where it stands as a word's
//! end or is followed by a character that cannot continue it, so `科委` in `科委员会` is left alone.

use std::collections::HashMap;

/// Short forms and what they stand for, as organs in China write them.
pub const BUILT_IN_ALIASES: &[(&str, &str)] = &[
    ("科委", "科学技术委员会"),
    ("科技局", "科学技术局"),
    ("科技厅", "科学技术厅"),
    ("发改委", "发展和改革委员会"),
    ("发改局", "发展和改革局"),
    ("经信委", "经济和信息化委员会"),
    ("经信局", "经济和信息化局"),
    ("工信局", "工业和信息化局"),
    ("工信厅", "工业和信息化厅"),
    ("教委", "教育委员会"),
    ("卫健委", "卫生健康委员会"),
    ("卫健局", "卫生健康局"),
    ("住建委", "住房和城乡建设委员会"),
    ("住建局", "住房和城乡建设局"),
    ("住建厅", "住房和城乡建设厅"),
    ("人社局", "人力资源和社会保障局"),
    ("人社厅", "人力资源和社会保障厅"),
    ("文旅局", "文化和旅游局"),
    ("文旅厅", "文化和旅游厅"),
    ("商务委", "商务委员会"),
    ("交通委", "交通委员会"),
    ("交通局", "交通运输局"),
    ("规资局", "规划和自然资源局"),
    ("市场监管局", "市场监督管理局"),
    ("农业农村委", "农业农村委员会"),
    ("国资委", "国有资产监督管理委员会"),
    ("应急局", "应急管理局"),
    ("医保局", "医疗保障局"),
    ("城管局", "城市管理局"),
    ("城管执法局", "城市管理行政执法局"),
    ("退役军人局", "退役军人事务局"),
    ("绿化市容局", "绿化和市容管理局"),
    ("房管局", "房屋管理局"),
    ("民宗委", "民族和宗教事务委员会"),
    ("民宗局", "民族宗教事务局"),
    ("侨办", "侨务办公室"),
    ("台办", "台湾事务办公室"),
    ("政府办", "人民政府办公室"),
    ("府办", "政府办公室"),
    ("数据局", "数据管理局"),
];

/// The alias table: built-in short forms and an office's own.
#[derive(Clone, Debug)]
pub struct Aliases {
    /// Short form (folded) → full form (folded), longest short forms first.
    pairs: Vec<(String, String)>,
}

impl Default for Aliases {
    fn default() -> Self {
        Aliases::with(&[])
    }
}

impl Aliases {
    /// The built-in table with `extra` pairs (short, full) added; an extra pair replaces a built-in one of the same
    /// short form.
    pub fn with(extra: &[(String, String)]) -> Aliases {
        let mut table: HashMap<String, String> =
            BUILT_IN_ALIASES.iter().map(|(short, full)| (fold(short), fold(full))).collect();
        for (short, full) in extra {
            table.insert(fold(short), fold(full));
        }
        let mut pairs: Vec<(String, String)> = table.into_iter().filter(|(short, full)| short != full).collect();
        pairs.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then_with(|| a.0.cmp(&b.0)));
        Aliases { pairs }
    }

    /// Reads `简称=全称` lines (also `简称 全称` or a tab between; `#` starts a comment). Returns the pairs, or the
    /// number and text of the first line that is not one.
    pub fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
        let mut pairs = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let parts: Vec<&str> =
                line.split(['=', '＝', '\t', ' ', '\u{3000}']).map(str::trim).filter(|part| !part.is_empty()).collect();
            match parts[..] {
                [short, full] => pairs.push((short.to_string(), full.to_string())),
                _ => return Err((number + 1, line.to_string())),
            }
        }
        Ok(pairs)
    }

    /// `text` folded, with every short form written out in full.
    pub fn expand(&self, text: &str) -> String {
        let mut text = fold(text);
        for (short, full) in &self.pairs {
            if !text.contains(short.as_str()) {
                continue;
            }
            let mut out = String::with_capacity(text.len() + full.len());
            let mut rest = text.as_str();
            while let Some(at) = rest.find(short.as_str()) {
                let after = &rest[at + short.len()..];
                out.push_str(&rest[..at]);
                // `科委员会` is not `科委` + `员会`: a short form followed by what would continue a longer word stays.
                if after.starts_with(['员', '会']) {
                    out.push_str(short);
                } else {
                    out.push_str(full);
                }
                rest = after;
            }
            out.push_str(rest);
            text = out;
        }
        text
    }
}

/// Folds a name for matching: simplified characters, half-width letters, digits and punctuation, no spaces.
pub fn fold(text: &str) -> String {
    let simple = fast2s::convert(text);
    simple
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '〔' | '【' => '[',
            '〕' | '】' => ']',
            _ => c,
        })
        .collect()
}

/// What someone typed to find an organ, ready to test names against.
#[derive(Clone, Debug)]
pub struct OrganQuery {
    typed: String,
    expanded: String,
    aliases: Aliases,
}

impl OrganQuery {
    pub fn new(typed: &str, aliases: &Aliases) -> OrganQuery {
        OrganQuery { typed: typed.trim().to_string(), expanded: aliases.expand(typed), aliases: aliases.clone() }
    }

    /// As typed.
    pub fn typed(&self) -> &str {
        &self.typed
    }

    /// Whether `name` is the organ asked for: it contains the query, both folded and written out.
    pub fn matches(&self, name: &str) -> bool {
        if self.expanded.is_empty() {
            return true;
        }
        if name.contains(self.typed.as_str()) {
            return true;
        }
        // Names repeat across thousands of rows (a few dozen organs): folded once per thread.
        thread_local! {
            static FOLDED: std::cell::RefCell<HashMap<String, String>> = std::cell::RefCell::new(HashMap::new());
        }
        FOLDED.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() > 4096 {
                cache.clear();
            }
            if let Some(expanded) = cache.get(name) {
                return expanded.contains(self.expanded.as_str());
            }
            let expanded = self.aliases.expand(name);
            let found = expanded.contains(self.expanded.as_str());
            cache.insert(name.to_string(), expanded);
            found
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(typed: &str, name: &str) -> bool {
        OrganQuery::new(typed, &Aliases::default()).matches(name)
    }

    #[test]
    fn traditional_and_full_width_names_are_found_as_typed() {
        assert!(finds("文化旅游", "示範市文化旅遊局"));
        assert!(finds("示范市文化旅游局", "示範市文化旅遊局"));
        assert!(finds("示教〔2025〕", "示教[2025]"));
        assert!(finds("ＡＢ局", "AB局"));
        assert!(finds("科学 技术", "上海市示范区科学技术委员会"));
        assert!(!finds("教育局", "示範市文化旅遊局"));
    }

    #[test]
    fn short_forms_are_written_out_on_both_sides() {
        assert!(finds("区科委", "上海市示范区科学技术委员会"));
        assert!(finds("示范区科学技术委员会", "示范区科委"));
        assert!(finds("发改委", "某县发展和改革委员会"));
        assert!(finds("文旅局", "示範市文化和旅遊局"));
        assert!(!finds("区科委", "上海市示范区教育局"));
        // A short form inside a longer word is not written out.
        assert_eq!(Aliases::default().expand("科委员会"), "科委员会");
    }

    #[test]
    fn an_office_adds_its_own_short_forms() {
        let extra =
            Aliases::parse("# 本区简称\n区科委=上海市示范区科学技术委员会\n示范财政 上海市示范区财政局\n").unwrap();
        assert_eq!(extra.len(), 2);
        let aliases = Aliases::with(&extra);
        assert!(OrganQuery::new("示范财政", &aliases).matches("上海市示范区财政局"));
        assert_eq!(Aliases::parse("区科委\n").unwrap_err(), (1, "区科委".to_string()));
    }
}
