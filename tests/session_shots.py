"""Screenshots of console pages as a signed-in person sees them, in headless Chromium (Debian's,
driven by Playwright). The session cookie is set directly (the tests made the session over the
API); each page is shot in zh-CN and English, on a phone and on a desktop, after checking that
it is the page asked for (HTTP 200, the expected title) and that nothing overflows the phone's
width. Run by tests/common (chromium::session_shots); exits non-zero naming the first failure.

Environment: BASE, SCREENSHOTS, TOKEN (the session), PAGES (JSON: [[name, path, zh title, en title]]).
"""

import json
import os
import sys

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
DEVICES = [("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1280, "height": 900})]


def main():
    base, shots, token = os.environ["BASE"], os.environ["SCREENSHOTS"], os.environ["TOKEN"]
    pages = json.loads(os.environ["PAGES"])
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for lang, idx in (("zh-CN", 2), ("en", 3)):
            for device, viewport in DEVICES:
                ctx = browser.new_context(viewport=viewport, locale=lang)
                ctx.set_default_timeout(20000)
                ctx.add_cookies([
                    {"name": "sealpki_session", "value": token, "url": base},
                    {"name": "lang", "value": lang, "url": base},
                ])
                page = ctx.new_page()
                for entry in pages:
                    name, path, title = entry[0], entry[1], entry[idx]
                    resp = page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    got = page.title()
                    if resp is None or resp.status != 200:
                        failures.append(f"{path} ({lang}): HTTP {resp and resp.status}")
                    if title not in got:
                        failures.append(f"{path} ({lang}): title {got!r} lacks {title!r}")
                    if device == "phone":
                        wide = page.evaluate("document.documentElement.scrollWidth")
                        if wide > viewport["width"] + 1:
                            failures.append(f"{path} ({lang}): {wide}px wide on a "
                                            f"{viewport['width']}px phone")
                    page.screenshot(path=os.path.join(shots, f"{name}-{lang}-{device}.png"),
                                    full_page=True)
                ctx.close()
        browser.close()
    if failures:
        print("FAILED:\n" + "\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
