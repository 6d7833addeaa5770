#!/usr/bin/env python3
"""Writes the project's own sample reply documents (fictional organs of 上海市示范区) in the formats and encodings
duban must read. Run from this folder; the outputs are committed, so this is only needed to change them."""
import zipfile

KEJI = """办理结果：采纳或解决
公开属性：主动公开 · 全文

上海市示范区科学技术委员会文件

示科委〔2025〕18号

对区政协十五届五次会议 第155201号提案的答复

陈晓、林立委员：

你们提出的《关于加快建设概念验证中心的提案》收悉，经研究，现将办理情况答复如下：

近年来，区科委围绕科技成果转化“最后一公里”，会同区财政局等部门持续完善服务体系。2024年全区技术合同成交额达42.6亿元，同比增长18.3%。

一、关于建设概念验证中心的建议

区科委已完成全区概念验证需求摸底，梳理高校院所项目86项。目前正在会同区财政局研究制定概念验证专项支持办法，对入驻项目给予最高100万元

支持。

二、关于完善成果转化服务的建议

去年，区科委举办成果路演活动12场，促成签约项目31个。

下一步，区科委将重点做好以下工作：**一是年内建成2家区级概念验证中心**，对入驻项目实行里程碑式管理。**二是搭建科技成果转化线上对接平台**，每季度发布一批企业技术需求清单。**三是2026年6月底前出台科技成果转化专项扶持办法。**

感谢你们对我区科技工作的关心和支持！

上海市示范区科学技术委员会

2025年5月20日

联系人姓名：周 敏

联系电话：52560000-1234

联系地址：示范路 100 号 8 楼 邮政编码：200000

抄送：区政府办公室建议提案处，区政协提案委。

上海市示范区科学技术委员会办公室

2025年5月26日印发
"""

JIAOTONG = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>关于对示范县十八届人大三次会议第27号建议的复函</title>
<script>var crumbs = "<p>首页</p>";</script><style>p { margin: 0 }</style></head>
<body>
<div class="crumb">首页 &gt; 政务公开 &gt; 建议提案办理</div>
<table class="meta">
<tr><td>索引号</td><td>0000-2025-001</td><td>发布机构</td><td>示范县交通运输局</td></tr>
<tr><td>发布日期</td><td>2025-07-02</td><td>文号</td><td>示交函〔2025〕27号</td></tr>
</table>
<h1>关于对示范县十八届人大三次会议第27号建议的复函</h1>
<p>李红代表：</p>
<p>您提出的&ldquo;关于改善城乡公交接驳的建议&rdquo;收悉，现答复如下：</p>
<p>感谢您对交通运输工作的关心。我局高度重视，于6月10日与您当面沟通。</p>
<p>目前全县已开通城乡公交线路18条，覆盖全部行政村。针对您反映的东片区接驳不便问题，我局正在开展客流调查，计划于2025年第四季度新辟东片区环线1条。</p>
<p>同时，拟在县客运站增设换乘候车区，方便群众换乘。</p>
<p>去年，我局已更新新能源公交车40辆。</p>
<p>感谢您对我局工作的支持。</p>
<p>示范县交通运输局</p>
<p>2025年7月1日</p>
<p>（联系人：赵刚，电话：0999-1234567）</p>
<div class="footer">版权所有：示范县人民政府　备案号：示ICP备00000000号</div>
</body></html>
"""

CAIZHENG = [
    "办理结果：解决采纳",
    "公开属性：主动公开·全文",
    "上海市示范区财政局",
    "示财〔2025〕12号",
    "上海市示范区财政局 关于对区政协十五届五次会议 第155201号提案的会办意见",
    "区科委：",
    "陈晓、林立委员提出的“关于加快建设概念验证中心的提案”收悉，经研究，现将会办意见函告如下：",
    "一、总体情况",
    "近年来，区财政局统筹安排科技创新专项资金，2024年投入3.2亿元。",
    "二、下一步工作",
    "（一）将在2026年区级预算中统筹安排概念验证中心建设资金。",
    "（二）会同区科委研究设立成果转化风险补偿资金池，分担早期项目投资风险。",
    "以上意见供你单位统一答复委员时参考。",
    "上海市示范区财政局",
    "2025年5月10日",
    "联系人：孙丽",
    "联系电话：52560000-5678",
    "抄送：区政府办公室",
    "上海市示范区财政局办公室",
    "2025年5月12日印发",
]

JIAOYU = """办理结果：B
公开属性：主动公开

上海市示范区教育局

示教〔2025〕9号

对区十七届人大四次会议 第0087号代表建议的答复

王敏代表：

您提出的“关于增加中小学课后服务供给的建议”收悉，现答复如下：

课后服务是减轻家庭负担的重要举措。2024年秋季学期，全区已有21所小学试点课后延时服务。

今后，我局将重点推进以下工作：

1. 2025年秋季学期起在全区小学全面推行课后延时服务。

2. 拟于2026年上半年出台课后服务经费保障办法。

3. 新建、改扩建学校同步规划课后服务功能场所。

再次感谢您对教育工作的关心和支持！

上海市示范区教育局

2025年6月10日

联系人：钱进

联系电话：52560000-2222
"""

MINZHENG = """张华委员：
您提出的关于加强社区养老服务的提案收悉，现答复如下：
我办正在会同各街道排查社区养老服务设施缺口，拟于年底前新增社区长者食堂3家。
感谢您的关心。
"""

TIYU = """示範市文化旅遊局
示文旅函〔2024〕15號
關於對市十屆人大二次會議第15號建議的答復
李明代表：
您提出的《關於加強全民健身場地建設的建議》已收悉，現答復如下：
近年來，我局累計建成社區健身點120處。
下一步，我局將在年內新建社區健身點10處，並完成現有器材的維修維護。
感謝您對我們工作的關心和支持。
示範市文化旅遊局
2024年8月29日
"""


def docx(path, paragraphs):
    body = "".join(
        '<w:p><w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>'.format(
            p.replace("&", "&amp;").replace("<", "&lt;")) for p in paragraphs)
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                '<w:body>' + body + '</w:body></w:document>')
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
             '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            '</Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("[Content_Types].xml", types), ("_rels/.rels", rels), ("word/document.xml", document)]:
            info = zipfile.ZipInfo(name, date_time=(2025, 5, 10, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


open("keji-gbk.txt", "wb").write(KEJI.replace("\n", "\r\n").encode("gb18030"))
open("jiaotong.html", "w", encoding="utf-8").write(JIAOTONG)
docx("caizheng.docx", CAIZHENG)
open("jiaoyu.txt", "w", encoding="utf-8").write(JIAOYU)
open("minzheng-utf16.txt", "wb").write(b"\xff\xfe" + MINZHENG.encode("utf-16-le"))
open("tiyu-big5.txt", "wb").write(TIYU.encode("big5"))
