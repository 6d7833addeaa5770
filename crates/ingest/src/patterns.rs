//! The recurring shapes of reply documents, compiled once: numbering, dates, metadata labels, page chrome.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in pattern")
}

/// A numbered heading or item at the start of a line: `一、` `（一）` `(四)` `一是` `1.` `2、`.
pub static ITEM_START: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:[一二三四五六七八九十]{1,3}[、是]|[（(][一二三四五六七八九十]{1,3}[)）]|\d{1,2}\s*[.、．)）](?:\D|$))")
});

/// A top-level heading `一、…` (a short line without a full stop).
pub static TOP_HEADING: LazyLock<Regex> = LazyLock::new(|| re(r"^[一二三四五六七八九十]{1,3}、"));

/// A line that is only a date: `2025年5月29日`, `2025 年 10 月 5 日`, `2025-05-29`, or garbled digits (`202293`).
pub static DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{6,8}|[〇○零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日)$",
    )
});

/// A date inside a line.
pub static DATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|(\d{4})[-./](\d{1,2})[-./](\d{1,2})"));

/// Labels of the metadata lines around a reply (contact, copies, classification).
pub static METADATA: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[（(]?\s*(?:联\s*系\s*人|联系电话|联系地址|联系单位|邮政编码|抄\s*送|办理结果|公开属性|类\s*别|办复类别|答复类别|签\s*发\s*人|承办|附件|主送)",
    )
});

/// Page chrome copied with web pages: breadcrumbs, page tables, footers.
pub static CHROME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:首页\s*[/>＞»]|当前位置|您的位置|来源\s*[:：]|作者\s*[:：]|发布时间|浏览(?:量|次数)|字号|打印本页|关闭窗口|分享到)|版权所有|ICP备|网站标识码|公网安备|技术支持\s*[:：]|主办\s*[:：]|^[|\s]*$",
    )
});

/// Courtesy and procedure that close a reply: never commitments, and the end of a 下一步 section.
pub static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:最后[，,]?\s*)?(?:再次|衷心|非常|诚挚)?(?:感谢|谢谢)|^(?:恳请|敬请|欢迎|希望|请继续|特此|专此|以上意见|以上答复|此复函|此复|本复函|如有意见|对以上答复)",
    )
});
