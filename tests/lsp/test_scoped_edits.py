"""End-to-end: code edits in a long file, which the server answers with a pass over the part of
the file the edit can change (nntutor.scoped) and confirms with a whole-file pass once edits
pause, publish exactly what a from-scratch analysis of each version gives."""
import importlib.util
import random
from pathlib import Path

import pytest
from lsp_util import (
    CheckedDoc,
    codes,
    expected_keys,
    key,
    server_errors,
    settle,
    wait_published,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one server per module

ROOT = Path(__file__).resolve().parents[2]


def big_module() -> str:
    spec = importlib.util.spec_from_file_location("nntutor_bench_generate", ROOT / "bench" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text, _ = gen.make_module(random.Random("lsp-scoped:3000"), "pipeline", 3000, with_main=True)
    return text


async def test_code_edits_in_functions_of_a_long_file_match_from_scratch(mclient, tmp_path):
    text = big_module()
    d = CheckedDoc(mclient, tmp_path / "pipeline.py", text)
    first = await wait_published(mclient, d.uri, 1, timeout=60)
    assert sorted(key(x) for x in first.diagnostics) == expected_keys(text, d.uri)
    # Inside function bodies: a statement added and removed, a line that makes a bug, undone.
    await d.replace("        optimizer.zero_grad()\n", "        _tmp = 1\n        optimizer.zero_grad()\n", timeout=60)
    await d.replace("        _tmp = 1\n", "", timeout=60)
    diags = await d.replace("        optimizer.zero_grad()\n", "", nth=1, timeout=60)
    assert "missing-zero-grad" in codes(diags)
    await d.replace("        optimizer.step()\n", "        optimizer.zero_grad()\n        optimizer.step()\n", nth=1, timeout=60)
    # A model evaluated without eval(): delete the call, then put it back.
    if "    model.eval()\n" in d.text:
        await d.replace("    model.eval()\n", "    pass\n", timeout=60)
        await d.replace("    pass\n", "    model.eval()\n", timeout=60)
    # Then edits pause: the whole-file pass confirms and publishes nothing else.
    count = len(mclient.published)
    await settle(mclient, quiet=1.5, timeout=30)
    later = [p for p in mclient.published[count:] if p.uri == d.uri]
    assert all(sorted(key(x) for x in p.diagnostics) == expected_keys(d.text, d.uri) for p in later)
    assert not server_errors(mclient)
