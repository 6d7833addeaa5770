#!/usr/bin/env python3
"""Issue 19's browser test: the web app driven in Debian's chromium through chromium-driver (selenium).

Usage: python3 tests/browser/web.py target/release/duban [SCREENSHOT_DIR]

A scratch store with a few replies and promises, accounts of every role, the real `duban serve` on a free loopback
port; then, in the browser: each role logs in; the dashboard's counts equal `list --json`; an organ reports progress
through the form and cannot reach another organ's promise; two sessions edit one promise and the second is told;
every resource a page loads comes from the server itself; a liaison uploads a reply document on 文件导入, corrects a
field and a promise on the review page, drops one, adds one, confirms, and the reply appears as corrected; an organ
attaches a file to its progress report and downloads it back; an admin creates an account on 用户. Screenshots of
the dashboard, list, detail, review and other pages at 1280 and 375 px are written to SCREENSHOT_DIR (default: a
temporary folder) to be looked at.

The document uploaded is the first real seed reply (../shared/seeds) when that folder is beside the checkout, as in
CI; otherwise the bundled sample crates/ingest/samples/keji-gbk.txt (the script says which).
"""

import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

import openpyxl

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DUBAN = os.path.abspath(sys.argv[1])
SHOTS = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="duban-shots-")
os.makedirs(SHOTS, exist_ok=True)
NOW = "2026-01-10T09:00:00+08:00"
WORK = tempfile.mkdtemp(prefix="duban-browser-")
STORE = os.path.join(WORK, "duban.db")
HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "..", "..", "..", "shared", "seeds")
if os.path.isdir(SEEDS):
    DOCUMENT = os.path.join(SEEDS, sorted(f for f in os.listdir(SEEDS) if f.endswith(".txt"))[0])
else:
    DOCUMENT = os.path.join(HERE, "..", "..", "crates", "ingest", "samples", "keji-gbk.txt")
DOCUMENT = os.path.abspath(DOCUMENT)
print(f"browser: the document uploaded for review is {DOCUMENT}")
ENV = {"DUBAN_NOW": NOW, "DUBAN_STORE": STORE, "DUBAN_ACTOR": "王芳", "PATH": os.environ.get("PATH", "")}


def duban(*args, stdin=None):
    done = subprocess.run([DUBAN, *args], env=ENV, input=stdin, capture_output=True, text=True, cwd=WORK)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return done.stdout.strip()


def check(condition, message):
    if not condition:
        raise AssertionError(message)


# The register: two organs' promises, one overdue, one due soon, one with markup in its text.
duban("init")
promises = {}
for organ, doc, text, due in [
    ("区科委", "科〔2025〕1号", "年底前建成科技成果转化平台", "2025-12-31"),
    ("区科委", "科〔2025〕1号", "<b>加快</b>建设概念验证平台", "2026-01-31"),
    ("区教育局", "教〔2025〕2号", "新建学校一所", "2026-09-01"),
]:
    replies = json.loads(duban("reply", "list", "--json"))
    reply = next((r["id"] for r in replies if r["doc_no"] == doc), None)
    if reply is None:
        reply = duban("reply", "add", "--organ", organ, "--doc-no", doc, "--signed-on", "2025-06-01")
    promises[text] = duban("commit", "add", "--reply", reply, "--text", text, "--due", due)
ROLES = {"管理员": ("管理员", []), "督办员": ("督办人员", []), "科委联络员": ("承办单位", ["区科委"]), "读者": ("查阅人员", [])}
for name, (role, organs) in ROLES.items():
    args = ["user", "add", name, "--role", role, "--password-stdin"]
    for organ in organs:
        args += ["--organ", organ]
    duban(*args, stdin=f"{name}-password\n")
listed = json.loads(duban("list", "--json"))
read = json.loads(duban("parse", DOCUMENT, "--json"))
check(len(read["commitments"]) >= 2, f"the document has promises to review: {read['commitments']}")
PDF = os.path.join(WORK, "验收报告.pdf")
with open(PDF, "wb") as out:
    out.write(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")

server = subprocess.Popen([DUBAN, "serve", "--listen", "127.0.0.1:0"], env=ENV, cwd=WORK, stdout=subprocess.PIPE, text=True)
BASE = "http://" + server.stdout.readline().strip().rsplit("http://", 1)[-1]
check(BASE.startswith("http://127.0.0.1:"), f"the server did not start: {BASE}")

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN"]:
    options.add_argument(argument)
os.environ["SE_AVOID_STATS"] = "true"


def browser():
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_window_size(1280, 900)
    return driver


def log_in(driver, name):
    driver.get(BASE + "/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(f"{name}-password")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url == BASE + "/")
    check(driver.current_url == BASE + "/", f"{name} lands on the dashboard: {driver.current_url!r}, not {BASE!r}")


def only_this_server(driver):
    """Every element that names a URL, and every resource the page loaded, is on the server itself."""
    urls = driver.execute_script(
        "return [...document.querySelectorAll('[href],[src],[action]')].map(e => e.href || e.src || e.action)"
        ".concat(performance.getEntriesByType('resource').map(r => r.name))"
    )
    for url in urls:
        check(url.startswith(BASE + "/"), f"{driver.current_url} refers to {url}")


def dashboard_counts(driver):
    rows = driver.find_elements(By.CSS_SELECTOR, "#status-counts tbody tr")
    return {row.get_attribute("data-status"): int(row.find_element(By.CSS_SELECTOR, "td.num").text) for row in rows}


failures = []
try:
    # Every role logs in and sees the dashboard; its counts are `list --json`'s (an organ: its own promises).
    for name, (role, organs) in ROLES.items():
        driver = browser()
        try:
            log_in(driver, name)
            only_this_server(driver)
            counts = dashboard_counts(driver)
            mine = [row for row in listed if not organs or row["owner"] in organs]
            for status, count in counts.items():
                expected = sum(1 for row in mine if row["status"] == status)
                check(count == expected, f"{name}: {status} {count} on the dashboard, {expected} in list --json")
            check(int(driver.find_element(By.ID, "total").text) == len(mine), f"{name}: total")
            driver.get(BASE + "/commitments")
            only_this_server(driver)
            shown = driver.find_elements(By.CSS_SELECTOR, "#commitments tbody tr")
            check(len(shown) == len(mine), f"{name}: {len(shown)} rows listed, {len(mine)} visible")
        finally:
            driver.quit()

    # Markup in a promise is shown as text.
    driver = browser()
    log_in(driver, "督办员")
    driver.get(f"{BASE}/commitments/{promises['<b>加快</b>建设概念验证平台']}")
    check(driver.find_element(By.ID, "text").text == "<b>加快</b>建设概念验证平台", "markup shown as text")
    check(not driver.find_elements(By.CSS_SELECTOR, "#text b"), "no element made from a promise's text")

    # The report's form gives the HTML report in the browser.
    driver.get(BASE + "/reports")
    year = driver.find_element(By.CSS_SELECTOR, "#report-form input[name=year]")
    year.clear()
    year.send_keys("2025")
    driver.find_element(By.CSS_SELECTOR, "#report-form button").click()
    WebDriverWait(driver, 10).until(lambda d: "/reports/file" in d.current_url)
    only_this_server(driver)
    check("区科委" in driver.find_element(By.TAG_NAME, "body").text, "the report lists the organ's promises")

    # The replies' list links each reply to its page, which lists its promises.
    driver.get(BASE + "/replies")
    rows = driver.find_elements(By.CSS_SELECTOR, "#replies tbody tr")
    check(len(rows) >= 1, f"replies listed: {len(rows)}")
    rows[0].find_element(By.CSS_SELECTOR, "a").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "reply-commitments"))
    only_this_server(driver)
    check(driver.find_elements(By.CSS_SELECTOR, "#reply-commitments tbody tr"), "a reply's promises listed")

    # The search box in the header finds promises by their words (traditional script too) and marks them.
    box = driver.find_element(By.CSS_SELECTOR, "form.find input[name=q]")
    box.send_keys("概念驗證")
    box.submit()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "search-total"))
    only_this_server(driver)
    marks = [mark.text for mark in driver.find_elements(By.CSS_SELECTOR, "#hits mark")]
    check(marks and all(mark == "概念验证" for mark in marks), f"the words marked: {marks}")
    check(not driver.find_elements(By.CSS_SELECTOR, "#hits b"), "no element made from a hit's text")
    linked = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#hits a")]
    check(any(href.endswith(promises["<b>加快</b>建设概念验证平台"]) for href in linked), f"the promise found: {linked}")

    # 文件导入: the liaison uploads the document, corrects it on the review page and confirms.
    driver.get(BASE + "/intake")
    only_this_server(driver)
    driver.find_element(By.ID, "documents").send_keys(DOCUMENT)
    driver.find_element(By.CSS_SELECTOR, "#upload button").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "review"))
    only_this_server(driver)
    organ = driver.find_element(By.ID, "f-organ")
    check(organ.get_attribute("value") == (read["reply"]["organ"] or ""), "the organ as read")
    check(len(driver.find_elements(By.CSS_SELECTOR, "blockquote.context mark")) == len(read["commitments"]), "each in context")
    title = driver.find_element(By.ID, "f-title")
    title.clear()
    title.send_keys("复核后的标题")
    first = driver.find_element(By.ID, "p0-text")
    first.clear()
    first.send_keys("复核修改后的第一条承诺。")
    last = len(read["commitments"]) - 1
    driver.find_element(By.CSS_SELECTOR, f"input[name=p{last}_keep][value=drop]").click()
    driver.find_element(By.ID, f"p{last + 1}-text").send_keys("复核补充的承诺：年内完成回访。")
    review_url = driver.current_url
    for width in (1280, 375):
        driver.set_window_size(width, 1000)
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(width, min(max(height, 600), 6000))
        check(driver.save_screenshot(os.path.join(SHOTS, f"review-{width}.png")), "screenshot of the review page")
    driver.set_window_size(1280, 900)
    driver.find_element(By.ID, "confirm").click()
    WebDriverWait(driver, 10).until(lambda d: "/replies/" in d.current_url)
    only_this_server(driver)
    body = driver.find_element(By.TAG_NAME, "body").text
    check("已登记答复及" in body, f"registered: {body[:300]}")
    check("复核后的标题" in body and "复核修改后的第一条承诺。" in body, "the corrections are what was registered")
    check("复核补充的承诺：年内完成回访。" in body, "the added promise is registered")
    check(read["commitments"][last]["text"] not in body, "the dropped sentence is not")
    check("导入复核" in body, "what the reviewer changed is recorded")
    reviewed_reply = driver.current_url.split("/replies/")[1].split("?")[0]
    driver.get(review_url)
    check("找不到待复核的文件" in driver.find_element(By.CSS_SELECTOR, ".error").text, "a draft is registered once")

    # Screenshots of the pages at desktop and phone width.
    own = promises["年底前建成科技成果转化平台"]
    for width in (1280, 375):
        driver.set_window_size(width, 1000)
        for page, path in [
            ("dashboard", "/"),
            ("list", "/commitments"),
            ("detail", f"/commitments/{own}"),
            ("search", "/search?q=" + urllib.parse.quote("平台")),
            ("replies", "/replies"),
            ("reports", "/reports"),
        ]:
            driver.get(BASE + path)
            only_this_server(driver)
            height = driver.execute_script("return document.body.scrollHeight")
            driver.set_window_size(width, min(max(height, 600), 4000))
            check(driver.save_screenshot(os.path.join(SHOTS, f"{page}-{width}.png")), f"screenshot of {page}")
            driver.set_window_size(width, 1000)
    driver.set_window_size(1280, 900)

    # The list's view exports to an Excel workbook that opens (read back with openpyxl), and to CSV.
    driver.get(BASE + "/commitments?status=overdue")
    session = driver.get_cookie("duban_session")["value"]
    for link in ("export-xlsx", "export-csv"):
        url = driver.find_element(By.ID, link).get_attribute("href")
        request = urllib.request.Request(url, headers={"Cookie": f"duban_session={session}"})
        data = urllib.request.urlopen(request).read()
        overdue = [row for row in listed if row["status"] == "overdue"]
        if link == "export-xlsx":
            sheet = openpyxl.load_workbook(io.BytesIO(data)).active
            values = list(sheet.iter_rows(values_only=True))
            check(values[0][0] == "编号" and values[0][-1] == "承诺内容", f"xlsx header: {values[0]}")
            check(sorted(v[0] for v in values[1:]) == sorted(r["number"] for r in overdue), f"xlsx rows: {values}")
            check(all(isinstance(v[4], datetime.datetime) for v in values[1:]), "due dates are dates")
        else:
            lines = data.decode("utf-8-sig").strip().splitlines()
            check(lines[0].startswith("编号,状态") and len(lines) == 1 + len(overdue), f"csv: {lines}")

    # Two sessions open the same promise; the first writes; the second is told, and keeps what it typed.
    other = browser()
    log_in(other, "管理员")
    driver.get(f"{BASE}/commitments/{own}")
    other.get(f"{BASE}/commitments/{own}")
    driver.find_element(By.ID, "note-text").send_keys("电话督办")
    driver.find_element(By.CSS_SELECTOR, "#form-note button").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".notice"))
    check("已记录" in driver.find_element(By.CSS_SELECTOR, ".notice").text, "the first write is confirmed")
    other.find_element(By.ID, "note-text").send_keys("现场督办")
    other.find_element(By.CSS_SELECTOR, "#form-note button").click()
    WebDriverWait(other, 10).until(lambda d: d.find_elements(By.ID, "stale"))
    check(other.find_elements(By.ID, "stale"), "the second editor is told someone wrote first")
    check(other.find_element(By.ID, "note-text").get_attribute("value") == "现场督办", "what it typed is kept")
    other.quit()
    driver.quit()

    # An organ reports progress on its own promise through the form, and cannot reach another organ's.
    driver = browser()
    log_in(driver, "科委联络员")
    driver.get(f"{BASE}/commitments/{own}")
    check(not driver.find_elements(By.ID, "form-close"), "an organ cannot close")
    driver.find_element(By.ID, "progress-summary").send_keys("完成平台选址")
    driver.find_element(By.ID, "progress-percent").send_keys("40")
    driver.find_element(By.ID, "progress-evidence").send_keys(PDF)
    driver.find_element(By.CSS_SELECTOR, "#form-progress button").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".notice"))
    check("已记录" in driver.find_element(By.CSS_SELECTOR, ".notice").text, "progress confirmed")
    check("完成平台选址" in driver.find_element(By.ID, "events").text, "progress in the timeline")
    link = driver.find_element(By.CSS_SELECTOR, "#events a.file")
    check("验收报告.pdf" in link.text, f"the attachment in the timeline: {link.text}")
    session = driver.get_cookie("duban_session")["value"]
    request = urllib.request.Request(link.get_attribute("href"), headers={"Cookie": f"duban_session={session}"})
    with urllib.request.urlopen(request) as answer, open(PDF, "rb") as sent:
        check(answer.read() == sent.read(), "the attachment downloads as it was uploaded")
        check("attachment" in answer.headers["Content-Disposition"], "as a download")
    only_this_server(driver)
    driver.get(f"{BASE}/commitments/{promises['新建学校一所']}")
    check("找不到" in driver.find_element(By.CSS_SELECTOR, ".error").text, "another organ's promise is not found")
    driver.get(BASE + "/commitments?organ=" + urllib.parse.quote("区教育局"))
    check(driver.find_element(By.ID, "list-total").text == "0", "no filter shows another organ's")
    driver.get(BASE + "/intake")
    check(driver.find_elements(By.CSS_SELECTOR, ".error"), "an organ registers no replies")
    driver.quit()

    # 用户: an admin creates an account, which can then log in.
    driver = browser()
    log_in(driver, "管理员")
    driver.get(BASE + "/users")
    only_this_server(driver)
    names = driver.find_element(By.ID, "accounts").text
    check(all(name in names for name in ROLES), f"every account listed: {names}")
    driver.find_element(By.ID, "u-name").send_keys("新读者")
    driver.find_element(By.CSS_SELECTOR, "#u-role option[value=viewer]").click()
    driver.find_element(By.ID, "u-password").send_keys("新读者-password")
    driver.find_element(By.CSS_SELECTOR, "#new-user button").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".notice"))
    check("已新建账户 新读者" in driver.find_element(By.CSS_SELECTOR, ".notice").text, "account created")
    for width in (1280, 375):
        driver.set_window_size(width, 1000)
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(width, min(max(height, 600), 4000))
        check(driver.save_screenshot(os.path.join(SHOTS, f"users-{width}.png")), "screenshot of the users page")
    driver.quit()
    driver = browser()
    log_in(driver, "新读者")
    driver.quit()
finally:
    server.terminate()
    server.wait(timeout=30)

shown = json.loads(duban("show", own, "--json"))
actors = [event["actor"] for event in shown["events"]]
check(actors == ["王芳", "督办员", "科委联络员", "科委联络员"], f"facts recorded as the accounts that wrote them: {actors}")
check(shown["events"][-1]["type"] == "EvidenceAttached", "the file named in the log")
reviewed = duban("reply", "show", reviewed_reply)
check("导入复核：改 2 处（标题、承诺 1 的内容），删去 1 条，补充 1 条（督办员" in reviewed, reviewed)
duban("verify")
print(f"browser: every check passed; screenshots in {SHOTS}")
