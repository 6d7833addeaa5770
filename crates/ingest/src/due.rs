//! Due-date hints: `年底前`, `2026年6月底前`, `三年内`, `第三季度` → a date, with the phrase kept.

use std::sync::LazyLock;

use chrono::{Datelike, Months, NaiveDate};
use regex::Regex;

static ABSOLUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(\d{4})\s*年\s*(?:(\d{1,2})\s*月\s*(?:底|末)|(年底|底|年内|内|上半年|下半年|第?([一二三四1-4])季度))前?",
    )
    .expect("a valid built-in pattern")
});
static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(今年|本年度?|明年)?(年底前|年底|年内|上半年|下半年|第?([一二三四])季度)|([一二两三四五六七八九十\d]{1,2})年内")
        .expect("a valid built-in pattern")
});

fn last_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)?.checked_add_months(Months::new(1))?.pred_opt()
}

fn quarter(text: &str) -> Option<u32> {
    match text {
        "一" | "1" => Some(3),
        "二" | "2" => Some(6),
        "三" | "3" => Some(9),
        "四" | "4" => Some(12),
        _ => None,
    }
}

fn count(text: &str) -> Option<u32> {
    text.parse().ok().or_else(|| {
        "一二三四五六七八九十"
            .chars()
            .position(|c| text == c.to_string())
            .map(|i| i as u32 + 1)
            .or((text == "两").then_some(2))
    })
}

fn period_end(year: i32, period: &str, quarter_digit: Option<&str>) -> Option<NaiveDate> {
    match period {
        "年底" | "底" | "年内" | "内" | "年底前" | "下半年" => NaiveDate::from_ymd_opt(year, 12, 31),
        "上半年" => NaiveDate::from_ymd_opt(year, 6, 30),
        _ => last_of_month(year, quarter(quarter_digit?)?),
    }
}

/// The first due-date phrase in `text`, resolved against the reply's signing date where it is relative.
pub fn hint(text: &str, signed_on: Option<NaiveDate>) -> Option<(NaiveDate, String)> {
    if let Some(c) = ABSOLUTE.captures(text) {
        let year: i32 = c[1].parse().ok()?;
        let date = match (c.get(2), c.get(3)) {
            (Some(month), _) => last_of_month(year, month.as_str().parse().ok()?),
            (None, Some(period)) => period_end(year, period.as_str(), c.get(4).map(|m| m.as_str())),
            _ => None,
        };
        if let Some(date) = date {
            return Some((date, c[0].to_string()));
        }
    }
    let signed_on = signed_on?;
    let c = RELATIVE.captures(text)?;
    if let Some(years) = c.get(4) {
        let date = signed_on.checked_add_months(Months::new(count(years.as_str())? * 12))?;
        return Some((date, c[0].to_string()));
    }
    let year = signed_on.year() + i32::from(c.get(1).is_some_and(|m| m.as_str() == "明年"));
    let date = period_end(year, &c[2], c.get(3).map(|m| m.as_str()))?;
    Some((date, c[0].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<(&str, &str)>) {
        let signed = NaiveDate::from_ymd_opt(2025, 5, 29);
        let got = hint(text, signed).map(|(date, phrase)| (date.to_string(), phrase));
        assert_eq!(got, expected.map(|(d, p)| (d.to_string(), p.to_string())), "{text}");
    }

    #[test]
    fn phrases_resolve_to_dates() {
        check("年底前建成平台", Some(("2025-12-31", "年底前")));
        check("力争2026年6月底前完成", Some(("2026-06-30", "2026年6月底前")));
        check("计划2021年底完成施工", Some(("2021-12-31", "2021年底")));
        check("争取在三年内完成11个重点菜市场", Some(("2028-05-29", "三年内")));
        check("第三季度上线", Some(("2025-09-30", "第三季度")));
        check("明年上半年出台办法", Some(("2026-06-30", "明年上半年")));
        check("2026年第一季度启动", Some(("2026-03-31", "2026年第一季度")));
        check("持续推进", None);
    }
}
