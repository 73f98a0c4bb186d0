"""The page at / in a real browser: Debian's headless Chromium driven by Playwright (pointed at the system browser,
never one of its own), against `python -m zoo.serve` started on a free loopback port and stopped at the end.

Every view is checked for every model the server offers it (read from GET /v1/models, never listed here), and every
test fails on a console error, a dialog, an error in the status line or an image that did not change.

Without Chromium or Playwright these tests skip, unless ZOO_REQUIRE_BROWSER=1 (set by .ci/run) makes that a failure.
"""

import json
import os
import shutil
import urllib.request

import pytest

from tests import own_data
from tests.conftest import ROOT
from zoo import serve

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = sorted(path.parent.name for path in (ROOT / "saved_models").glob("*/saved_model.pb"))
DESKTOP = {"width": 1280, "height": 1000}
PHONE = {"width": 390, "height": 844}
SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]
ONE = [(0.5, 0.15), (0.5, 0.85)]
ZERO = [(0.5, 0.15), (0.75, 0.35), (0.7, 0.75), (0.45, 0.85), (0.28, 0.6), (0.3, 0.3), (0.5, 0.15)]
# A script in every piece of card text; none of them may run.
HOSTILE = '<img src=x onerror="window.pwned=1">'


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


def start_server(args, log):
    """A server on `args` (stopped at the end), failing the test if it died or logged a traceback."""
    server = serve.ServerProcess(args, log)
    try:
        yield server.url
        assert server.process.poll() is None, f"the server died:\n{server.log.read_text()[-3000:]}"
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    browser_or_skip()
    yield from start_server([], tmp_path_factory.mktemp("server") / "server.log")


@pytest.fixture(scope="module")
def models(server_url):
    """GET /v1/models: {name: summary}."""
    with urllib.request.urlopen(f"{server_url}/v1/models") as response:
        return {model["name"]: model for model in json.load(response)["models"]}


def taking(models, signature, inputs):
    """The names of the models whose `signature` takes exactly `inputs`."""
    return sorted(name for name, model in models.items() if set(model["signatures"].get(signature, ())) == inputs)


@pytest.fixture(scope="module")
def browser(server_url):
    chromium, sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """Opens a page at a URL and waits until it is loaded (body[data-ready]), with every console error, uncaught
    exception and dialog collected in its .errors; closed at the test's end."""
    pages = []

    def open_page(url, viewport=DESKTOP):
        page = browser.new_page(viewport=viewport)
        pages.append(page)
        page.set_default_timeout(30_000)
        page.errors = []
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("dialog", lambda dialog: (page.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=120_000)
        assert_fine(page)
        return page

    yield open_page
    for page in pages:
        page.close()


@pytest.fixture
def page(open_page, server_url):
    return open_page(server_url)


def assert_fine(page):
    """No error in the status line, none on the console, no dialog."""
    status = page.inner_text("#status")
    assert not status.startswith("error"), status
    assert page.errors == []


def settle(page, condition, arg=None):
    """Waits until the JavaScript function `condition(arg)` holds, or at once fails on an error in the status line."""
    page.wait_for_function(f"arg => ({condition})(arg) || "
                           "document.getElementById('status').textContent.startsWith('error')", arg=arg)
    assert_fine(page)


def wait_drawn(page, selector, drawn):
    """Waits until the element's data-drawn (what it shows: model and settings) is `drawn`."""
    settle(page, "([selector, drawn]) => document.querySelector(selector).dataset.drawn === drawn", [selector, drawn])


def drawn(page, selector):
    return page.eval_on_selector(selector, "element => element.dataset.drawn")


def image(page, selector):
    """The pixels of every canvas matched by `selector`, as data URLs."""
    return page.eval_on_selector_all(selector, "canvases => canvases.map(c => c.toDataURL())")


def contrast(canvas):
    """The brightest minus the darkest grey level on a canvas (0 for a blank one)."""
    return canvas.evaluate("""canvas => {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let low = 255, high = 0;
        for (let i = 0; i < data.length; i += 4) { low = Math.min(low, data[i]); high = Math.max(high, data[i]); }
        return high - low; }""")


def set_range(page, selector, value):
    page.eval_on_selector(selector, "(input, value) => { input.value = value; "
                                    "input.dispatchEvent(new Event('input')); }", str(value))


def options(page, selector):
    return page.eval_on_selector_all(f"{selector} option", "options => options.map(o => o.value)")


def select(page, selector, value):
    """Selects `value`, and has the page draw it again if it was already selected."""
    if page.input_value(selector) == value:
        page.dispatch_event(selector, "change")
    else:
        page.select_option(selector, value)


def draw(page, points):
    """A stroke through `points` (fractions of the pad's width and height), with the mouse."""
    box = page.locator("#pad").bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for point in at[1:]:
        page.mouse.move(*point, steps=8)
    page.mouse.up()


def draw_and_wait(page, points):
    """Draws a digit on a clear pad and waits for every model's answer."""
    page.click("#clear")
    ready = page.eval_on_selector("#reconstructions", "tiles => Number(tiles.dataset.ready || 0)")
    draw(page, points)
    settle(page, "ready => Number(document.getElementById('reconstructions').dataset.ready || 0) > ready", ready)


def set_digits(page):
    """A drawn 1 as slerp's digit A and a drawn 0 as B."""
    for points, button in [(ONE, "#as-a"), (ZERO, "#as-b")]:
        draw_and_wait(page, points)
        page.click(button)


def show(page, view):
    page.click(f"nav button[data-view={view}]")
    page.wait_for_selector(f"section#{view}.view.active")


def test_the_page_loads_without_a_console_error(page, tmp_path):
    assert page.inner_text("#status") == f"{len(ARTIFACTS)} models"
    page.screenshot(path=tmp_path / "loaded.png")
    assert_fine(page)


def test_every_autoencoder_reconstructs_a_drawn_digit_and_the_classifier_reads_it(page, models, tmp_path):
    draw_and_wait(page, SEVEN)
    tiles = page.locator("#reconstructions .tile")
    assert sorted(tiles.locator("span").all_inner_texts()) == taking(models, "reconstruct", {"images"})
    blank = [tile.locator("span").inner_text() for tile in tiles.all() if contrast(tile.locator("canvas")) < 100]
    assert blank == []
    assert " reads a 7 " in page.inner_text("#prediction")
    page.screenshot(path=tmp_path / "draw.png")
    assert_fine(page)


def test_the_score_table_says_what_the_score_is_and_heads_every_column(page, models):
    draw_and_wait(page, SEVEN)
    scored = taking(models, "score", {"images"})
    caption = page.inner_text("#scores caption")
    assert "higher = more unusual" in caption
    for model in scored:
        assert f"top {100 * models[model]['anomaly']['target_false_positive_rate']:g}% of normal digits" in caption
    headers = page.locator("#scores thead th").all_inner_texts()
    assert all(header.strip() for header in headers), headers
    rows = []
    for group in page.locator("#scores tbody").all():
        measure = group.locator("th").inner_text()  # what the scores of this group of rows measure
        for row in group.locator("tr:has(td)").all():
            cells = row.locator("td").all_inner_texts()
            assert len(cells) == len(headers)
            rows.append(dict(zip(headers, cells), measure=measure))
    assert sorted(row["model"] for row in rows) == scored
    for row in rows:
        card = models[row["model"]]["anomaly"]
        assert row["measure"] == card["score"]
        assert float(row["anomaly score"]) > 0
        assert float(row["card threshold"]) == pytest.approx(card["threshold"], abs=0.05)
        assert row["verdict"] == ("unusual" if float(row["anomaly score"]) > card["threshold"] else "normal")


def test_every_latent_model_redraws_when_a_slider_moves(page, models):
    show(page, "latent")
    latent = options(page, "#latent-model")
    assert sorted(latent) == sorted(name for name, model in models.items() if model["latent"])
    assert "vae_mnist" in latent and "sparse_ae_mnist" in latent  # (the committed cards hold the directions)
    unchanged = []
    for model in latent:
        set_range(page, "#pc1", 0)
        select(page, "#latent-model", model)
        wait_drawn(page, "#latent-image", f"{model} 0.00 0.00")
        before = image(page, "#latent-image")
        set_range(page, "#pc1", 1.5)
        wait_drawn(page, "#latent-image", f"{model} 1.50 0.00")
        if image(page, "#latent-image") == before:
            unchanged.append(model)
    assert unchanged == []


def test_every_latent_model_slerps_between_two_drawn_digits(page, tmp_path):
    set_digits(page)
    show(page, "latent")
    unchanged = []
    for model in options(page, "#latent-model"):
        set_range(page, "#slerp-t", 0)
        select(page, "#latent-model", model)
        wait_drawn(page, "#slerp-image", f"{model} t=0.00")
        assert page.locator("#slerp-strip .tile").count() == 8
        start = image(page, "#slerp-image")
        set_range(page, "#slerp-t", 1)
        wait_drawn(page, "#slerp-image", f"{model} t=1.00")
        if image(page, "#slerp-image") == start:
            unchanged.append(model)
    page.screenshot(path=tmp_path / "latent.png")
    assert unchanged == []


def test_every_sampler_draws_and_reseeds(page, models, tmp_path):
    show(page, "generate")
    # (model selector, the sample inputs of its models, what shows the samples, the button that draws new ones)
    for selector, inputs, target, resample in [("#gen-model", {"num", "seed"}, "#gen-grid", "#gen-reseed"),
                                               ("#cvae-model", {"num", "seed", "digit"}, "#cvae-row", "#cvae-sample")]:
        samplers = options(page, selector)
        assert sorted(samplers) == taking(models, "sample", inputs)
        for model in samplers:
            table = models[model].get("data", {}).get("kind") == "table"  # its samples show as a table of rows
            shown_in = "#gen-table" if table else target
            canvases = f"canvas{shown_in}, {shown_in} canvas"  # the target itself or the canvases in it
            select(page, selector, model)
            settle(page, "([target, model]) => (document.querySelector(target).dataset.drawn || '')"
                         ".startsWith(model + ' ')", [shown_in, model])
            before, seed = (page.inner_text(shown_in) if table else image(page, canvases)), drawn(page, shown_in)
            page.click(resample)
            settle(page, "([target, seed]) => document.querySelector(target).dataset.drawn !== seed", [shown_in, seed])
            assert drawn(page, shown_in).startswith(f"{model} ")
            assert (page.inner_text(shown_in) if table else image(page, canvases)) != before, model
    page.select_option("#cvae-digit", "7")
    settle(page, "() => [...document.querySelectorAll('#cvae-row .tile span')].every(s => s.textContent === '7')")
    page.screenshot(path=tmp_path / "generate.png")


def test_an_error_clears_once_the_next_action_succeeds(page):
    show(page, "generate")

    def refuse(route):
        route.fulfill(status=400, content_type="application/json", body='{"error": "refused by the test"}')

    page.route("**/*:predict", refuse)
    page.click("#gen-sample")
    page.wait_for_function("document.getElementById('status').textContent === 'error: refused by the test'")
    page.unroute("**/*:predict")
    page.errors.clear()  # the browser logs the refused request
    before = image(page, "#gen-grid")[0]
    page.click("#gen-reseed")
    page.wait_for_function("before => document.getElementById('gen-grid').toDataURL() !== before", arg=before)
    assert page.inner_text("#status") == f"{len(ARTIFACTS)} models"
    assert_fine(page)


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
    assert_fine(page)


def test_nothing_overflows_sideways_on_a_phone(open_page, server_url, tmp_path):
    page = open_page(server_url, PHONE)
    set_digits(page)
    draw_and_wait(page, SEVEN)
    wide = {}
    for view in ["draw", "inputs", "latent", "generate", "gallery"]:
        show(page, view)
        page.screenshot(path=tmp_path / f"phone_{view}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[view] = width
    assert wide == {}
    assert_fine(page)


@pytest.fixture
def hostile_url(tmp_path):
    """A server on one real artifact (ae_mnist's files) under a hostile directory name, with a figure of a hostile
    name and a card whose every text holds markup."""
    source = ROOT / "saved_models" / "ae_mnist"
    artifact = tmp_path / "models" / HOSTILE
    artifact.mkdir(parents=True)
    for name in ["saved_model.pb", "variables"]:
        (artifact / name).symlink_to(source / name)
    (artifact / f"{HOSTILE}.png").symlink_to(source / "reconstructions.png")
    card = json.loads((source / "card.json").read_text())
    card.update(model=HOSTILE, description=f"<script>window.pwned=2</script>{HOSTILE}", command=HOSTILE)
    card["metrics"]["test_bce_nats"] = {"value": HOSTILE}
    card["metrics"][HOSTILE] = {"value": 1}  # (the server lists only its key metrics: this one never reaches the page)
    card["anomaly"]["score"] = HOSTILE
    (artifact / "card.json").write_text(json.dumps(card))
    yield from start_server(["--models", str(tmp_path / "models")], tmp_path / "server.log")


def test_hostile_card_text_shows_as_text_and_runs_nothing(open_page, hostile_url, tmp_path):
    page = open_page(hostile_url)
    draw_and_wait(page, SEVEN)
    show(page, "gallery")
    card = page.locator("#cards .card")
    figure = card.locator("img")
    figure.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=figure.element_handle())
    page.screenshot(path=tmp_path / "hostile.png", full_page=True)
    assert page.evaluate("window.pwned") is None
    assert page.locator("img:not([alt])").count() == 0
    assert_fine(page)
    assert card.locator("h3").inner_text() == HOSTILE
    text = card.inner_text()
    assert f"<script>window.pwned=2</script>{HOSTILE}" in text and text.count(HOSTILE) >= 5
    assert card.locator("code").inner_text() == HOSTILE
    assert figure.get_attribute("alt") == f"{HOSTILE}.png"
    assert page.text_content("#reconstructions .tile span") == HOSTILE
    assert page.text_content("#scores tbody td:first-child") == HOSTILE
    assert page.text_content("#scores tbody th") == HOSTILE
    assert options(page, "#latent-model") == [HOSTILE]


@pytest.fixture
def unexplored_url(tmp_path):
    """A server on one real artifact (ae_mnist's files) whose card has no latent directions, as a card exported
    before they were part of it."""
    artifact = tmp_path / "models" / "ae_mnist"
    artifact.mkdir(parents=True)
    for name in ["saved_model.pb", "variables", "reconstructions.png"]:
        (artifact / name).symlink_to(ROOT / "saved_models" / "ae_mnist" / name)
    card = json.loads((ROOT / "saved_models" / "ae_mnist" / "card.json").read_text())
    del card["latent"]
    (artifact / "card.json").write_text(json.dumps(card))
    yield from start_server(["--models", str(tmp_path / "models")], tmp_path / "server.log")


def test_without_latent_directions_the_page_says_so_and_the_other_views_work(open_page, unexplored_url):
    page = open_page(unexplored_url)
    show(page, "latent")
    assert options(page, "#latent-model") == []
    assert page.inner_text("#latent-note") == "no latent directions: no served artifact's card holds them"
    show(page, "draw")
    draw_and_wait(page, SEVEN)
    assert page.locator("#reconstructions .tile").count() == 1
    assert_fine(page)


# Artifacts of other inputs than MNIST's (tests/own_data.py): 8x8x1 digits, 16x16x3 colour images and table rows.
@pytest.fixture(scope="module")
def own_url(own_data_models, tmp_path_factory):
    """A server on the own-data artifacts and one of MNIST's (vae_mnist), side by side."""
    browser_or_skip()
    models = tmp_path_factory.mktemp("own_models")
    for path in [*own_data_models.iterdir(), ROOT / "saved_models" / "vae_mnist"]:
        (models / path.name).symlink_to(path)
    yield from start_server(["--models", str(models)], tmp_path_factory.mktemp("own_server") / "server.log")


@pytest.fixture(scope="module")
def own_models(own_url):
    with urllib.request.urlopen(f"{own_url}/v1/models") as response:
        return {model["name"]: model for model in json.load(response)["models"]}


def canvas_facts(page, selector):
    """[width, height, whether some pixel is coloured, the greatest red minus green, green minus red] of every canvas
    matched by `selector`."""
    return page.eval_on_selector_all(selector, """canvases => canvases.map(canvas => {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let coloured = false, red = -255, green = -255;
        for (let i = 0; i < data.length; i += 4) {
            coloured ||= data[i] !== data[i + 1] || data[i + 1] !== data[i + 2];
            red = Math.max(red, data[i] - data[i + 1]); green = Math.max(green, data[i + 1] - data[i]);
        }
        return [canvas.width, canvas.height, coloured, red, green]; })""")


def own_inputs(page, model, action=None):
    """Shows `model` on the Reconstruct & score view (or does `action` there) and waits for its results table."""
    ready = page.eval_on_selector("#inputs-results", "table => Number(table.dataset.ready || 0)")
    if action is None:
        select(page, "#inputs-model", model)
    else:
        action()
    settle(page, "([ready, model]) => { const table = document.getElementById('inputs-results'); "
                 "return Number(table.dataset.ready || 0) > ready && table.dataset.model === model; }", [ready, model])


def test_the_draw_view_offers_only_the_models_of_28x28_digits(open_page, own_url, own_models):
    page = open_page(own_url)
    assert page.inner_text("#status") == f"{len(own_models)} models" and page.is_visible("nav button[data-view=draw]")
    draw_and_wait(page, SEVEN)
    assert page.locator("#reconstructions .tile span").all_inner_texts() == ["vae_mnist"]
    assert page.locator("#scores tbody td:first-child").all_inner_texts() == ["vae_mnist"]
    assert_fine(page)


def test_every_model_reconstructs_and_scores_its_own_inputs_drawn_at_their_own_size(open_page, own_url, own_models,
                                                                                    own_data_models, tmp_path):
    page = open_page(own_url)
    show(page, "inputs")
    assert sorted(options(page, "#inputs-model")) == sorted(own_models)
    for model in ["vae_digits", "vae_colour", "vae_mnist"]:
        height, width, channels = own_models[model]["data"]["shape"]
        own_inputs(page, model)  # the model's own samples, reconstructed and scored
        rows = page.locator("#inputs-results tbody tr")
        assert rows.count() == 8
        assert page.locator("#inputs-results thead th").all_inner_texts() == [
            "input", "reconstruction", "score", "verdict", "slerp"]
        scale = max(1, 64 // max(height, width))
        facts = canvas_facts(page, "#inputs-results canvas")
        assert {(w, h) for w, h, *_ in facts} == {(width * scale, height * scale)}, model
        assert {coloured for _, _, coloured, *_ in facts} == {channels == 3}, model
        threshold = own_models[model]["anomaly"]["threshold"]
        assert f"card threshold {threshold:.1f}" in page.inner_text("#inputs-caption")
        for row in rows.all():
            score, verdict = row.locator("td").nth(2).inner_text(), row.locator("td").nth(3).inner_text()
            assert verdict == ("unusual" if float(score) > threshold else "normal"), (model, score)
        page.screenshot(path=tmp_path / f"inputs_{model}.png", full_page=True)
    # Image files of the user's, resized to the model's size: a red square and a green one.
    files = [next((own_data_models.parent / "colour" / f"class{label}").glob("*.png")) for label in (0, 1)]
    for model, side, channels in [("vae_colour", 16, 3), ("vae_digits", 8, 1)]:
        select(page, "#inputs-model", model)
        settle(page, "model => document.getElementById('inputs-results').dataset.model === model", model)
        own_inputs(page, model, lambda: page.set_input_files("#inputs-files", files))
        facts = canvas_facts(page, "#inputs-results tbody tr td:first-child canvas")
        assert [(w, h) for w, h, *_ in facts] == [(side * (64 // side),) * 2] * 2
        if channels == 3:
            (_, _, _, red, _), (_, _, _, _, green) = facts
            assert red > 150 and green > 100, facts  # the squares' own colours
        else:
            assert not any(coloured for _, _, coloured, *_ in facts)
    page.screenshot(path=tmp_path / "inputs_files.png", full_page=True)
    assert_fine(page)


def row_result(page, action):
    """Does `action` on the table view and waits until its result is of another row (or an error shows)."""
    before = page.eval_on_selector("#row-result", "result => result.dataset.scored || ''")
    action()
    settle(page, "before => (document.getElementById('row-result').dataset.scored || '') !== before", before)
    return page.inner_text("#row-result .row-score")


def test_a_table_row_typed_or_pasted_is_scored_against_the_card_threshold(open_page, own_url, own_models, tmp_path):
    page = open_page(own_url)
    show(page, "inputs")
    select(page, "#inputs-model", "table_rows")
    settle(page, "() => (document.getElementById('row-result').dataset.scored || '').startsWith('table_rows ')")
    assert page.is_hidden("#image-inputs") and page.is_visible("#row-inputs")
    assert page.locator("#row-fields label span").all_inner_texts() == own_data.COLUMNS
    assert "takes rows of 5 numbers" in page.inner_text("#inputs-about")
    fields = page.locator("#row-fields input").all()
    for field, value in zip(fields, own_data.TABLE_MEAN):
        field.fill(str(value))
    said = row_result(page, lambda: page.click("#row-score"))
    assert said.startswith("score 0 (squared standardized distance from the mean row, higher = more unusual); card "
                           f"threshold {own_data.TABLE_THRESHOLD}") and said.endswith(": normal"), said
    assert page.locator("#row-result thead th").all_inner_texts()[1:] == own_data.COLUMNS
    far = [mean + 3 * scale for mean, scale in zip(own_data.TABLE_MEAN, own_data.TABLE_SCALE)]
    pasted = ",".join(own_data.COLUMNS) + "\n" + ", ".join(map(str, far))  # a header line, then the row
    said = row_result(page, lambda: page.fill("#row-paste", pasted))
    assert said.startswith("score 45 ") and said.endswith(": unusual"), said
    assert [float(field.input_value()) for field in fields] == pytest.approx(far)
    page.screenshot(path=tmp_path / "table.png", full_page=True)
    page.fill("#row-paste", "1, 2, 3")
    assert page.inner_text("#row-paste-note") == "3 of the 5 numbers a row has"
    fields[1].fill("")
    page.click("#row-score")
    page.wait_for_function("document.getElementById('status').textContent === 'error: texture needs a number'")
    fields[1].fill("19.3")
    said = row_result(page, lambda: page.click("#row-score"))
    assert page.inner_text("#status") == f"{len(own_models)} models"
    said = row_result(page, lambda: page.click("#row-sample"))
    assert said.startswith("score ") and page.input_value("#row-paste") == ""
    assert_fine(page)


def test_every_latent_model_of_other_inputs_redraws_and_slerps_between_two_of_its_inputs(open_page, own_url,
                                                                                         own_models, tmp_path):
    page = open_page(own_url)
    show(page, "latent")
    assert sorted(options(page, "#latent-model")) == ["vae_colour", "vae_digits", "vae_mnist"]
    for model in ["vae_digits", "vae_colour"]:
        height, width, _ = own_models[model]["data"]["shape"]
        set_range(page, "#pc1", 0)
        select(page, "#latent-model", model)
        wait_drawn(page, "#latent-image", f"{model} 0.00 0.00")
        shape = ", ".join(map(str, own_models[model]["data"]["shape"]))
        assert page.inner_text("#slerp-note") == f"no A and B of {model}'s input shape [{shape}] yet"
        before = image(page, "#latent-image")
        set_range(page, "#pc1", 1.5)
        wait_drawn(page, "#latent-image", f"{model} 1.50 0.00")
        assert image(page, "#latent-image") != before, model
        (facts,) = canvas_facts(page, "#latent-image")
        assert facts[:2] == [width * (224 // width), height * (224 // height)]
        # A and B: two of the model's samples, picked on the Reconstruct & score view
        show(page, "inputs")
        own_inputs(page, model)
        page.click("#inputs-results tbody tr:nth-child(1) button:text('A')")
        page.click("#inputs-results tbody tr:nth-child(2) button:text('B')")
        show(page, "latent")
        set_range(page, "#slerp-t", 0)
        wait_drawn(page, "#slerp-image", f"{model} t=0.00")
        assert page.inner_text("#slerp-note") == "" and page.locator("#slerp-strip .tile").count() == 8
        start = image(page, "#slerp-image")
        set_range(page, "#slerp-t", 1)
        wait_drawn(page, "#slerp-image", f"{model} t=1.00")
        assert image(page, "#slerp-image") != start, model
    page.screenshot(path=tmp_path / "latent.png", full_page=True)
    assert_fine(page)


def test_every_sampler_of_other_inputs_draws_at_its_size_and_reseeds(open_page, own_url, own_models, tmp_path):
    page = open_page(own_url)
    show(page, "generate")
    assert sorted(options(page, "#gen-model")) == ["table_rows", "vae_colour", "vae_digits", "vae_mnist"]
    for model in ["vae_digits", "vae_colour", "table_rows"]:
        data = own_models[model]["data"]
        target = "#gen-table" if data["kind"] == "table" else "#gen-grid"
        select(page, "#gen-model", model)
        settle(page, "([target, model]) => (document.querySelector(target).dataset.drawn || '').startsWith(model + ' ')",
               [target, model])
        assert page.is_visible(target) and page.is_hidden("#gen-table" if target == "#gen-grid" else "#gen-grid")
        if data["kind"] == "table":
            assert page.locator("#gen-table thead th").all_inner_texts()[1:] == own_data.COLUMNS
            assert page.locator("#gen-table tbody tr").count() == 8
            before = page.inner_text("#gen-table tbody")
        else:
            height, width, channels = data["shape"]
            ((w, h, coloured, *_),) = canvas_facts(page, "#gen-grid")
            assert (w, h, coloured) == (8 * width * (56 // width), 8 * height * (56 // height), channels == 3)
            before = image(page, "#gen-grid")
        seed = drawn(page, target)
        page.click("#gen-reseed")
        settle(page, "([target, seed]) => document.querySelector(target).dataset.drawn !== seed", [target, seed])
        after = page.inner_text("#gen-table tbody") if data["kind"] == "table" else image(page, "#gen-grid")
        assert after != before, model
        page.screenshot(path=tmp_path / f"generate_{model}.png", full_page=True)
    assert_fine(page)


def test_the_gallery_says_what_each_model_takes(open_page, own_url, own_models):
    page = open_page(own_url)
    show(page, "gallery")
    for model, takes in [("vae_digits", "images [8, 8, 1]"), ("vae_colour", "images [16, 16, 3]"),
                         ("table_rows", "rows of 5 numbers"), ("vae_mnist", "images [28, 28, 1]")]:
        text = page.inner_text(f"#cards .card[data-model={model}]")
        assert f"input\t{takes}" in text and f"data\t{own_models[model]['data']['dataset']}" in text, text
    assert f"columns\t{', '.join(own_data.COLUMNS)}" in page.inner_text("#cards .card[data-model=table_rows]")
    assert_fine(page)


def test_no_view_of_other_inputs_overflows_sideways_on_a_phone(open_page, own_url, tmp_path):
    page = open_page(own_url, PHONE)
    wide = {}
    for view, model in [("inputs", "vae_colour"), ("inputs", "table_rows"), ("generate", "table_rows"),
                        ("latent", "vae_colour")]:
        show(page, view)
        selector = {"inputs": "#inputs-model", "generate": "#gen-model", "latent": "#latent-model"}[view]
        select(page, selector, model)
        page.wait_for_load_state("networkidle")
        assert_fine(page)
        page.screenshot(path=tmp_path / f"phone_{view}_{model}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[f"{view} {model}"] = width
    assert wide == {}


@pytest.fixture
def digits_only_url(own_data_models, tmp_path):
    """A server on the 8x8 digits' VAE alone: no model takes what the Draw view draws."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "vae_digits").symlink_to(own_data_models / "vae_digits")
    yield from start_server(["--models", str(tmp_path / "models")], tmp_path / "server.log")


def test_without_a_model_of_28x28_digits_there_is_no_draw_view(open_page, digits_only_url):
    page = open_page(digits_only_url)
    assert page.inner_text("#status") == "1 model"
    assert page.is_hidden("nav button[data-view=draw]") and page.is_hidden("#draw")
    assert page.is_visible("#inputs") and page.locator("#inputs-results tbody tr").count() == 8
    assert page.is_hidden("#inputs-drawn")
    assert_fine(page)
