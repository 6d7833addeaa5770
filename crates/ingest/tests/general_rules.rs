//! The reading rules for what web-published replies look like, each on a document written for the test (the real
//! ones that showed the need stay in `../shared`): pinyin noise from mirror sites, a reply held in a table cell,
//! labels run together on a contact line, a class in brackets, a numbered reference before a quoted title, a
//! delegation's number, the publishing organ in page chrome.

fn parse(text: &str) -> duban_ingest::Parsed {
    duban_ingest::parse(text.as_bytes(), "test.txt").unwrap()
}

#[test]
fn pinyin_printed_after_each_character_is_noise() {
    let parsed = parse(
        "關(guān)于縣十七屆人大二次會(huì)議第12號(hào)建議的答復(fù)\n張三代表:\n你提出的《關(guān)于修路的建議》收悉,現(xiàn)答復(fù)如下:\n\
         我局將(jiāng)于明年完成該路段改造。\n示范縣交通運(yùn)輸局\n2019年5月6日\n",
    );
    assert_eq!(parsed.reply.number.as_deref(), Some("12"));
    assert_eq!(parsed.reply.session.as_deref(), Some("十七届二次会议"));
    assert!(parsed.commitments.iter().any(|c| c.text.contains("改造")), "{:?}", parsed.commitments);
    assert!(parsed.commitments.iter().all(|c| !c.text.contains('(')), "{:?}", parsed.commitments);
}

#[test]
fn a_reply_held_in_a_table_cell_is_read_but_not_the_suggestion_it_quotes() {
    let parsed = parse(
        "标题: | 关于修建便民桥的建议 |\n\
         问题内容: | 内容: 村民过河不便，建议有关部门在河上修建便民桥，以免日后带来不便，也方便学生上下学和村民耕作往来。 |\n\
         问题答复: | 李四代表: 你提出的区十五届人大六次会议第34号建议已收悉，现答复如下: 我办正在加快便民桥的设计工作，计划年内开工建设，建成后村民出行不便的问题将得到解决。 |\n",
    );
    assert_eq!(parsed.reply.number.as_deref(), Some("34"));
    assert!(parsed.commitments.iter().any(|c| c.text.contains("便民桥的设计")), "{:?}", parsed.commitments);
    assert!(parsed.commitments.iter().all(|c| !c.text.contains("以免日后")), "the suggestion is not a promise");
}

#[test]
fn fields_read_from_web_page_habits() {
    let parsed = parse(
        "办理结果:(B)\n关于省十三届人大一次会议温36号建议的答复\n王五代表:\n\
         您在省十三届人大一次会议上提出的温36号《关于打通南北旅游通道的建议》收悉。现答复如下:\n\
         下一步，我厅将积极争取将该通道纳入规划。\n联系单位:示范省交通运输厅\n联 系 人:赵 六 联系电话:0571-80000000\n",
    );
    assert_eq!(parsed.reply.result.as_deref(), Some("B"));
    assert_eq!(parsed.reply.number.as_deref(), Some("温36"));
    assert_eq!(parsed.reply.title.as_deref(), Some("关于打通南北旅游通道的建议"));
    let contact = parsed.reply.contact.as_ref().unwrap();
    assert_eq!((contact.name.as_deref(), contact.phone.as_deref()), (Some("赵六"), Some("0571-80000000")));
    assert_eq!(parsed.reply.organ.as_deref(), Some("示范省交通运输厅"));
}

#[test]
fn the_publishing_organ_in_page_chrome() {
    let parsed = parse(
        "发布机构：示范县住房和城乡建设局\n关于县十八届人大三次会议第45号建议的答复\n王强代表：\n\
         您提出的建议收悉。现答复如下：\n下一步，我局将于2026年底前完成改造。\n",
    );
    assert_eq!(parsed.reply.organ.as_deref(), Some("示范县住房和城乡建设局"));
}

#[test]
fn page_chrome_beside_a_bracketed_year_is_never_a_document_number() {
    let parsed = parse(
        "关于县十八届人大三次会议第45号建议的答复\n浏览量[2021]12号 发布时间：2021-03-01\n王强代表：\n\
         您提出的建议收悉。现答复如下：\n下一步，我局将于2026年底前完成改造。\n示范县住房和城乡建设局\n2021年3月1日\n",
    );
    assert_eq!(parsed.reply.doc_no, None);
    let numbered =
        parse("示住建复〔2021〕12号\n关于县十八届人大三次会议第45号建议的答复\n王强代表：\n您提出的建议收悉。\n");
    assert_eq!(numbered.reply.doc_no.as_deref(), Some("示住建复〔2021〕12号"));
}
