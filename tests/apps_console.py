"""The app registry and the owner's credentials page in headless Chromium (Debian's, driven by
Playwright): a platform operator on a desktop (English) registers an app with a rate, sets its
rate and daily quota (a refused figure first), finds it by name, suspends and resumes it; the
owner on a phone (Chinese) creates an HMAC-SM3 API key — the secret shows on that answer
only —, uploads a CSR and downloads the client certificate, revokes the key and sets the
callback URL. Screenshots of each page in both languages go to SCREENSHOTS. Run by
tests/apps.rs; exits non-zero on the first failed expectation, naming it.

Environment: BASE, SCREENSHOTS, OPERATOR / OPERATOR_PASSWORD / OPERATOR_TOTP (base32), OWNER
(username), OWNER_MOBILE, PASSWORD, SUPERVISING / DEVELOPER (organisation ids), CSR (a PEM file),
DOWNLOADS (a directory).
"""

import base64
import hashlib
import hmac
import os
import struct
import sys
import time

from playwright.sync_api import sync_playwright

BASE = os.environ["BASE"]
SHOTS = os.environ["SCREENSHOTS"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def expect(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def totp(secret_b32, at=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def staff_login(page):
    """Password and one-time code; a code spent by the test's own login waits for the next step."""
    for _ in range(3):
        page.goto(f"{BASE}/login")
        page.fill("#username", os.environ["OPERATOR"])
        page.fill("#password", os.environ["OPERATOR_PASSWORD"])
        page.click("form[action='/login'] button[type=submit]")
        if page.url.endswith("/home"):
            return
        page.fill("#password", os.environ["OPERATOR_PASSWORD"])
        page.fill("#totp", totp(os.environ["OPERATOR_TOTP"]))
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_load_state()
        if page.url.endswith("/home"):
            return
        time.sleep(31 - time.time() % 30)
    expect(False, "the operator could not log in")


def login(page, mobile):
    page.goto(f"{BASE}/login")
    page.fill("#username", mobile)
    page.fill("#password", os.environ["PASSWORD"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{BASE}/home")


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        # ---- The operator, desktop, English: register, search, suspend, resume.
        ctx = browser.new_context(**DESKTOP, locale="en-US")
        page = ctx.new_page()
        staff_login(page)
        page.goto(f"{BASE}/apps")
        expect(page.title().startswith("Applications"), f"registry title: {page.title()}")
        page.click("a[href='/apps/new']")
        page.wait_for_url(f"{BASE}/apps/new")
        page.fill("#name", "公文交换系统")
        page.select_option("#kind", "cloud-signing")
        page.fill("#supervising_org_id", os.environ["SUPERVISING"])
        page.fill("#developer_org_id", os.environ["DEVELOPER"])
        page.fill("#owner", os.environ["OWNER"])
        page.fill("#contact_name", "李四")
        page.fill("#contact_mobile", "13800138001")
        page.fill("#callback_url", "http://oa.example.cn/cb")
        shot(page, "apps-01-register-en-desktop")
        page.click("form[action='/apps/new'] button[type=submit]")
        expect("https://" in page.inner_text(".alert"), "an http:// callback is refused, saying why")
        page.fill("#callback_url", "https://oa.example.cn/cb")
        page.fill("#rate_per_second", "40")
        page.click("form[action='/apps/new'] button[type=submit]")
        page.wait_for_url(f"{BASE}/apps/*")
        app_url = page.url
        text = page.inner_text("main")
        expect("公文交换系统" in text and "Active" in text, f"the new app: {text!r}")
        expect("138****8001" in text, "the contact's mobile number masked")
        expect("40/s" in text, f"the rate given at registration: {text!r}")
        shot(page, "apps-02-app-operator-en-desktop")
        # The limits: a quota the server refuses (the browser's own check bypassed), then one it takes.
        page.eval_on_selector("#daily_quota", "e => { e.removeAttribute('min'); }")
        page.fill("#daily_quota", "0")
        page.click("#limits button[type=submit]")
        expect("Daily sealing quota" in page.inner_text(".alert"), "a refused quota names the field")
        expect("40/s" in page.inner_text("main"), "the refusal changed nothing")
        page.goto(app_url)
        page.fill("#rate_per_second", "25")
        page.fill("#daily_quota", "5000")
        page.click("#limits button[type=submit]")
        page.wait_for_url(app_url)
        text = page.inner_text("main")
        expect("25/s" in text and "5000" in text, f"the new limits: {text!r}")
        shot(page, "apps-02b-limits-en-desktop")
        page.fill("#comment-suspend", "contract under review")
        page.click("form:has(input[value=suspend]) button[type=submit]")
        page.wait_for_url(app_url)
        expect("Suspended" in page.inner_text("h1"), "suspended")
        shot(page, "apps-03-suspended-en-desktop")
        page.click("form:has(input[value=resume]) button[type=submit]")
        page.wait_for_url(app_url)
        expect("Active" in page.inner_text("h1"), "resumed")
        page.goto(f"{BASE}/apps?name=公文")
        items = page.locator(".sessions li")
        expect(items.count() == 1, f"found by name: {items.count()}")
        shot(page, "apps-04-registry-search-en-desktop")
        # The same registry in Chinese.
        page.goto(f"{BASE}/lang/zh-CN?next=/apps")
        page.goto(f"{BASE}/apps")
        expect(page.title().startswith("应用"), f"zh-CN title: {page.title()}")
        shot(page, "apps-05-registry-zh-CN-desktop")
        page.goto(app_url)
        text = page.inner_text("#limits")
        expect("速率与限额" in text, f"the limits form in Chinese: {text!r}")
        shot(page, "apps-05b-limits-zh-CN-desktop")
        ctx.close()

        # ---- The owner, phone, Chinese: an API key shown once, a certificate from a CSR.
        ctx = browser.new_context(**PHONE, locale="zh-CN", accept_downloads=True)
        page = ctx.new_page()
        login(page, os.environ["OWNER_MOBILE"])
        page.goto(f"{BASE}/apps")
        page.click("text=公文交换系统")
        page.wait_for_url(app_url)
        expect(page.locator("#limits").count() == 0, "the owner sets no limits")
        shot(page, "apps-06-owner-zh-CN-phone")
        page.select_option("#key-kind", "hmac-sm3")
        page.fill("#key-label", "生产环境")
        page.click(f"form[action$='/keys'] button[type=submit]")
        secret = page.inner_text("#new-key-secret").strip()
        expect(len(secret) == 43, f"a 32-byte secret in base64url: {secret!r}")
        expect("只显示这一次" in page.inner_text("#new-key"), "the secret is shown once")
        shot(page, "apps-07-new-key-zh-CN-phone")
        page.goto(app_url)
        expect(secret not in page.content(), "never shown again")
        page.set_input_files("#csr_file", os.environ["CSR"])
        page.fill("#cert-label", "网关")
        page.click("form[action$='/certificates'] button[type=submit]")
        expect(page.locator("#new-cert").count() == 1, "the certificate issued")
        shot(page, "apps-08-new-cert-zh-CN-phone")
        with page.expect_download() as d:
            page.click("#new-cert a")
        path = os.path.join(os.environ["DOWNLOADS"], "client.pem")
        os.makedirs(os.environ["DOWNLOADS"], exist_ok=True)
        d.value.save_as(path)
        with open(path) as f:
            pem = f.read()
        expect(pem.count("BEGIN CERTIFICATE") >= 2, "the certificate and its chain")
        # Revoke the API key (the first credential listed).
        page.goto(app_url)
        page.locator(".sessions li", has_text="HMAC-SM3").locator("button").click()
        page.wait_for_url(app_url)
        expect("已吊销" in page.locator(".sessions li", has_text="HMAC-SM3").inner_text(),
               "the key revoked")
        page.fill("#callback_url", "https://oa.example.cn/cb")
        page.click("form[action$='/details'] button[type=submit]")
        page.wait_for_url(app_url)
        shot(page, "apps-09-credentials-zh-CN-phone")
        # The owner's page in English too.
        page.goto(f"{BASE}/lang/en?next=/apps")
        page.goto(app_url)
        expect("Credentials" in page.inner_text("main"), "English page")
        shot(page, "apps-10-owner-en-phone")
        ctx.close()
        browser.close()


if __name__ == "__main__":
    main()
