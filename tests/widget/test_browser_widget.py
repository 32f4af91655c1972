"""Notebook 04 in a real JupyterLab, driven by headless Chromium: run it, click, drag, check the kernel's answer.

The test starts a private JupyterLab (tests/browser_support.py), opens a copy of
``notebooks/04_interactive_prompting.ipynb`` (small parameters injected as papermill does), runs all
cells, then uses the widget the way a person does: loads the sample from the Image tab (the busy
indicator shows while SAM encodes it), picks mask guidance, clicks a point on the image, drags a
box, presses Reset and Undo, then clicks three points in quick succession and presses Undo at once.
After each step it checks the state the kernel reports in the widget's status line (prompt counts,
box, coverage, encoder runs, the clicked pixel and box) and that the matte picture changed.
Screenshots go to ``test-artifacts/browser_widget/``.

Every step waits for a condition of the page (the status line's ``data-*`` attributes, the matte
picture no longer marked ``mam-pending``, its pixels), never for a fixed time, and the limits on
those waits (``PATIENCE_S``) are generous: they only turn a hang into a failure. No verdict depends
on how fast the machine is, and none on whether a click arrives during a computation or after it.
Nor does any depend on which kernel thread handles the picture's events and which the buttons'
clicks. The widget puts them back in the browser's order (``mam_lib.widget.ordering``). Before it
did, a loaded machine once handled Undo before the third quick click.

Needs Debian's ``chromium``; skipped without it unless ``MAM_REQUIRE_BROWSER=1`` (as in CI).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from browser_support import CHROMIUM_ARGS, find_chromium, lab_server, only_localhost

#: the longest any one step may take (a loaded 2-core machine needs 12-15 s per click with the tiny SAM)
PATIENCE_S = 300
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800, method="signal")]

NOTEBOOK = "04_interactive_prompting.ipynb"
STATUS = ".mam-app .mam-status .mam-statusbar"
#: the status line once every matte the state needs is computed
SETTLED = "[data-computing='0'][data-pending='0']"

# a cheap fingerprint of the pixels the <img> shows (it changes when the kernel sends a new picture)
_FINGERPRINT_JS = """(img) => {
  if (!img || !img.complete || !img.naturalWidth) return null;
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let h = 2166136261 >>> 0, sum = 0;
  for (let i = 0; i < d.length; i += 4) { h = Math.imul(h ^ d[i], 16777619) >>> 0; sum += d[i]; }
  return c.width + 'x' + c.height + ':' + h + ':' + sum;
}"""

# the matte's fingerprint once it shows a result (not the "computing" picture), when it differs
# from `before` (or equals `equal`); false until then
_MATTE_READY_JS = f"""([before, equal]) => {{
  const img = document.querySelector('.mam-app img.mam-matte');
  if (!img || img.classList.contains('mam-pending')) return false;
  const now = ({_FINGERPRINT_JS})(img);
  if (now === null) return false;
  if (equal !== null) return now === equal ? now : false;
  return now !== before ? now : false;
}}"""

# records every status line the page is given from now on (from the added nodes, so two updates
# in one frame are both seen)
_WATCH_STATUS_JS = """() => {
  window.__mamStatusSeen = [];
  const note = (n) => {
    if (n.nodeType !== 1) return;
    const bars = n.matches('.mam-statusbar') ? [n] : Array.from(n.querySelectorAll('.mam-statusbar'));
    for (const s of bars) window.__mamStatusSeen.push({points: s.dataset.points, computing: s.dataset.computing});
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) note(n);
  }).observe(document.querySelector('.mam-app .mam-status'), {childList: true, subtree: true});
}"""


_WATCH_SPINNER_JS = """() => {
  window.__mamSpinnerSeen = false;
  const seen = (n) => n.nodeType === 1 && (n.matches('.mam-spinner') || n.querySelector('.mam-spinner'));
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (seen(n)) window.__mamSpinnerSeen = true;
  }).observe(document.querySelector('.mam-app'), {childList: true, subtree: true});
}"""


def _require_browser():
    chromium = find_chromium()
    if importlib.util.find_spec("playwright") is None:
        chromium = None
    if chromium is None:
        message = ("Debian's chromium and the playwright package are needed for the browser test "
                   "(apt-get install chromium; pip install playwright)")
        if os.environ.get("MAM_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return chromium


def _prepare_notebook(repo_root: Path, root: Path, export_dir: Path) -> None:
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(repo_root / "notebooks" / NOTEBOOK))
    nb = parameterize_notebook(nb, {"SAM_VARIANT": "tiny", "TRAINED_M2M": "", "DISPLAY_SIZE": 480,
                                    "EXPORT_DIR": str(export_dir)})
    nbformat.write(nb, root / NOTEBOOK)


def _status(page) -> dict:
    el = page.locator(STATUS)
    attrs = {k: el.get_attribute(f"data-{k}") for k in ("points", "foreground", "background", "box", "coverage",
                                                         "objects", "encodes", "guidance")}
    attrs["text"] = el.inner_text()
    return attrs


def _wait_status(page, selector_attrs: str) -> dict:
    """Wait until the status line has the ``data-*`` attributes of ``selector_attrs``; its state."""
    page.wait_for_selector(f"{STATUS}{selector_attrs}", timeout=PATIENCE_S * 1000)
    return _status(page)


def _wait_matte_change(page, before: str | None) -> str:
    """Wait until the matte picture shows a result whose pixels differ from ``before``; their fingerprint."""
    return page.wait_for_function(_MATTE_READY_JS, arg=[before, None], timeout=PATIENCE_S * 1000).json_value()


def _wait_matte_equal(page, target: str) -> str:
    """Wait until the matte picture shows a result with the fingerprint ``target``."""
    return page.wait_for_function(_MATTE_READY_JS, arg=[None, target], timeout=PATIENCE_S * 1000).json_value()


def _image_point(page, x: float, y: float, size: tuple[int, int]) -> tuple[float, float]:
    """Page coordinates of image pixel (x, y) on the prompt picture (``size`` = image (H, W))."""
    box = page.locator(".mam-app img.mam-image").bounding_box()
    h, w = size
    return box["x"] + (x + 0.5) * box["width"] / w, box["y"] + (y + 0.5) * box["height"] / h


def test_notebook_04_widget_in_jupyterlab(repo_root, tmp_path):
    chromium = _require_browser()
    from playwright.sync_api import sync_playwright

    artifacts = repo_root / "test-artifacts" / "browser_widget"
    artifacts.mkdir(parents=True, exist_ok=True)
    for old in artifacts.glob("*.png"):
        old.unlink()
    root = tmp_path / "lab"
    root.mkdir()
    export_dir = tmp_path / "export"
    _prepare_notebook(repo_root, root, export_dir)

    with lab_server(root) as server, sync_playwright() as pw:
        # the kernel runs this environment's Python ("python" is mapped to the server's interpreter,
        # which is this one), so `import mam_lib` in the notebook imports this checkout
        spec = server.api("kernelspecs")["kernelspecs"]["python3"]["spec"]
        assert spec["argv"][0] in ("python", sys.executable), spec["argv"]
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = None
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
            context.route("**/*", only_localhost)
            page = context.new_page()
            page.set_default_timeout(PATIENCE_S * 1000)
            page.goto(server.lab_url(NOTEBOOK), wait_until="domcontentloaded")

            # the kernel must exist before Run All (the toolbar says "idle" earlier than that)
            page.wait_for_function(
                "() => { const s = document.querySelector('#jp-main-statusbar');"
                " return !!s && /Python 3.*\\| Idle/.test(s.innerText); }", timeout=PATIENCE_S * 1000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
            page.locator("li[data-command='runmenu:run-all']").click()

            # the last cell prints the encoder count once every cell has run
            page.wait_for_selector(".jp-OutputArea-output:has-text('encoder calls: 1')", timeout=PATIENCE_S * 1000)
            outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
            assert not [t for t in outputs if "Traceback" in t or "Error:" in t], outputs
            app = page.locator(".mam-app")
            app.scroll_into_view_if_needed()
            status = _wait_status(page, f"[data-objects='3']{SETTLED}")
            assert status["encodes"] == "1" and "merge of" in status["text"]
            app.screenshot(path=str(artifacts / "01_after_run_all.png"))

            # load the sample again from the Image tab: the encoder runs once more, with a busy indicator
            page.locator(".mam-app .mam-tabs .lm-TabBar-tab", has_text="Image").click()
            page.evaluate(_WATCH_SPINNER_JS)  # records a spinner even if it comes and goes between two frames
            page.locator(".mam-app .mam-load-sample").click()
            status = _wait_status(page, f"[data-encodes='2'][data-objects='1'][data-points='0'][data-box='0']{SETTLED}")
            assert float(status["coverage"]) == 0.0
            assert page.evaluate("() => window.__mamSpinnerSeen === true"), "no busy indicator while encoding"
            page.wait_for_selector(".mam-app .mam-busy-indicator .mam-spinner", state="detached")

            # mask guidance: a refinement-only change
            page.locator(".mam-app .mam-tabs .lm-TabBar-tab", has_text="Refinement").click()
            page.locator(".mam-app .mam-guidance button", has_text="mask guidance").click()
            _wait_status(page, f"[data-guidance='mask']{SETTLED}")
            before = _wait_matte_change(page, "")

            # a click on the figure's head: one foreground point, at the pixel clicked
            size = (480, 640)  # the demo image, (H, W)
            target = (268, 242)
            page.mouse.click(*_image_point(page, *target, size))
            status = _wait_status(page, f"[data-points='1'][data-foreground='1']{SETTLED}")
            assert status["encodes"] == "2", "a click re-ran the image encoder"
            x, y = map(int, re.search(r"foreground point \((\d+), (\d+)\)", status["text"]).groups())
            assert abs(x - target[0]) <= 2 and abs(y - target[1]) <= 2, (x, y)
            after_click = _wait_matte_change(page, before)
            coverage_click = float(status["coverage"])
            assert coverage_click > 0
            app.screenshot(path=str(artifacts / "02_after_click.png"))

            # a drag: the box, combined with the point
            x0, y0 = _image_point(page, 110, 160, size)
            x1, y1 = _image_point(page, 440, 470, size)
            page.mouse.move(x0, y0)
            page.mouse.down()
            page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
            page.mouse.move(x1, y1, steps=4)
            page.mouse.up()
            status = _wait_status(page, f"[data-points='1'][data-box='1']{SETTLED}")
            assert status["encodes"] == "2"
            m = re.search(r"box \((\d+), (\d+)\) – \((\d+), (\d+)\)", status["text"])
            assert m, status["text"]
            got = tuple(map(int, m.groups()))
            assert all(abs(a - b) <= 3 for a, b in zip(got, (110, 160, 440, 470))), got
            after_box = _wait_matte_change(page, after_click)
            coverage_box = float(status["coverage"])
            assert coverage_box != coverage_click
            app.screenshot(path=str(artifacts / "03_after_box.png"))

            # Reset, then Undo brings the prompts back (from the cache: nothing recomputed)
            page.locator(".mam-app .mam-reset").click()
            _wait_status(page, f"[data-points='0'][data-box='0']{SETTLED}")
            page.locator(".mam-app .mam-undo").click()
            status = _wait_status(page, f"[data-points='1'][data-box='1']{SETTLED}")
            assert status["encodes"] == "2" and float(status["coverage"]) == pytest.approx(coverage_box)
            _wait_matte_equal(page, after_box)

            # three quick clicks and Undo at once, whether or not a computation is running: each click
            # is in the state (the status says computing), Undo takes back the last one, and the
            # state computed and shown in the end is exactly what the page shows
            page.evaluate(_WATCH_STATUS_JS)
            quick = [(200, 300), (330, 320), (260, 400)]
            for xy in quick:
                page.mouse.click(*_image_point(page, *xy, size))
            page.locator(".mam-app .mam-undo").click()
            status = _wait_status(page, f"[data-points='3'][data-foreground='3'][data-box='1']{SETTLED}")
            assert status["encodes"] == "2"
            x, y = map(int, re.search(r"undid foreground point \((\d+), (\d+)\)", status["text"]).groups())
            assert abs(x - quick[-1][0]) <= 2 and abs(y - quick[-1][1]) <= 2, (x, y)
            seen = page.evaluate("() => window.__mamStatusSeen")
            assert {"points": "2", "computing": "1"} in seen, seen  # after the first click, before its matte
            after_quick = _wait_matte_change(page, after_box)
            assert float(status["coverage"]) > 0
            # a computation of a state undone meanwhile may still be running; it ends, changing nothing
            page.wait_for_selector(".mam-app .mam-busy-indicator .mam-spinner", state="detached")
            assert _status(page) == status and _wait_matte_equal(page, after_quick) == after_quick
            app.screenshot(path=str(artifacts / "04_after_quick_clicks_and_undo.png"))

            # the cut-out view of the same matte, with the export tab open
            page.locator(".mam-app .mam-view button", has_text="Cut-out").click()
            page.locator(".mam-app .mam-tabs .lm-TabBar-tab", has_text="Cut-out & export").click()
            _wait_matte_change(page, after_quick)
            app.screenshot(path=str(artifacts / "05_cutout_and_export_tab.png"))
            assert not page.locator(".mam-app .mam-msg.error").count()
        except BaseException:
            if page is not None:
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(artifacts / "failure_page.png"))
                with contextlib.suppress(Exception):
                    print("status:", page.locator(STATUS).inner_text(timeout=2000))
                    print("message:", page.locator(".mam-app .mam-message").inner_text(timeout=2000))
            print(server.log())
            raise
        finally:
            browser.close()
