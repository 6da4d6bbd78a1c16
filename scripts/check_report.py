#!/usr/bin/env python3
"""Checks attackmap's HTML report and SVG heatmaps for hostile upstream text, statically and in Chromium.

`python scripts/check_report.py OUT_DIR [--expect-text TEXT ...] [--expect-text-in-svg] [--screenshot PATH]`

1. OUT_DIR/report.html, parsed as a browser parses it (html5lib, through BeautifulSoup):
   - no <script>, <iframe>, <object>, <embed>, <base>, <form> element, no <meta http-equiv="refresh">,
     and no attribute named on* (an event handler) on any element, inline SVG included;
   - every <a href> (HTML or inline SVG) is an http(s):// URL or a relative path: no other scheme
     (javascript:, data:, file: …), no `//host` and no absolute path. Each http(s) link has a rel
     holding both `noopener` and `noreferrer`. Each relative path names a file that exists inside
     OUT_DIR, and each `#fragment` an id of the document;
   - no attribute anywhere holds a javascript: or vbscript: URL;
   - self-contained: nothing loaded from elsewhere (a src, srcset, poster or data attribute, a <link
     href>, a CSS url() or @import pointing at http(s):// or //host);
   - a <meta http-equiv="Content-Security-Policy"> in <head> that forbids scripts: `script-src 'none'`,
     or `default-src 'none'` with no script-src loosening it;
   - a non-empty <title>;
   - each --expect-text appears literally in the document's text content: escaped, not interpreted.
2. OUT_DIR/heatmaps/*.svg (at least one), parsed as XML with defusedxml (no entity declarations):
   root {http://www.w3.org/2000/svg}svg; no <script> or <foreignObject> (nor iframe, object, embed,
   nor any XHTML element), no on* attribute, no href/xlink:href other than a `#fragment`, no
   <set>/<animate> targeting an href, no javascript:/vbscript: URL in any attribute. Whether each
   --expect-text appears in some SVG's text is reported; it is required with --expect-text-in-svg.
3. Headless Chromium through Selenium (chromium or google-chrome, and chromedriver, from PATH or
   $CHROME_BIN / $CHROMEDRIVER; Selenium Manager is never asked to download one): report.html and each
   SVG are loaded from file://; after each load no alert/confirm/prompt dialog is open and the browser
   console holds no SEVERE entry; report.html has a non-empty document title and, with --screenshot,
   its full-page screenshot is saved there. Without a browser or driver this step prints
   `skip browser: <reason>` and is skipped; steps 1 and 2 still run.

Exits 1 with every failure listed (file and what was found), 0 when all hold.
"""

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import defusedxml.ElementTree as SafeET
from bs4 import BeautifulSoup

from checks import check, fail, ok, summary

SVG_NS = "http://www.w3.org/2000/svg"
XHTML_NS = "http://www.w3.org/1999/xhtml"
XLINK_NS = "http://www.w3.org/1999/xlink"
FORBIDDEN_HTML = ("script", "iframe", "object", "embed", "base", "form")
FORBIDDEN_SVG = {"script", "foreignobject", "iframe", "object", "embed"}
ANIMATIONS = {"set", "animate", "animatemotion", "animatetransform"}
# Attributes through which an element loads a resource by itself
LOADING_ATTRIBUTES = ("src", "srcset", "poster", "data", "background")
SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]*)|@import\s+['"]([^'"]*)""", re.IGNORECASE)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SCREENSHOT_MAX_HEIGHT = 16384


def show(value, limit=120):
    """A value quoted for a message, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalize_url(value):
    """The URL as a browser reads it: leading and trailing C0 controls and spaces stripped, tabs and
    newlines removed anywhere, backslashes as slashes (as for file: and http(s): URLs)."""
    value = value.strip("".join(chr(c) for c in range(0x21)))
    return re.sub(r"[\t\n\r]", "", value).replace("\\", "/")


def scheme_of(value):
    match = SCHEME.match(normalize_url(value))
    return match.group(1).lower() if match else None


def is_script_url(value):
    return scheme_of(value) in ("javascript", "vbscript")


def local(name):
    """The local name of an ElementTree tag or attribute ({ns}name), or of a prefixed name (ns:name)."""
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


# --- 1. report.html -----------------------------------------------------------------------------------


def check_report(out, label, expect_texts):
    path = out / "report.html"
    name = f"{label}/report.html"
    if not check(path.is_file(), f"{name} exists", f"no file {path}"):
        return False
    soup = BeautifulSoup(path.read_bytes(), "html5lib")
    elements = soup.find_all(True)
    ids = {element.get("id") for element in elements if element.get("id")}

    for tag in FORBIDDEN_HTML:
        found = soup.find_all(lambda element, tag=tag: element.name.lower() == tag)
        check(not found, f"{name}: no <{tag}> element",
              f"{len(found)} found, the first: {show(str(found[0]), 200) if found else ''}")
    refresh = [meta for meta in soup.find_all("meta") if meta.get("http-equiv", "").strip().lower() == "refresh"]
    check(not refresh, f"{name}: no <meta http-equiv=refresh>", show(str(refresh[0]), 200) if refresh else "")

    handlers = [(element.name, attribute, value) for element in elements
                for attribute, value in element.attrs.items() if local(attribute).lower().startswith("on")]
    check(not handlers, f"{name}: no on* event-handler attribute",
          f"{len(handlers)} found: " + "; ".join(f"<{tag} {attr}={show(value, 80)}>" for tag, attr, value in handlers[:5]))

    script_urls = [(element.name, attribute, value) for element in elements
                   for attribute, value in element.attrs.items()
                   if isinstance(value, str) and is_script_url(value)]
    check(not script_urls, f"{name}: no javascript:/vbscript: URL in any attribute",
          "; ".join(f"<{tag} {attr}={show(value, 80)}>" for tag, attr, value in script_urls[:5]))

    check_links(out, name, soup, ids)
    check_self_contained(name, soup, elements)
    check_csp(name, soup)

    title = soup.title.get_text().strip() if soup.title else ""
    check(bool(title), f"{name}: a non-empty <title>", "none" if soup.title is None else "empty")

    text = soup.get_text()
    for expected in expect_texts:
        check(expected in text, f"{name}: the text {show(expected)} appears literally (escaped, not interpreted)",
              "absent from the document's text content")
    return True


def check_links(out, name, soup, ids):
    """Every <a href> (and <a xlink:href> in inline SVG) is http(s) with rel=noopener noreferrer, or a
    relative path to an existing file inside OUT_DIR, or a fragment naming an id of the document."""
    anchors = [a for a in soup.find_all(lambda element: element.name.lower() == "a")]
    problems, external, relative, fragments = [], 0, 0, 0
    root = out.resolve()
    for anchor in anchors:
        for attribute, raw in anchor.attrs.items():
            if local(attribute).lower() != "href":
                continue
            href = normalize_url(raw)
            scheme = scheme_of(href)
            if scheme in ("http", "https"):
                external += 1
                rel = anchor.get("rel") or []
                rel = {token.lower() for token in (rel.split() if isinstance(rel, str) else rel)}
                missing = {"noopener", "noreferrer"} - rel
                if missing:
                    problems.append(f"<a href={show(raw, 80)}> has rel={sorted(rel)}, lacking {' and '.join(sorted(missing))}")
            elif scheme is not None:
                problems.append(f"<a href={show(raw, 80)}>: scheme {scheme}: is neither http(s) nor a relative path")
            elif href.startswith("//"):
                problems.append(f"<a href={show(raw, 80)}>: a network-path reference (//host), not a relative path")
            elif href.startswith("/"):
                problems.append(f"<a href={show(raw, 80)}>: an absolute path, not a relative one")
            elif href.startswith("#") or href == "":
                fragments += 1
                fragment = unquote(href[1:])
                if fragment and fragment not in ids:
                    problems.append(f"<a href={show(raw, 80)}>: no element has id {show(fragment)}")
            else:
                relative += 1
                parts = urlsplit(href)
                target = (out / unquote(parts.path)).resolve()
                if not target.is_relative_to(root):
                    problems.append(f"<a href={show(raw, 80)}> points outside {out}")
                elif not target.exists():
                    problems.append(f"<a href={show(raw, 80)}>: no file {target.relative_to(root)} in {out.name}/")
    check(not problems, f"{name}: {len(anchors)} links safe ({external} http(s) with rel=noopener noreferrer, "
                        f"{relative} relative to existing files, {fragments} #fragments)",
          f"{len(problems)} bad: " + "; ".join(problems[:8]))


def remote(value):
    value = normalize_url(value)
    return scheme_of(value) in ("http", "https", "ftp", "ws", "wss") or value.startswith("//")


def check_self_contained(name, soup, elements):
    """Nothing is loaded from another host: src/srcset/poster/data attributes, <link href>, CSS."""
    loads = []
    for element in elements:
        for attribute, value in element.attrs.items():
            if not isinstance(value, str):
                value = " ".join(value)
            attribute = local(attribute).lower()
            if attribute in LOADING_ATTRIBUTES and any(remote(part) for part in re.split(r"[\s,]+", value) if part):
                loads.append(f"<{element.name} {attribute}={show(value, 80)}>")
            elif attribute == "href" and element.name.lower() in ("link", "image", "use", "feimage") and remote(value):
                loads.append(f"<{element.name} href={show(value, 80)}>")
            elif attribute == "style":
                loads += [f"<{element.name} style> loads {show(url, 80)}" for url in css_urls(value) if remote(url)]
    for style in soup.find_all("style"):
        loads += [f"<style> loads {show(url, 80)}" for url in css_urls(style.get_text()) if remote(url)]
    check(not loads, f"{name}: self-contained (nothing loaded from another host)",
          f"{len(loads)} found: " + "; ".join(loads[:5]))


def css_urls(css):
    return [a or b for a, b in CSS_URL.findall(css)]


def check_csp(name, soup):
    """A CSP <meta> in <head> whose policy forbids every script."""
    metas = [meta for meta in soup.find_all("meta")
             if meta.get("http-equiv", "").strip().lower() == "content-security-policy"]
    if not check(bool(metas), f"{name}: a <meta http-equiv=Content-Security-Policy>", "none found"):
        return
    verdicts = []
    for meta in metas:
        policy = meta.get("content", "")
        directives = {}
        for directive in policy.split(";"):
            tokens = directive.split()
            if tokens and tokens[0].lower() not in directives:  # a repeated directive is ignored
                directives[tokens[0].lower()] = [token.lower() for token in tokens[1:]]
        governing = "script-src" if "script-src" in directives else "default-src"
        in_head = meta.find_parent("head") is not None
        blocks = directives.get(governing) == ["'none'"]
        verdicts.append((in_head and blocks, policy, governing, directives.get(governing), in_head))
    good = [v for v in verdicts if v[0]]
    detail = "; ".join(
        f"{show(policy, 160)}: " + ("not in <head>, so ignored" if not in_head else
                                   f"{governing} is {' '.join(sources) if sources is not None else 'absent'}, not 'none'")
        for _, policy, governing, sources, in_head in verdicts)
    which = f"{good[0][2]} 'none'" if good else "script-src or default-src 'none'"
    check(bool(good), f"{name}: the Content-Security-Policy forbids scripts ({which})", detail)


# --- 2. heatmaps/*.svg --------------------------------------------------------------------------------


def check_svgs(out, label, expect_texts, require_texts):
    svgs = sorted((out / "heatmaps").glob("*.svg"))
    if not check(bool(svgs), f"{label}/heatmaps/: at least one .svg", f"none in {out / 'heatmaps'}"):
        return []
    texts = {}
    for path in svgs:
        name = f"{label}/heatmaps/{path.name}"
        try:
            root = SafeET.parse(path).getroot()
        except Exception as error:  # noqa: BLE001 - ParseError, EntitiesForbidden, DTDForbidden …
            fail(f"{name}: does not parse as XML: {type(error).__name__}: {error}")
            continue
        check(root.tag == f"{{{SVG_NS}}}svg", f"{name}: root is <svg> in the SVG namespace", f"root is {root.tag}")
        problems = []
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            tag = local(element.tag)
            if tag.lower() in FORBIDDEN_SVG or element.tag.startswith(f"{{{XHTML_NS}}}"):
                problems.append(f"a <{tag}> element" + (" (XHTML)" if element.tag.startswith(f"{{{XHTML_NS}}}") else ""))
            if tag.lower() in ANIMATIONS and local(element.get("attributeName", "")).lower() == "href":
                problems.append(f"<{tag} attributeName={show(element.get('attributeName'))}> animates a link")
            for attribute, value in element.attrib.items():
                attribute_name = local(attribute)
                if attribute_name.lower().startswith("on"):
                    problems.append(f"<{tag} {attribute_name}={show(value, 80)}>")
                elif attribute_name.lower() == "href" and not value.strip().startswith("#"):
                    problems.append(f"<{tag} {'xlink:' if attribute.startswith(f'{{{XLINK_NS}}}') else ''}href="
                                    f"{show(value, 80)}>: not a #fragment")
                elif is_script_url(value):
                    problems.append(f"<{tag} {attribute_name}={show(value, 80)}>: a script URL")
        check(not problems, f"{name}: no script, foreignObject, on* handler or external href",
              f"{len(problems)} found: " + "; ".join(problems[:12]))
        texts[name] = "".join(root.itertext())
    for expected in expect_texts:
        holders = [name for name, text in texts.items() if expected in text]
        message = f"{label}/heatmaps/: the text {show(expected)} appears literally in an SVG"
        if holders:
            ok(f"{message} ({holders[0].rsplit('/', 1)[-1]}{' and others' if len(holders) > 1 else ''})")
        elif require_texts:
            fail(f"{message}: in none of the {len(texts)} SVG files' text")
        else:
            print(f"  info {message}: no (not required without --expect-text-in-svg)")
    return svgs


# --- 3. headless Chromium -----------------------------------------------------------------------------


def find_browser():
    """(browser, chromedriver, None) or (None, None, reason)."""
    browser = os.environ.get("CHROME_BIN") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if not browser:
        return None, None, f"no {', '.join(BROWSERS)} on PATH (nor $CHROME_BIN)"
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not driver:
        return None, None, f"{browser} found but no chromedriver on PATH (nor $CHROMEDRIVER)"
    return browser, driver, None


def check_browser(out, label, svgs, screenshot):
    pages = [path for path in [out / "report.html"] + svgs if path.is_file()]
    browser, chromedriver, reason = find_browser()
    if not pages:
        reason = "no report.html nor heatmap SVG to load"
    if reason:
        if os.environ.get("CI") == "true" and pages:
            # A CI run without the browser would look green without having loaded a page.
            fail(f"{label}: the browser step cannot run under CI=true: {reason}")
            return
        print(f"skip browser: {reason}")
        return
    # Never let Selenium Manager reach for a browser or driver of its own: both paths are given.
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--window-size=1280,2000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A dialog stays open (instead of being dismissed by the next command) so that it can be seen.
    options.set_capability("unhandledPromptBehavior", "ignore")
    started = time.monotonic()
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    except WebDriverException as error:
        fail(f"{label}: Chromium ({browser}, {chromedriver}) does not start: {first_line(error)}")
        return
    try:
        version = driver.capabilities.get("browserVersion", "?")
        print(f"  Chromium {version} started in {time.monotonic() - started:.2f} s ({browser})")
        driver.set_page_load_timeout(60)
        for path in pages:
            name = f"{label}/{path.relative_to(out)}"
            try:
                check_page(driver, path, name, screenshot if path.suffix != ".svg" else None)
            except WebDriverException as error:
                fail(f"{name}: Chromium raised {type(error).__name__}: {first_line(error)}")
                dismiss_dialogs(driver)
    finally:
        driver.quit()


def first_line(error):
    text = (getattr(error, "msg", None) or str(error)).strip()
    return text.splitlines()[0][:300] if text else ""


def dismiss_dialogs(driver, limit=20):
    """The texts of the JavaScript dialogs open now, and of those opening as each is dismissed."""
    from selenium.common.exceptions import NoAlertPresentException, WebDriverException

    texts = []
    for _ in range(limit):
        try:
            alert = driver.switch_to.alert
        except NoAlertPresentException:
            if not texts:
                break
            time.sleep(0.2)  # the page's next script may open another one
            try:
                alert = driver.switch_to.alert
            except NoAlertPresentException:
                break
        except WebDriverException:
            break
        texts.append(alert.text)
        alert.dismiss()
    return texts


def check_page(driver, path, name, screenshot):
    """One page loaded in Chromium: no dialog, no SEVERE console entry; report.html: a title, the screenshot."""
    from selenium.webdriver.common.by import By

    started = time.monotonic()
    driver.get(path.resolve().as_uri())
    loaded = time.monotonic() - started
    dialogs = dismiss_dialogs(driver)
    check(not dialogs, f"{name}: no JavaScript dialog open in Chromium after load (loaded in {loaded:.2f} s)",
          f"{len(dialogs)} opened, saying " + ", ".join(show(text, 60) for text in dialogs[:6]))
    severe = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    check(not severe, f"{name}: no SEVERE entry in Chromium's console",
          f"{len(severe)}: " + " | ".join(show(entry.get("message", ""), 200) for entry in severe[:4]))
    if path.suffix == ".svg":
        root = driver.find_element(By.XPATH, "/*").tag_name
        check(root == "svg", f"{name}: Chromium renders it as an SVG document", f"its root is <{root}>")
        return
    title = driver.title
    check(bool(title.strip()), f"{name}: Chromium shows a non-empty title ({show(title, 60)})", "empty")
    if screenshot:
        save_screenshot(driver, name, screenshot)


def save_screenshot(driver, name, screenshot):
    """The whole page (CDP Page.captureScreenshot beyond the viewport, at most 16384 px high), or the
    1280x2000 window when CDP cannot."""
    import base64

    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    try:
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width = max(1280, int(size["width"]))
        height = min(SCREENSHOT_MAX_HEIGHT, max(1, int(size["height"])))
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        check(screenshot.stat().st_size > 0, f"{name}: full-page screenshot {width}x{height} saved to {screenshot}")
    except Exception as error:  # noqa: BLE001 - fall back to the window's screenshot
        print(f"  info full-page screenshot failed ({type(error).__name__}), saving the 1280x2000 window")
        check(driver.save_screenshot(str(screenshot)), f"{name}: screenshot saved to {screenshot}", "not written")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, metavar="OUT_DIR", help="an attackmap output directory")
    parser.add_argument("--expect-text", action="append", default=[], metavar="TEXT",
                        help="text that must appear literally in report.html's text (repeatable)")
    parser.add_argument("--expect-text-in-svg", action="store_true",
                        help="each --expect-text must also appear in some heatmap SVG's text")
    parser.add_argument("--screenshot", type=Path, metavar="PATH", help="where to save report.html's screenshot")
    args = parser.parse_args()

    out = args.out.resolve()
    label = out.name
    print(f"report and heatmaps in {args.out}")
    if not check(out.is_dir(), f"{label}: is a directory", f"no directory {args.out}"):
        return summary("report")
    check_report(out, label, args.expect_text)
    svgs = check_svgs(out, label, args.expect_text, args.expect_text_in_svg)
    try:
        check_browser(out, label, svgs, args.screenshot)
    except Exception as error:  # noqa: BLE001 - a browser failure is a failed check, not a crash
        fail(f"{label}: the Chromium step raised {type(error).__name__}: {first_line(error)}")
    return summary("report")


if __name__ == "__main__":
    sys.exit(main())
