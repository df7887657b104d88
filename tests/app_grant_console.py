"""A seal administrator's app authorization through the console in headless Chromium (Debian's,
driven by Playwright), the manual's two steps: on a phone in Chinese, "authorize a new app" —
step 1 find and choose the app, step 2 pick the company in the organisation tree and tick one seal
— and the result page; on a desktop in English, another app for all seals of the company (and its
branch), the sync of the first app's seals to a third app, and a batch withdrawal on the app's
page; the seal's apps. Screenshots of each screen go to SCREENSHOTS. Run by tests/app_grants.rs;
exits non-zero on the first failed expectation, naming it.

Environment: BASE, SCREENSHOTS, ADMIN (the seal administrator's mobile number), PASSWORD, SEAL
(a seal's name), UNIT and BRANCH (organisation names).
"""

import os
import sys

from playwright.sync_api import sync_playwright

BASE = os.environ["BASE"]
SHOTS = os.environ["SCREENSHOTS"]
SEAL, UNIT, BRANCH = os.environ["SEAL"], os.environ["UNIT"], os.environ["BRANCH"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def expect(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def no_overflow(page, what):
    """Nothing wider than the phone: no sideways scrolling."""
    w = page.evaluate("document.documentElement.scrollWidth")
    expect(w <= PHONE["width"] + 1, f"{what}: {w}px wide on a {PHONE['width']}px phone")


def login(page):
    page.goto(f"{BASE}/login")
    page.fill("#username", os.environ["ADMIN"])
    page.fill("#password", os.environ["PASSWORD"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{BASE}/home")


def tree_link(page, name):
    return page.locator("nav.tree").get_by_role("link", name=name, exact=True)


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        # ---- On a phone, in Chinese: authorize 合同管理系统 for one ticked seal.
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
        page = ctx.new_page()
        login(page)
        page.goto(f"{BASE}/app-grants")
        expect(page.title().startswith("应用授权"), f"list title: {page.title()}")
        shot(page, "grants-01-list-zh-CN-phone")
        page.click("#authorize-new")
        page.wait_for_url(f"{BASE}/app-grants/new")
        expect("添加授权应用" in page.inner_text("ol.steps"), "step 1 is named")
        page.fill("#q", "合同管理")
        page.click("#find")
        page.wait_for_url("**/app-grants/new?q=*")
        expect(page.locator("label.choice").count() == 1, "the search finds one app")
        shot(page, "grants-02-step1-zh-CN-phone")
        no_overflow(page, "step 1")
        page.locator("label.choice", has_text="合同管理系统").locator("input").check()
        page.click("#next")
        page.wait_for_url("**/app-grants/new/seals?app=*")
        expect(page.inner_text("#chosen-app") == "合同管理系统", "step 2 names the app")
        shot(page, "grants-03-step2-zh-CN-phone")
        tree_link(page, UNIT).click()
        page.wait_for_url("**org=*")
        expect(page.locator("#grant-all").count() == 1, "all seals of the organisation is offered")
        page.locator("label.check", has_text=SEAL).locator("input").check()
        shot(page, "grants-04-step2-ticked-zh-CN-phone")
        no_overflow(page, "step 2")
        page.click("#grant-selected")
        page.wait_for_load_state()
        expect(page.title().startswith("授权结果"), f"result title: {page.title()}")
        listed = page.inner_text("#granted-list")
        expect(SEAL in listed and "已生效" in listed, f"the result lists the seal: {listed!r}")
        shot(page, "grants-05-result-zh-CN-phone")
        no_overflow(page, "the result")
        # Granting it again is refused in Chinese, nothing changed.
        page.go_back()
        page.wait_for_load_state()
        page.reload()
        blocked = page.locator("label.check", has_text=SEAL).locator("input").is_disabled()
        expect(blocked, "a seal granted already cannot be ticked again")
        page.click("#grant-selected")
        page.wait_for_load_state()
        alert = page.inner_text(".alert")
        expect("至少" in alert or "seal" in alert, f"nothing ticked is refused: {alert!r}")
        shot(page, "grants-06-refused-zh-CN-phone")
        ctx.close()

        # ---- On a desktop, in English.
        ctx = browser.new_context(viewport=DESKTOP, locale="en")
        page = ctx.new_page()
        login(page)
        page.goto(f"{BASE}/app-grants/new")
        expect(page.title().startswith("Authorize a new app"), f"step 1 title: {page.title()}")
        shot(page, "grants-07-step1-en-desktop")
        ukey = page.locator("label.choice", has_text="UKEY").locator("input")
        expect(ukey.is_disabled(), "a UKey app cannot be chosen")
        page.locator("label.choice", has_text="电子发票平台").locator("input").check()
        page.click("#next")
        page.wait_for_url("**/app-grants/new/seals?app=*")
        tree_link(page, UNIT).click()
        page.wait_for_url("**org=*")
        shot(page, "grants-08-step2-en-desktop")
        page.click("#grant-all")
        page.wait_for_load_state()
        expect(page.title().startswith("Authorization result"), f"result: {page.title()}")
        n = page.locator("#granted-list li").count()
        expect(n == 4, f"all four seals of the company and its branch: {n}")
        shot(page, "grants-09-result-all-en-desktop")

        # Sync 合同管理系统's seal to 办公自动化系统.
        page.goto(f"{BASE}/app-grants")
        shot(page, "grants-10-list-en-desktop")
        page.locator("li.session", has_text="合同管理系统").locator(
            "a[href^='/app-grants/sync']").click()
        page.wait_for_url("**/app-grants/sync?from=*")
        page.click("#source-seals summary")
        expect(SEAL in page.inner_text("#source-seals"), "the seals to sync are shown")
        page.locator("label.choice", has_text="办公自动化系统").locator("input").check()
        shot(page, "grants-11-sync-en-desktop")
        page.click("#sync-confirm")
        page.wait_for_load_state()
        result = page.inner_text("#sync-result")
        expect("办公自动化系统" in result and "Authorized 1" in result, f"sync result: {result!r}")
        shot(page, "grants-12-synced-en-desktop")

        # Withdraw the branch's seal from 电子发票平台.
        page.goto(f"{BASE}/app-grants")
        page.locator("li.session", has_text="电子发票平台").locator("a").first.click()
        page.wait_for_url("**/app-grants/apps/*")
        expect(page.locator("#app-grants li").count() == 4, "four seals authorized")
        page.locator("label.check", has_text=BRANCH).locator("input").check()
        page.fill("#reason", "branch closed")
        shot(page, "grants-13-app-seals-en-desktop")
        page.click("#withdraw-selected")
        page.wait_for_load_state()
        expect("1" in page.inner_text("#notice"), "one withdrawn")
        expect(page.locator("#app-grants li").count() == 3, "three left")
        shot(page, "grants-14-withdrawn-en-desktop")
        page.locator("#app-grants a").first.click()
        page.wait_for_url("**/app-grants/seals/*")
        expect("电子发票平台" in page.inner_text("#seal-grants"), "the seal's apps")
        shot(page, "grants-15-seal-apps-en-desktop")
        ctx.close()

        # ---- The other language on each screen size.
        ctx = browser.new_context(viewport=PHONE, locale="en", has_touch=True, is_mobile=True)
        page = ctx.new_page()
        login(page)
        page.goto(f"{BASE}/app-grants")
        expect(page.title().startswith("App authorization"), f"en list: {page.title()}")
        shot(page, "grants-16-list-en-phone")
        no_overflow(page, "the list in English")
        page.locator("li.session", has_text="电子发票平台").locator("a").first.click()
        page.wait_for_url("**/app-grants/apps/*")
        shot(page, "grants-17-app-seals-en-phone")
        no_overflow(page, "an app's seals")
        ctx.close()
        ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = ctx.new_page()
        login(page)
        page.goto(f"{BASE}/app-grants")
        page.locator("li.session", has_text="电子发票平台").locator(
            "a[href^='/app-grants/new/seals']").click()
        page.wait_for_url("**/app-grants/new/seals?app=*")
        shot(page, "grants-18-step2-zh-CN-desktop")
        ctx.close()
        browser.close()


if __name__ == "__main__":
    main()
