"""JupyterLab for real, driven in headless Chromium: diagnostics, hover cards, the sidebar quiz,
progress across a reload, and a demo cell run from "Try it".

The steps share one page and run in file order. Screenshots go to $NNTUTOR_SCREENSHOTS when set
(docs/screenshots/ holds the ones in docs/jupyter.md), else to the test's temp folder.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from nntutor.content import catalog

pytestmark = pytest.mark.browser

MODEL_CELL, EVAL_CELL = 5, 7  # 0-based cells of examples/notebook.ipynb that trip rules


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    target = os.environ.get("NNTUTOR_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def snap(page, shots: Path, name: str, clip: dict | None = None) -> Path:
    """PNG of the page (1280x800) or a clip of it, palette-quantised to stay well under 300 KB."""
    raw = page.screenshot(clip=clip) if clip else page.screenshot()
    out = shots / f"{name}.png"
    try:
        from PIL import Image

        img = Image.open(io.BytesIO(raw)).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        img.save(out, optimize=True)
    except ImportError:  # Pillow comes with matplotlib; without it keep the raw PNG
        out.write_bytes(raw)
    assert out.stat().st_size < 300_000
    return out


@pytest.fixture(scope="module")
def page(lab, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(f"{lab.url}/lab/tree/notebook.ipynb?reset")
    pg.wait_for_selector(".jp-Notebook .jp-Cell")
    yield pg
    context.close()


def cell(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def labextension_installed() -> bool:
    from jupyter_core.paths import jupyter_path

    return any((Path(d) / "nntutor" / "package.json").is_file() for d in jupyter_path("labextensions"))


def open_sidebar(page):
    if not labextension_installed():
        pytest.skip("the nntutor lab extension is not built: run `bash jupyter_ext/build.sh`")
    tab = page.locator('.lm-TabBar-tab[title="nntutor quiz"]')
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    page.wait_for_selector("#nntutor-quiz .nntutor-item")
    # Room for the panel in the screenshots: fold the file browser away, widen the sidebar.
    left = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if left.count():
        left.first.click()
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)").last
    box = handle.bounding_box()
    if box and box["x"] > 900:
        page.mouse.move(box["x"] + 2, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(box["x"] - 150, box["y"] + 300, steps=5)
        page.mouse.up()


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def test_diagnostic_on_the_model_cell(page, shots):
    error = cell(page, MODEL_CELL).locator(".cm-lintRange-error")
    error.first.wait_for(timeout=60_000)  # the language server is up and has published
    assert "nn.Softmax(dim=1)" in error.first.inner_text()
    # Cells off screen get their marks once drawn: scroll there, and let the check retry.
    cell(page, EVAL_CELL).scroll_into_view_if_needed()
    expect(cell(page, EVAL_CELL).locator(".cm-lintRange-warning")).to_have_count(1)
    for other in (1, 2, 4, 6):
        assert cell(page, other).locator(".cm-lintRange").count() == 0
    cell(page, MODEL_CELL).scroll_into_view_if_needed()
    error.first.hover()
    tip = page.locator(".cm-tooltip-hover", has_text="CrossEntropyLoss")
    tip.wait_for()
    assert "double-softmax" in tip.inner_text()
    snap(page, shots, "1-diagnostic")
    page.mouse.move(5, 700)


def test_hover_card_for_dropout(page, shots):
    token = cell(page, MODEL_CELL).get_by_text("Dropout", exact=True)
    token.first.hover()
    card = page.locator(".lsp-hover")
    card.wait_for()
    text = card.inner_text()
    assert text.startswith("Dropout")
    assert "p = 0.5" in text and "Pitfalls" in text and "What is dropout?" in text
    snap(page, shots, "2-hover-dropout")
    page.mouse.move(5, 700)
    page.keyboard.press("Escape")


def _click_answer(page, item):
    """Pick the right answer for `item` (a catalog QuizItem) in the sidebar."""
    root = page.locator(f'#nntutor-quiz .nntutor-item[data-item="{item.id}"]')
    if item.type == "spot-the-bug":
        root.locator(f'.nntutor-line[data-line="{item.answer}"]').click()
    else:
        picks = {"single": [item.answer], "multi": item.answer,
                 "true-false": [0 if item.answer else 1]}[item.type]
        for i in picks:
            root.locator(f'.nntutor-option[data-index="{i}"] input').check()
    root.locator(".nntutor-check").click()
    return root


def test_sidebar_quiz_gives_feedback(page, shots):
    open_sidebar(page)
    first = page.locator("#nntutor-quiz .nntutor-item").first
    item = catalog().quiz[first.get_attribute("data-item")]
    assert item.concept == "softmax"  # the double-softmax diagnostic is asked about first
    chips = page.locator("#nntutor-quiz .nntutor-chip-diagnostic").all_inner_texts()
    assert chips[0].startswith("⚠ Softmax")
    root = _click_answer(page, item)
    result = root.locator(".nntutor-result")
    expect(result).to_be_visible()
    result.wait_for()
    assert "✓ Correct" in result.inner_text()
    assert catalog().questions[item.seed] in result.locator(".nntutor-interview").inner_text()
    n_expl = root.locator(".nntutor-expl").count()
    assert n_expl == (len(item.options) if item.type in ("single", "multi") else
                      2 if item.type == "true-false" else len(item.explanations))
    score = page.locator('#nntutor-quiz tr[data-concept="softmax"]')
    assert re.search(r"1/1", score.inner_text())
    snap(page, shots, "3-quiz-feedback")


def test_progress_survives_a_reload(page, shots, lab):
    page.reload()
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    open_sidebar(page)
    score = page.locator('#nntutor-quiz tr[data-concept="softmax"]')
    score.wait_for()
    assert "1/1" in score.inner_text()
    assert lab.progress_db.is_file()
    snap(page, shots, "4-progress-after-reload")


def test_try_it_runs_a_demo_cell(page, shots):
    pytest.importorskip("torch", reason="the demo cells need torch in the kernel's environment")
    pytest.importorskip("matplotlib", reason="the demo cells plot with matplotlib")
    open_sidebar(page)
    first = page.locator("#nntutor-quiz .nntutor-item").first
    item = catalog().quiz[first.get_attribute("data-item")]
    root = _click_answer(page, item)
    root.locator(".nntutor-try").click()
    # Inserted below the active cell (the first one) and run: text with the device, then a plot.
    demo = cell(page, 1)
    demo.locator(".jp-OutputArea-output img").wait_for(timeout=120_000)
    assert "from nntutor.demos import run" in demo.locator(".jp-InputArea").inner_text()
    out = demo.locator(".jp-OutputArea").inner_text()
    assert re.search(r"^device: (cpu|cuda|mps)", out, re.MULTILINE), out
    demo.scroll_into_view_if_needed()
    snap(page, shots, "5-demo-cell")


def test_fixing_the_bug_and_saving_requeries_the_sidebar(page, shots):
    open_sidebar(page)
    chips = page.locator("#nntutor-quiz .nntutor-chip-diagnostic")
    expect(chips.first).to_contain_text("Softmax")
    # The demo cell from "Try it" (if it ran) sits above the model cell now: find it by text.
    model = page.locator(".jp-Notebook .jp-Cell", has_text="nn.Sequential(")
    line = model.locator(".cm-line", has_text="nn.Softmax(dim=1),")
    line.click()
    page.keyboard.press("End")
    page.keyboard.press("Shift+Home")
    page.keyboard.press("Shift+Home")  # the first Home stops at the indentation
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")  # join with the line above: the Softmax line is gone
    page.keyboard.press("Control+s")
    expect(model.locator(".cm-lintRange-error")).to_have_count(0, timeout=30_000)
    expect(chips.first).not_to_contain_text("Softmax", timeout=30_000)
    snap(page, shots, "6-fixed-and-saved")
