"""The agency's journey through the console in headless Chromium (Debian's, driven by Playwright):
an applicant on a phone (zh-CN) fills in a seal application, finds the printable form, uploads the
stamped scan and submits; a reviewer on a desktop (English) finds it in the work queue and
approves it; the applicant sees the produced seal with its picture, seals a PDF through the page
(the download is a signed PDF) and reports the seal lost. Screenshots of each page go to
SCREENSHOTS. Run by tests/seals.rs; exits non-zero on the first failed expectation, naming it.

Environment: BASE, SCREENSHOTS, APPLICANT / REVIEWER (mobile numbers), PASSWORD, SCAN (an image),
PDF (a document to seal), OUT (where the sealed PDF is saved).
"""

import os
import sys

from playwright.sync_api import sync_playwright

BASE = os.environ["BASE"]
SHOTS = os.environ["SCREENSHOTS"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def expect(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def login(page, mobile):
    page.goto(f"{BASE}/login")
    page.fill("#username", mobile)
    page.fill("#password", os.environ["PASSWORD"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{BASE}/home")


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        # ---- The applicant, on a phone, in Chinese.
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = ctx.new_page()
        login(page, os.environ["APPLICANT"])
        page.goto(f"{BASE}/seal-applications/new")
        expect(page.title().startswith("申请电子印章"), f"apply title: {page.title()}")
        shot(page, "seal-01-apply-zh-CN-phone")
        page.fill("#seal_name", "杭州示例科技有限公司合同专用章")
        page.select_option("#seal_type", "contract")
        page.check("input[name=mode][value=cloud]")
        page.check("input[name=years][value='2']")
        page.click("form[action='/seal-applications'] button[type=submit]")
        page.wait_for_url(f"{BASE}/seal-applications/*")
        app_url = page.url
        text = page.inner_text("main")
        expect("填写中" in text and "尚未上传" in text, f"a draft without a scan: {text!r}")
        expect(page.locator("a[href$='/form']").count() == 1, "a link to the printable form")
        shot(page, "seal-02-draft-zh-CN-phone")
        # Submitting without the scan is refused with a message in Chinese.
        page.click("#ev-submit")
        alert = page.inner_text(".alert")
        expect("扫描" in alert or "scan" in alert, f"the missing scan is named: {alert!r}")
        shot(page, "seal-03-submit-refused-zh-CN-phone")
        page.set_input_files("#scan", os.environ["SCAN"])
        page.click("form[action$='/scan'] button[type=submit]")
        page.wait_for_url(app_url)
        expect("已上传" in page.inner_text("main"), "the scan is attached")
        page.click("#ev-submit")
        page.wait_for_url(app_url)
        expect("待审核" in page.inner_text("main"), "submitted for review")
        shot(page, "seal-04-submitted-zh-CN-phone")
        page.goto(f"{BASE}/seal-applications")
        shot(page, "seal-05-my-applications-zh-CN-phone")
        ctx.close()

        # ---- The reviewer, on a desktop, in English.
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = ctx.new_page()
        page.goto(f"{BASE}/lang/en?next=/login")
        login(page, os.environ["REVIEWER"])
        expect("Seal applications to review" in page.inner_text("main"), "the work queue")
        shot(page, "seal-06-reviewer-home-en-desktop")
        page.click("a[href='/seal-applications?scope=review']")
        page.wait_for_load_state()
        shot(page, "seal-07-review-queue-en-desktop")
        page.click("td a")
        page.wait_for_load_state()
        expect("Pending review" in page.inner_text("main"), "the application to decide")
        page.fill("#c-approve", "核实无误 / checked")
        page.click("#ev-approve")
        page.wait_for_load_state()
        expect("Complete" in page.inner_text("main"), "approved and produced")
        shot(page, "seal-08-approved-en-desktop")
        ctx.close()

        # ---- The applicant again: the seal, sealing a PDF, a loss report.
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  accept_downloads=True)
        page = ctx.new_page()
        login(page, os.environ["APPLICANT"])
        page.goto(f"{BASE}/seals")
        expect("杭州示例科技有限公司合同专用章" in page.inner_text("main"), "the seal is listed")
        img = page.locator(".sealcard img").first
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
        shot(page, "seal-09-my-seals-zh-CN-phone")
        page.click(".sealcard a")
        page.wait_for_load_state()
        expect("正常" in page.inner_text("main"), "active")
        shot(page, "seal-10-seal-zh-CN-phone")
        page.set_input_files("#pdf", os.environ["PDF"])
        with page.expect_download() as dl:
            page.click("form[action$='/sign'] button[type=submit]")
        dl.value.save_as(os.environ["OUT"])
        with open(os.environ["OUT"], "rb") as f:
            data = f.read()
        expect(data.startswith(b"%PDF") and b"/ByteRange" in data, "a signed PDF was downloaded")
        page.select_option("#operation", "report-loss")
        page.fill("#reason", "UKey 遗失")
        page.click("form[action$='/operations'] button[type=submit]")
        page.wait_for_load_state()
        expect("待审核" in page.inner_text("main"), "the loss report awaits confirmation")
        shot(page, "seal-11-loss-report-zh-CN-phone")
        page.click("a[href^='/seals/']")
        page.wait_for_load_state()
        expect("已挂失" in page.inner_text("main"), "the seal is reported lost at once")
        shot(page, "seal-12-seal-lost-zh-CN-phone")
        ctx.close()
        browser.close()


if __name__ == "__main__":
    main()
