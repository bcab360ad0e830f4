"""``aggregator serve`` in a real browser: the distribution's headless Chromium, driven
through chromedriver (selenium), loads the front page, a story, an article, a search and
the sources page at desktop (1280 px) and phone (360 px) widths.

Checked on every page: no console error (a CSP violation is one), no request to another
host, every same-site link answers, hostile headlines are text, every image has alt text,
headings descend in order from one h1, nothing is wider than a 360 px screen. Screenshots
of each page at both widths go to ``$AGGREGATOR_SCREENSHOTS`` (default: a folder under
pytest's temporary directory), whose path the test prints at the end of the session.

Without chromium and chromedriver the test skips, unless ``AGGREGATOR_REQUIRE_SERVICES=1``
(CI, whose ``.ci/run`` installs them) makes that a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from aggregator.storage.database import make_engine
from aggregator.storage.models import Article
from tests.conftest import SEED_URL, require_service
from tests.test_web import HOSTILE_TITLE, _free_port, build_demo, serve

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTHS = (1280, 360)
READER_TZ = "Asia/Tokyo"
# Headless, and none of the browser's own traffic (updates, sync), which would be
# requests to other hosts that no page made.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
)


def _missing() -> str | None:
    for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not (Path(path).exists() or shutil.which(name)):
            return f"{name} not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``aggregator serve --images`` on the demo database with hostile rows. The demo's
    image URLs name the outlets' hosts, which a test must not reach: they are pointed at
    the server's own icon, so the pages show images without leaving 127.0.0.1."""
    reason = _missing()
    if reason:
        require_service(reason)
    db = tmp_path_factory.mktemp("browser") / "demo.db"
    url = f"sqlite:///{db}"
    ids = build_demo(url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            update(Article)
            .where(Article.image.is_not(None), Article.image.like("http%"))
            .values(image=f"{base}/static/favicon.svg")
        )
    engine.dispose()
    proc = serve(str(db), port, "--images")
    try:
        yield {"base": base, "ids": ids, "db": url}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go (listed at the end of the run by conftest's summary)."""
    folder = Path(
        os.environ.get("AGGREGATOR_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _driver(javascript: bool = True) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = (
        CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium") or CHROMIUM
    )
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    driver_path = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")
    # The reader's zone is not the server's (UTC): times must be rewritten into it.
    service = Service(driver_path, env={**os.environ, "TZ": READER_TZ})
    return webdriver.Chrome(service=service, options=options)


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    driver = _driver()
    try:
        yield driver
    finally:
        driver.quit()


def seed_ids(server: dict[str, Any]) -> tuple[int, int]:
    """The seed article's id and its story's, read from the API."""
    with urllib.request.urlopen(f"{server['base']}/api/search?q=All+of+Us+Are+Dead") as res:
        hits = json.load(res)["articles"]
    seed = next(a for a in hits if a["canonical_url"] == SEED_URL)
    return int(seed["id"]), int(seed["story_id"])


def pages(server: dict[str, Any]) -> dict[str, str]:
    article, story = seed_ids(server)
    ids = server["ids"]
    return {
        "front": "/?window=1y",
        "front-default": "/",
        "story": f"/stories/{story}",
        "article": f"/articles/{article}",
        "search": "/search?q=All+of+Us+Are+Dead&by_story=1",
        "sources": "/sources",
        "hostile-story": f"/stories/{ids['story']}",
        "hostile-article": f"/articles/{ids['article']}",
    }


def _requests(driver: Any) -> list[str]:
    """URLs the page requested since the last call (from the DevTools performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


PAGE_FACTS = """
const heads = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1]);
const imgs = [...document.querySelectorAll('img')].map(i => i.getAttribute('alt'));
const svgs = [...document.querySelectorAll('svg')].map(s =>
    s.getAttribute('role') === 'img' ? s.getAttribute('aria-label') : 'decorative');
const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
const scripts = [...document.querySelectorAll('script')].map(s => s.src);
const small = [...document.querySelectorAll('a, button, input, select')].filter(e => {
    const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > innerWidth + 1);
}).map(e => e.outerHTML.slice(0, 80));
return {heads, imgs, svgs, links, scripts, small,
        h1: document.querySelector('h1') && document.querySelector('h1').textContent,
        scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
        height: document.documentElement.scrollHeight, pwned: window.pwned === true};
"""


def _check_page(driver: Any, base: str, path: str) -> dict[str, Any]:
    driver.get(base + path)
    facts: dict[str, Any] = driver.execute_script(PAGE_FACTS)
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, f"{path}: console errors {errors}"
    host = urlsplit(base).netloc
    foreign = [u for u in _requests(driver)
               if not u.startswith("data:") and urlsplit(u).netloc != host]  # fmt: skip
    assert not foreign, f"{path}: requests to other hosts {foreign}"
    # Accessibility basics.
    assert all(alt and alt.strip() for alt in facts["imgs"]), f"{path}: image without alt"
    assert all(label and label.strip() for label in facts["svgs"]), f"{path}: unlabelled chart"
    heads = facts["heads"]
    assert heads and heads[0] == 1 and heads.count(1) == 1, f"{path}: headings {heads}"
    assert all(b <= a + 1 for a, b in itertools.pairwise(heads)), f"{path}: heading skips {heads}"
    assert facts["scrollWidth"] <= facts["innerWidth"], (
        f"{path}: {facts['scrollWidth']} px wide in a {facts['innerWidth']} px window"
    )
    assert not facts["small"], f"{path}: controls beyond the right edge {facts['small']}"
    # Only our own script, and nothing a headline smuggled in ran.
    assert {urlsplit(s).path for s in facts["scripts"]} == {"/static/time.js"}
    assert not facts["pwned"]
    return facts


def _screenshot(driver: Any, folder: Path, name: str, width: int, height: int) -> Path:
    driver.set_window_size(width, min(max(height, 600), 6000))
    path = folder / f"{name}-{width}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 1000
    return path


def test_pages_in_a_real_browser(server: dict[str, Any], browser: Any, shots: Path) -> None:
    base = server["base"]
    links: set[str] = set()
    for width in WIDTHS:
        browser.set_window_size(width, 900)
        for name, path in pages(server).items():
            browser.get("about:blank")
            _requests(browser)  # drop the log so far
            facts = _check_page(browser, base, path)
            if width == 360:
                assert facts["innerWidth"] == 360
            links.update(u for u in facts["links"] if u.startswith(base))
            _screenshot(browser, shots, name, width, facts["height"])
            browser.set_window_size(width, 900)
    # Every same-site link on these pages answers.
    broken = []
    for url in sorted(links):
        try:
            with urllib.request.urlopen(url, timeout=10) as res:
                status = res.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        if status != 200:
            broken.append((url, status))
    assert not broken, broken
    assert len(links) > 20
    assert len(list(shots.glob("*.png"))) >= 2 * len(pages(server))


def test_hostile_headline_is_text(server: dict[str, Any], browser: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    for path in (f"/stories/{server['ids']['story']}", f"/articles/{server['ids']['article']}"):
        browser.get(server["base"] + path)
        assert browser.find_element(By.TAG_NAME, "h1").text == HOSTILE_TITLE
        assert not browser.find_elements(By.CSS_SELECTOR, "iframe, img[src='x'], [onerror]")
        with pytest.raises(NoAlertPresentException):
            _ = browser.switch_to.alert.text


def test_links_navigate(server: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.set_window_size(360, 900)
    browser.get(server["base"] + "/?window=1y")
    first = browser.find_element(By.CSS_SELECTOR, "li.story h2 a")
    headline = first.text
    first.click()
    assert browser.find_element(By.TAG_NAME, "h1").text == headline
    browser.find_element(By.CSS_SELECTOR, "ol.coverage h3 a").click()
    assert "/articles/" in browser.current_url
    browser.find_element(By.LINK_TEXT, "Search").click()
    box = browser.find_element(By.ID, "q")
    box.send_keys("netflix")
    box.submit()
    assert "/search?q=netflix" in browser.current_url
    assert browser.find_elements(By.CSS_SELECTOR, "ol.results mark")


def test_works_without_javascript(server: dict[str, Any]) -> None:
    """A reader without JavaScript gets the whole page: the script only rewrites times,
    which stay as the server wrote them (UTC)."""
    from selenium.webdriver.common.by import By

    driver = _driver(javascript=False)
    try:
        driver.get(server["base"] + "/?window=1y")
        headlines = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "li.story h2 a")]
        assert "All of Us Are Dead Season 2 Officially Confirmed by Netflix" in headlines
        times = [t.text for t in driver.find_elements(By.TAG_NAME, "time")]
        assert times and all(t.endswith(" UTC") for t in times)
        driver.find_element(By.LINK_TEXT, "Sources").click()
        assert driver.find_element(By.TAG_NAME, "h1").text == "Sources"
    finally:
        driver.quit()


def test_times_in_the_readers_zone(server: dict[str, Any], browser: Any) -> None:
    """The browser runs in Tokyo (TZ): the script shows times there, the UTC text kept
    as the element's title."""
    from selenium.webdriver.common.by import By

    article, _story = seed_ids(server)
    browser.get(f"{server['base']}/articles/{article}")
    t = browser.find_element(By.TAG_NAME, "time")
    assert "GMT+9" in t.text and t.get_attribute("title").endswith(" UTC")
    assert "Asia/Tokyo" in browser.find_element(By.CLASS_NAME, "tzname").text
