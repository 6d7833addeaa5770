//! `duban parse`: read one reply document and print what would be recorded; writes nothing.

use std::path::PathBuf;

use crate::output::{date_or_dash, table};
use crate::toolkit::Ctx;

/// 解析一份答复文件（文本、网页或 Word），显示将要登记的答复信息和承诺事项；不写入任何内容
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 答复文件（.txt、.html、.docx；编码自动识别）
    pub file: PathBuf,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let parsed = duban_app::read_document(&args.file)?;
    if ctx.json {
        return ctx.print_json(&parsed);
    }
    let reply = &parsed.reply;
    let none = || "—".to_string();
    let mut fields = table(&["字段", "内容"]);
    let contact = reply.contact.as_ref().map(|c| {
        [c.name.as_deref(), c.phone.as_deref(), c.address.as_deref(), c.postcode.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    });
    for (label, value) in [
        ("文种", reply.doc_type.clone()),
        ("答复单位", reply.organ.clone()),
        ("文号", reply.doc_no.clone()),
        ("会议", reply.assembly.clone().map(|a| format!("{a} {}", reply.session.clone().unwrap_or_default()))),
        ("编号", reply.number.clone().map(|n| format!("第{n}号{}", reply.kind.clone().unwrap_or_default()))),
        ("提出人", Some(reply.proposers.join("、")).filter(|s| !s.is_empty())),
        ("主送", reply.addressee.clone()),
        ("标题", reply.title.clone()),
        ("办理结果", reply.result.clone()),
        ("公开属性", reply.disclosure.clone()),
        ("签发日期", reply.signed_on.map(|d| d.to_string())),
        ("印发日期", reply.printed_on.map(|d| d.to_string())),
        ("联系人", contact),
        ("抄送", Some(reply.cc.join("、")).filter(|s| !s.is_empty())),
    ] {
        fields.add_row(vec![label.to_string(), value.unwrap_or_else(none)]);
    }
    writeln!(ctx.out, "{fields}\n")?;
    let mut promises = table(&["#", "位置", "期限", "承诺内容"]);
    for (index, commitment) in parsed.commitments.iter().enumerate() {
        let section = if commitment.section == "next_steps" { "下一步" } else { "正文" };
        promises.add_row(vec![
            (index + 1).to_string(),
            section.to_string(),
            date_or_dash(commitment.due),
            crate::output::wrap(&commitment.text, 70),
        ]);
    }
    writeln!(ctx.out, "承诺事项 {} 项：\n{promises}", parsed.commitments.len())?;
    for diagnostic in &parsed.diagnostics {
        writeln!(ctx.out, "提示：{}", diagnostic.message)?;
    }
    Ok(())
}
