"""Console flows in headless Chromium (Debian's, driven by Playwright), as a person and a staff member
use them: register with an SMS code (read from the development banner, as a tester would), log out,
log in with the mobile number, switch language, a staff login that sets up and then uses a TOTP
second factor, and uploading a signed PDF on /verify to read its verdict and seal picture.
Screenshots of each step go to SCREENSHOTS. Run by tests/web.rs; exits non-zero on the first
failed expectation, naming it.

Environment: BASE (server URL), SCREENSHOTS (directory), ADMIN_PASSWORD, SIGNED_PDF (a file).
"""

import base64
import hashlib
import hmac
import os
import re
import struct
import sys
import time

from playwright.sync_api import sync_playwright

BASE = os.environ["BASE"]
SHOTS = os.environ["SCREENSHOTS"]
ADMIN_PASSWORD = os.environ["ADMIN_PASSWORD"]
SIGNED_PDF = os.environ["SIGNED_PDF"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def expect(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def totp(secret_b32, at=None):
    """RFC 6238 with the defaults every authenticator app uses (SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def resident(first17):
    s = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17))
    c = (12 - s % 11) % 11
    return first17 + ("X" if c == 10 else str(c))


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        phone = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN"}
        ctx = browser.new_context(**phone)
        page = ctx.new_page()

        # ---- Register with an SMS code.
        mobile = "13912345678"
        page.goto(f"{BASE}/register")
        expect(page.title().startswith("注册个人账号"), f"register title: {page.title()}")
        shot(page, "flow-01-register-zh-CN-phone")
        page.fill("#code-mobile", mobile)
        page.click("#send-code")
        page.wait_for_selector("#dev-sms")
        sms = page.inner_text("#dev-sms")
        code = re.search(r"\b(\d{6})\b", sms)
        expect(code, f"a code in the development SMS banner: {sms!r}")
        shot(page, "flow-02-code-sent-zh-CN-phone")
        page.fill("#real_name", "李四")
        page.fill("#resident_id", "11010519800101001")  # check character wrong on purpose
        page.fill("#mobile", mobile)
        page.fill("#code", code.group(1))
        page.fill("#password", "correct horse battery staple")
        page.click("form[action='/register'] button[type=submit]")
        alert = page.inner_text(".alert")
        expect("居民身份证号码" in alert, f"the bad ID number is named: {alert!r}")
        shot(page, "flow-03-register-bad-id-zh-CN-phone")
        page.fill("#resident_id", resident("11010519800101001"))
        page.fill("#code", code.group(1))
        page.fill("#password", "correct horse battery staple")
        page.click("form[action='/register'] button[type=submit]")
        page.wait_for_url(f"{BASE}/home")
        expect("李四" in page.inner_text("main"), "the workspace greets the new person")
        shot(page, "flow-04-workspace-zh-CN-phone")

        # ---- The account page shows the numbers masked; log out.
        page.goto(f"{BASE}/account")
        text = page.inner_text("main")
        expect("139****5678" in text and mobile not in text, f"masked mobile: {text!r}")
        person = page.inner_text("dd.mono").strip()
        shot(page, "flow-05-account-zh-CN-phone")
        page.click("#logout")
        page.wait_for_url(f"{BASE}/")
        page.goto(f"{BASE}/home")
        expect(page.url.endswith("/login"), f"logged out: {page.url}")

        # ---- Log in with the mobile number; switch language.
        page.fill("#username", mobile)
        page.fill("#password", "wrong password!")
        page.click("form[action='/login'] button[type=submit]")
        expect("不正确" in page.inner_text(".alert"), "a wrong password is told")
        page.fill("#username", mobile)
        page.fill("#password", "correct horse battery staple")
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{BASE}/home")
        page.click("a.lang")
        page.wait_for_load_state()
        expect(page.title().startswith("Workspace"), f"English after the switch: {page.title()}")
        expect(page.locator("html").get_attribute("lang") == "en", "lang attribute")
        shot(page, "flow-06-workspace-en-phone")
        ctx.close()

        # ---- Staff: first login sets up the second factor; the next one needs the code.
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = ctx.new_page()
        page.goto(f"{BASE}/login")
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{BASE}/account/totp")
        secret = page.inner_text("#totp-secret").strip()
        shot(page, "flow-07-totp-setup-en-desktop")
        page.fill("#code", "000000" if totp(secret) != "000000" else "111111")
        page.click("form[action='/account/totp'] button[type=submit]")
        expect(page.locator(".alert").count() == 1, "a wrong code is refused")
        enrolled_at = time.time()
        page.fill("#code", totp(secret))
        page.click("form[action='/account/totp'] button[type=submit]")
        page.wait_for_url(f"{BASE}/home")
        expect("Platform administrator" in page.inner_text("main"), "the admin's workspace")
        shot(page, "flow-08-staff-workspace-en-desktop")
        page.click("#logout")
        page.wait_for_url(f"{BASE}/")
        page.goto(f"{BASE}/login")
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        expect("one-time code" in page.inner_text(".alert"), "staff need their code")
        shot(page, "flow-09-staff-needs-code-en-desktop")
        # The enrolment spent this step's code: wait for the next step.
        wait = 30 - (enrolled_at % 30) + 1
        if int(time.time() // 30) == int(enrolled_at // 30):
            time.sleep(wait)
        page.fill("#password", ADMIN_PASSWORD)
        page.fill("#totp", totp(secret))
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{BASE}/home")

        # ---- Organisations: register one (a bad code first), add the person as its seal admin.
        page.goto(f"{BASE}/orgs/new")
        page.fill("#credit_code", "91330106MA2H2XXX1Q")
        page.fill("#name", "示例科技有限公司")
        page.select_option("#kind", "enterprise")
        page.fill("#region", "330106")
        page.click("form[action='/orgs/new'] button[type=submit]")
        expect("credit code" in page.inner_text(".alert").lower(), "the bad code is named")
        page.fill("#credit_code", "91330100716105852F")
        page.click("form[action='/orgs/new'] button[type=submit]")
        page.wait_for_url(re.compile(r".*/orgs/o[a-z0-9]+$"))
        page.fill("#username", person)
        page.select_option("#role", "seal-admin")
        page.click("form[action$='/members'] button[type=submit]")
        page.wait_for_load_state()
        expect("Seal administrator" in page.inner_text("main"), "the member is listed")
        shot(page, "flow-11-organisation-en-desktop")
        page.goto(f"{BASE}/orgs?q=示例")
        expect(page.locator(".orglist li").count() == 1, "found by name")
        shot(page, "flow-12-organisations-en-desktop")
        # A test notification to the person, through the outbox (the API, with this session).
        r = page.request.post(f"{BASE}/api/v1/notifications/test",
                              data={"username": person, "channels": ["in-app"]})
        expect(r.status == 202, f"test notification queued: {r.status} {r.text()}")
        ctx.close()

        # ---- The person's notification centre: the message arrives, is read.
        ctx = browser.new_context(**phone)
        page = ctx.new_page()
        page.goto(f"{BASE}/login")
        page.fill("#username", mobile)
        page.fill("#password", "correct horse battery staple")
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{BASE}/home")
        for _ in range(50):
            page.goto(f"{BASE}/notifications")
            if page.locator("li.unread").count() > 0:
                break
            time.sleep(0.2)
        expect(page.locator("li.unread").count() == 1, "the notification arrived")
        shot(page, "flow-13-notifications-zh-CN-phone")
        page.click("#read-all")
        page.wait_for_load_state()
        expect(page.locator("li.unread").count() == 0, "marked read")
        ctx.close()

        # ---- The public portal: upload a signed PDF, read the verdict and the seal picture.
        ctx = browser.new_context(**phone)
        page = ctx.new_page()
        page.goto(f"{BASE}/verify")
        page.set_input_files("#file", SIGNED_PDF)
        page.click("form[action='/verify/upload'] button[type=submit]")
        page.wait_for_url(re.compile(r".*/verify/report/.*"))
        expect(page.locator(".verdict-valid").count() >= 1, "the verdict is valid")
        img = page.locator("img[src^='data:image/png;base64,']").first
        expect(img.count() == 1 and img.evaluate("i => i.naturalWidth") > 0,
               "the seal picture is shown")
        shot(page, "flow-10-verify-report-zh-CN-phone")
        ctx.close()

        # ---- Every public account page in both languages, on a phone and a desktop.
        for lang in ["zh-CN", "en"]:
            for device, vp in [("phone", (390, 844)), ("desktop", (1280, 900))]:
                ctx = browser.new_context(viewport={"width": vp[0], "height": vp[1]}, locale=lang)
                page = ctx.new_page()
                for name in ["login", "register", "password-reset"]:
                    page.goto(f"{BASE}/lang/{lang}?next=/{name}")
                    expect(page.locator("html").get_attribute("lang") == lang, f"{name} in {lang}")
                    expect("{{" not in page.content(), f"no template placeholder on {name}")
                    shot(page, f"{name}-{lang}-{device}")
                ctx.close()
        browser.close()
    print("console flows: all passed")


if __name__ == "__main__":
    main()
