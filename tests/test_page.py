"""The page at / in a real browser: Debian's headless Chromium driven by Playwright (pointed at the system browser,
never one of its own), against `python -m zoo.serve` started on a free loopback port and stopped at the end.

Without Chromium or Playwright these tests skip, unless ZOO_REQUIRE_BROWSER=1 (set by .ci/run) makes that a failure.
"""

import os
import shutil

import pytest

from tests.conftest import ROOT
from zoo import serve

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = sorted(path.parent.name for path in (ROOT / "saved_models").glob("*/saved_model.pb"))


def browser_or_skip():
    """The system Chromium's path and Playwright's sync API, or a skip (a failure under ZOO_REQUIRE_BROWSER=1)."""
    chromium = os.environ.get("ZOO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = [what for what, found in [("a chromium executable", chromium), ("playwright", sync_playwright)]
               if not found]
    if missing:
        message = f"the browser tests need {' and '.join(missing)} (apt-get install chromium; pip install playwright)"
        if os.environ.get("ZOO_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return chromium, sync_playwright


@pytest.fixture(scope="module")
def server_url(mnist_dir, tmp_path_factory):
    browser_or_skip()
    server = serve.ServerProcess(["--data-dir", mnist_dir], tmp_path_factory.mktemp("server") / "server.log")
    try:
        yield server.url
        assert server.process.poll() is None, f"the server died:\n{server.log.read_text()[-3000:]}"
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def browser(server_url):
    chromium, sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server_url):
    """The page, loaded (body[data-ready]), with every console error and uncaught exception collected in .errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.errors = []
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(server_url)
    page.wait_for_selector("body[data-ready=true]", timeout=120_000)
    yield page
    page.close()


def draw(page, points):
    """A stroke through `points` (fractions of the pad's width and height), with the mouse."""
    box = page.locator("#pad").bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for point in at[1:]:
        page.mouse.move(*point, steps=8)
    page.mouse.up()


def canvas_image(page, selector):
    return page.eval_on_selector(selector, "canvas => canvas.toDataURL()")


def show(page, view):
    page.click(f"nav button[data-view={view}]")
    page.wait_for_selector(f"section#{view}.view.active")


def test_the_page_loads_without_a_console_error(page, tmp_path):
    assert page.inner_text("#status") == f"{len(ARTIFACTS)} models"
    page.screenshot(path=tmp_path / "loaded.png")
    assert page.errors == []


def test_a_drawn_stroke_is_reconstructed_scored_and_read(page, tmp_path):
    draw(page, [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)])  # a 7
    page.wait_for_selector("#reconstructions[data-ready='1']", timeout=60_000)
    reconstructors = page.locator("#reconstructions .tile")
    assert reconstructors.count() >= 5
    assert "vae_mnist" in page.locator("#reconstructions .tile span").all_inner_texts()
    rows = page.locator("#scores tr").all_inner_texts()
    vae = next(row for row in rows if row.startswith("vae_mnist"))
    score, threshold, verdict = vae.split("\t")[1:4]
    assert float(score) > 0 and float(threshold) > 0 and verdict in {"normal", "unusual"}
    assert " reads a 7 " in page.inner_text("#prediction")
    page.screenshot(path=tmp_path / "draw.png")
    assert page.errors == []


def test_moving_a_slider_changes_the_decoded_image(page, tmp_path):
    show(page, "latent")
    page.wait_for_function("document.getElementById('latent-image').dataset.code !== undefined")
    before = canvas_image(page, "#latent-image")
    page.focus("#pc1")
    for _ in range(30):  # 30 steps of 0.05: 1.5 standard deviations along the first direction
        page.keyboard.press("ArrowRight")
    assert page.input_value("#pc1") == "1.5"
    page.wait_for_function("before => document.getElementById('latent-image').toDataURL() !== before", arg=before)
    page.screenshot(path=tmp_path / "latent.png")
    assert page.errors == []


def test_two_drawn_digits_give_a_slerp_strip(page):
    draw(page, [(0.5, 0.15), (0.5, 0.85)])
    page.click("#as-a")
    page.click("#clear")
    draw(page, [(0.3, 0.2), (0.7, 0.2), (0.7, 0.5), (0.3, 0.5), (0.3, 0.2)])  # an 0-ish loop
    page.click("#as-b")
    show(page, "latent")
    page.wait_for_function("document.querySelectorAll('#slerp-strip .tile').length === 8")
    assert page.errors == []


def test_the_generators_sample_and_reseed(page, tmp_path):
    show(page, "generate")
    assert page.locator("#cvae-row .tile").count() == 8
    page.select_option("#cvae-digit", "7")
    page.click("#cvae-sample")
    page.wait_for_function("[...document.querySelectorAll('#cvae-row .tile span')].every(s => s.textContent === '7')")
    grid = canvas_image(page, "#gen-grid")
    page.click("#gen-reseed")
    page.wait_for_function("before => document.getElementById('gen-grid').toDataURL() !== before", arg=grid)
    page.screenshot(path=tmp_path / "generate.png")
    assert page.errors == []


def test_the_gallery_lists_every_artifact(page, tmp_path):
    show(page, "gallery")
    cards = page.locator("#cards .card")
    assert sorted(cards.evaluate_all("cards => cards.map(c => c.dataset.model)")) == ARTIFACTS
    vae = page.locator("#cards .card[data-model=vae_mnist]")
    assert "recipes.vae_mnist" in vae.locator("code").inner_text()
    first_figure = vae.locator("img").first
    first_figure.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=first_figure.element_handle())
    page.screenshot(path=tmp_path / "gallery.png", full_page=True)
    assert page.errors == []
