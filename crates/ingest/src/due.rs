//! Due-date hints: the time phrase in a promise (`年底前`, `2026年6月底前`, `三年内`, `明年上半年`, `“十四五”期间`,
//! `2025—2027年`) → the last day it allows, with the phrase kept. Relative phrases are resolved against the reply's
//! signing date. The earliest phrase in the text wins; words that name no time (`下一步`, `逐步`, `适时`, `尽快`) give
//! nothing, and the promise is then followed up against the policy's default due date (`Policy::default_due_years`).
//!
//! Phrases about the past or a starting point are not due dates: a year followed by 起, 以来, 来, 相比, 累计 or 度报告
//! (`自2016年起`, `2020年以来`), and a full date that is not marked as a deadline (`2021年4月13日` is when something
//! happened; `2026年3月31日前` is a deadline).

use std::sync::LazyLock;

use chrono::{Datelike, Months, NaiveDate};
use regex::Regex;

/// A plan period: `十四五` (2021–2025) ends in 2025, `十五五` in 2030.
static PLAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[“\x22]?十([一二三四五六七])五[”\x22]?(?:规划)?(?:期间|时期|末|内)?")
        .expect("a valid built-in pattern")
});
/// A span of years: `2025—2027年`, `2023-2025年`, `(2016—2018年)`.
static SPAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d{4})\s*[-—–~～至到]\s*(\d{4})\s*年").expect("a valid built-in pattern"));
/// A year with a period, a month or a day: `2026年6月底前`, `2021年底`, `2026年上半年`, `2026年第一季度`,
/// `2026年3月31日前`, `2026年6月`, `2030年前`, `2026年内`, or the year alone.
static ABSOLUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(\d{4})\s*年\s*(?:",
        r"(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日\s*(前|之前|以前)?|(底|末|份)?\s*(?:前|之前|以前)?)",
        r"|(年底|年末|底|末|年内|内|上半年|下半年|年初|初|年中|第?[一二三四1-4]季度|[春秋]季学期|[春夏秋冬]季)\s*(?:前|之前|以前)?",
        r"|(前|之前|以前)",
        r"|(起|以来|来|相比|累计|度|以后)?",
        r")",
    ))
    .expect("a valid built-in pattern")
});
/// A year named relative to the signing date, with a period: `年底前`, `今年内`, `明年上半年`, `第三季度`, `年中`.
static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(今年|本年度?|当年|明年|下一?年度?|次年)?\s*(年底|年末|年内|年度内|上半年|下半年|年初|年中|底|内|第?([一二三四])季度|[春秋]季学期|[春夏秋冬]季)(?:前|之前|以前)?",
    )
    .expect("a valid built-in pattern")
});
/// A year alone, relative: `今年将…`, `明年完成`.
static YEAR_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(今年|本年度|明年|下一年度|次年)").expect("a valid built-in pattern"));
/// A number of years: `三年内`, `两年之内`, `今后三年`, `未来五年`, `用3年时间`.
static YEARS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(今后|未来|在|用)?\s*([一二两三四五六七八九十\d]{1,2})\s*年\s*(内|之内|时间|以内)?(来)?")
        .expect("a valid built-in pattern")
});
/// A month without a year: `6月底前`, `9月份`, `月底前` (this month).
static MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d{1,2}|本)?\s*月\s*(底|末|份)\s*(?:前|之前|以前)?|(\d{1,2})\s*月\s*(?:前|之前|以前)")
        .expect("a valid built-in pattern")
});
/// Soon: `近期`, `短期内` — six months.
static SOON: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"近期|短期内|近日").expect("a valid built-in pattern"));

fn last_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)?.checked_add_months(Months::new(1))?.pred_opt()
}

fn quarter(text: &str) -> Option<u32> {
    match text.trim_start_matches('第').trim_end_matches("季度") {
        "一" | "1" => Some(3),
        "二" | "2" => Some(6),
        "三" | "3" => Some(9),
        "四" | "4" => Some(12),
        _ => None,
    }
}

fn count(text: &str) -> Option<u32> {
    text.parse().ok().or_else(|| match text {
        "两" => Some(2),
        "十" => Some(10),
        _ => "一二三四五六七八九".chars().position(|c| text == c.to_string()).map(|i| i as u32 + 1),
    })
}

/// The last day of `period` in `year`.
fn period_end(year: i32, period: &str) -> Option<NaiveDate> {
    match period {
        "年底" | "年末" | "底" | "末" | "年内" | "内" | "年度内" | "下半年" => {
            NaiveDate::from_ymd_opt(year, 12, 31)
        }
        "上半年" | "年中" => NaiveDate::from_ymd_opt(year, 6, 30),
        "年初" | "初" => NaiveDate::from_ymd_opt(year, 3, 31),
        // A school term starts then (`2025年秋季学期起推行`): followed up at the end of its first month.
        "春季学期" => NaiveDate::from_ymd_opt(year, 3, 31),
        "秋季学期" => NaiveDate::from_ymd_opt(year, 9, 30),
        "春季" => NaiveDate::from_ymd_opt(year, 5, 31),
        "夏季" => NaiveDate::from_ymd_opt(year, 8, 31),
        "秋季" => NaiveDate::from_ymd_opt(year, 11, 30),
        "冬季" => NaiveDate::from_ymd_opt(year, 12, 31),
        quarterly => last_of_month(year, quarter(quarterly)?),
    }
}

/// One candidate: where it starts in the text, the date, the phrase.
type Found = (usize, NaiveDate, String);

fn plan(text: &str) -> Option<Found> {
    let c = PLAN.captures(text)?;
    let ordinal = "一二三四五六七".chars().position(|d| c[1].starts_with(d))? as i32 + 1;
    // 十一五 is 2006–2010: each plan ends in 2010 + 5 × (n − 11).
    let year = 2010 + 5 * (ordinal - 1);
    Some((c.get(0)?.start(), NaiveDate::from_ymd_opt(year, 12, 31)?, c[0].to_string()))
}

fn span(text: &str) -> Option<Found> {
    let c = SPAN.captures(text)?;
    let (from, to): (i32, i32) = (c[1].parse().ok()?, c[2].parse().ok()?);
    (to >= from && to - from <= 30).then_some(())?;
    Some((c.get(0)?.start(), NaiveDate::from_ymd_opt(to, 12, 31)?, c[0].to_string()))
}

fn absolute(text: &str) -> Option<Found> {
    for c in ABSOLUTE.captures_iter(text) {
        let whole = c.get(0)?;
        // Not part of a longer number (`12025年`), and not a span's first year (handled by `span`).
        if text[..whole.start()].ends_with(|ch: char| ch.is_ascii_digit()) {
            continue;
        }
        let Ok(year) = c[1].parse::<i32>() else { continue };
        if !(1990..=2100).contains(&year) {
            continue;
        }
        let date = if let Some(month) = c.get(2) {
            let Ok(month) = month.as_str().parse::<u32>() else { continue };
            match (c.get(3), c.get(4)) {
                // A day with 前: a deadline. A day without: when something happened or was signed.
                (Some(day), Some(_)) => {
                    day.as_str().parse().ok().and_then(|day| NaiveDate::from_ymd_opt(year, month, day))
                }
                (Some(_), None) => continue,
                _ => last_of_month(year, month),
            }
        } else if let Some(period) = c.get(6) {
            period_end(year, period.as_str())
        } else if c.get(7).is_some() {
            // `2030年前`: by the end of 2030, as such phrases are meant.
            NaiveDate::from_ymd_opt(year, 12, 31)
        } else if c.get(8).is_some() {
            // `2016年起`, `2020年以来`, `2020年度`: a start, the past, or a year named as a label.
            continue;
        } else {
            NaiveDate::from_ymd_opt(year, 12, 31)
        };
        if let Some(date) = date {
            return Some((whole.start(), date, whole.as_str().trim().to_string()));
        }
    }
    None
}

fn relative(text: &str, signed_on: NaiveDate) -> Option<Found> {
    let mut found: Vec<Found> = Vec::new();
    for c in RELATIVE.captures_iter(text) {
        let whole = c.get(0)?;
        // `2026年底` is absolute (`absolute` reads it); only a year word or nothing may stand before the period.
        if c.get(1).is_none()
            && text[..whole.start()].trim_end().ends_with(['年', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
        {
            continue;
        }
        let period = &c[2];
        // A bare `底` or `年中` needs a year word (`明年底`), else it is some other word's character (`到底`).
        if c.get(1).is_none() && matches!(period, "底" | "内") {
            continue;
        }
        let next = c
            .get(1)
            .is_some_and(|word| matches!(word.as_str(), "明年" | "下年" | "下年度" | "下一年" | "下一年度" | "次年"));
        let mut year = signed_on.year() + i32::from(next);
        let Some(mut date) = period_end(year, period) else { continue };
        // `年初` or `第一季度` of the signing year already past when the reply was signed means next year's.
        if c.get(1).is_none() && date < signed_on {
            year += 1;
            date = period_end(year, period)?;
        }
        found.push((whole.start(), date, whole.as_str().to_string()));
        break;
    }
    if let Some(c) = YEARS.captures_iter(text).find(|c| c.get(1).is_some() || c.get(3).is_some()) {
        // `近两年来`, `三年来`: the past.
        if c.get(4).is_none() {
            let whole = c.get(0)?;
            let years = count(&c[2])?;
            if (1..=10).contains(&years) {
                let date = signed_on.checked_add_months(Months::new(years * 12))?;
                found.push((whole.start(), date, whole.as_str().trim().to_string()));
            }
        }
    }
    if let Some(c) = MONTH.captures(text) {
        let whole = c.get(0)?;
        let digits_before = text[..whole.start()].ends_with(|ch: char| ch.is_ascii_digit() || ch == '年');
        if !digits_before {
            let month = match c.get(1).or(c.get(3)).map(|m| m.as_str()) {
                None | Some("本") => Some(signed_on.month()),
                Some(digits) => digits.parse().ok(),
            };
            if let Some(month) = month.filter(|month| (1..=12).contains(month)) {
                let mut date = last_of_month(signed_on.year(), month)?;
                if date < signed_on {
                    date = last_of_month(signed_on.year() + 1, month)?;
                }
                found.push((whole.start(), date, whole.as_str().to_string()));
            }
        }
    }
    if let Some(m) = YEAR_WORD.find(text) {
        let next = m.as_str() != "今年" && m.as_str() != "本年度";
        let date = NaiveDate::from_ymd_opt(signed_on.year() + i32::from(next), 12, 31)?;
        found.push((m.start(), date, m.as_str().to_string()));
    }
    if let Some(m) = SOON.find(text) {
        found.push((m.start(), signed_on.checked_add_months(Months::new(6))?, m.as_str().to_string()));
    }
    found.into_iter().min_by_key(|(at, _, phrase)| (*at, std::cmp::Reverse(phrase.len())))
}

/// The first due-date phrase in `text`, resolved against the reply's signing date where it is relative.
pub fn hint(text: &str, signed_on: Option<NaiveDate>) -> Option<(NaiveDate, String)> {
    let mut found: Vec<Found> = [plan(text), span(text), absolute(text)].into_iter().flatten().collect();
    if let Some(signed_on) = signed_on {
        found.extend(relative(text, signed_on));
    }
    // The earliest phrase; at the same place, the longest (`2026年6月底前` over `2026年`).
    found
        .into_iter()
        .min_by_key(|(at, _, phrase)| (*at, std::cmp::Reverse(phrase.len())))
        .map(|(_, date, phrase)| (date, phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real time phrases, as written in replies (the corpus's, `../shared`, and the bundled samples'), with the date
    /// each resolves to for a reply signed on 2025-05-29; `None` where the promise names no time.
    const PHRASES: &[(&str, Option<(&str, &str)>)] = &[
        ("年底前建成平台", Some(("2025-12-31", "年底前"))),
        ("力争2026年6月底前完成", Some(("2026-06-30", "2026年6月底前"))),
        ("计划2021年底完成施工", Some(("2021-12-31", "2021年底"))),
        ("争取在三年内完成11个重点菜市场", Some(("2028-05-29", "在三年内"))),
        ("第三季度上线", Some(("2025-09-30", "第三季度"))),
        ("明年上半年出台办法", Some(("2026-06-30", "明年上半年"))),
        ("2026年第一季度启动", Some(("2026-03-31", "2026年第一季度"))),
        ("预计年底该段公路可完工", Some(("2025-12-31", "年底"))),
        ("预计2019年完工", Some(("2019-12-31", "2019年"))),
        ("将该段道路上报为2024年破损路改造项目", Some(("2024-12-31", "2024年"))),
        ("“十四五”期间,我厅将继续推进", Some(("2025-12-31", "“十四五”期间"))),
        ("纳入十五五规划统筹推进", Some(("2030-12-31", "十五五规划"))),
        ("龙陵县推进全域旅游三年(2016—2018年)行动计划", Some(("2018-12-31", "2016—2018年"))),
        ("2025-2027年新增完成390个行政村", Some(("2027-12-31", "2025-2027年"))),
        ("近期采取湿法作业", Some(("2025-11-29", "近期"))),
        ("年内完成课后服务质量评估", Some(("2025-12-31", "年内"))),
        ("拟于2026年上半年出台课后服务经费保障办法", Some(("2026-06-30", "2026年上半年"))),
        ("拟于2026年底前建成课后服务管理平台", Some(("2026-12-31", "2026年底前"))),
        ("今年内完成全部改造", Some(("2025-12-31", "今年内"))),
        ("明年底前全面建成", Some(("2026-12-31", "明年底前"))),
        ("下半年启动第二批试点", Some(("2025-12-31", "下半年"))),
        ("6月底前完成招标", Some(("2025-06-30", "6月底前"))),
        ("3月底前印发实施细则", Some(("2026-03-31", "3月底前"))),
        ("月底前报送方案", Some(("2025-05-31", "月底前"))),
        ("两年之内实现全覆盖", Some(("2027-05-29", "两年之内"))),
        ("今后三年每年新增5家", Some(("2028-05-29", "今后三年"))),
        ("到2027年建成10个示范点", Some(("2027-12-31", "2027年"))),
        ("2030年前实现碳达峰", Some(("2030-12-31", "2030年前"))),
        ("于2026年3月31日前完成验收", Some(("2026-03-31", "2026年3月31日前"))),
        ("2026年6月完成设备采购", Some(("2026-06-30", "2026年6月"))),
        ("明年将继续加大投入", Some(("2026-12-31", "明年"))),
        ("年初召开推进会", Some(("2026-03-31", "年初"))),
        ("第四季度开展评估", Some(("2025-12-31", "第四季度"))),
        ("2026年内完成立法调研", Some(("2026-12-31", "2026年内"))),
        ("2025年秋季学期起在全区小学全面推行课后延时服务", Some(("2025-09-30", "2025年秋季学期"))),
        ("今年秋季完成主体工程", Some(("2025-11-30", "今年秋季"))),
        ("下一步,我局将督促恒口镇加快推进", None),
        ("并按要求依据程序逐步实施", None),
        ("适时优化调整公共交通线路", None),
        ("尽快完善配套设施", None),
        ("自 2016 年起连续举办", None),
        ("2013年以来累计投入", None),
        ("近两年来成效明显", None),
        ("已于2021年4月13日印发", None),
        ("转化 2020 年度报告", None),
    ];

    #[test]
    fn real_phrases_resolve_to_the_dates_they_allow() {
        let signed = NaiveDate::from_ymd_opt(2025, 5, 29);
        assert!(PHRASES.len() >= 40);
        for (text, expected) in PHRASES {
            let got = hint(text, signed).map(|(date, phrase)| (date.to_string(), phrase));
            assert_eq!(got, expected.map(|(d, p)| (d.to_string(), p.to_string())), "{text}");
        }
    }

    #[test]
    fn relative_phrases_need_the_signing_date() {
        assert_eq!(hint("年底前建成平台", None), None);
        assert_eq!(hint("力争2026年6月底前完成", None).map(|(d, _)| d.to_string()), Some("2026-06-30".into()));
    }
}
