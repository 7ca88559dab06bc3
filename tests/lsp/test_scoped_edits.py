"""End-to-end: code edits in a long file, which the server answers with a pass over the part of
the file the edit can change (nntutor.scoped) and confirms with a whole-file pass once edits
pause, publish exactly what a from-scratch analysis of each version gives."""
import importlib.util
import random
from pathlib import Path

import pytest
from lsp_util import (
    change,
    codes,
    expected_keys,
    key,
    open_doc,
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


class Doc:
    def __init__(self, client, path, text):
        self.client, self.uri, self.text, self.version = client, path.as_uri(), text, 1
        open_doc(client, self.uri, text)

    async def replace(self, old: str, new: str, nth: int = 0):
        """Replace the nth occurrence of `old` (an LSP range edit), wait for that version's
        diagnostics and check them against a from-scratch analysis."""
        at = -1
        for _ in range(nth + 1):
            at = self.text.index(old, at + 1)
        before = self.text[:at]
        sl, sc = before.count("\n"), len(before) - (before.rfind("\n") + 1)
        last = old.count("\n")
        el = sl + last
        ec = (sc + len(old)) if last == 0 else len(old) - (old.rfind("\n") + 1)
        self.text = self.text[:at] + new + self.text[at + len(old):]
        self.version += 1
        change(self.client, self.uri, self.version, (sl, sc, el, ec, new))
        published = await wait_published(self.client, self.uri, self.version, timeout=60)
        assert sorted(key(d) for d in published.diagnostics) == expected_keys(self.text, self.uri)
        return published.diagnostics


async def test_code_edits_in_functions_of_a_long_file_match_from_scratch(mclient, tmp_path):
    text = big_module()
    d = Doc(mclient, tmp_path / "pipeline.py", text)
    first = await wait_published(mclient, d.uri, 1, timeout=60)
    assert sorted(key(x) for x in first.diagnostics) == expected_keys(text, d.uri)
    # Inside function bodies: a statement added and removed, a line that makes a bug, undone.
    await d.replace("        optimizer.zero_grad()\n", "        _tmp = 1\n        optimizer.zero_grad()\n")
    await d.replace("        _tmp = 1\n", "")
    diags = await d.replace("        optimizer.zero_grad()\n", "", nth=1)
    assert "missing-zero-grad" in codes(diags)
    await d.replace("        optimizer.step()\n", "        optimizer.zero_grad()\n        optimizer.step()\n", nth=1)
    # A model evaluated without eval(): delete the call, then put it back.
    if "    model.eval()\n" in d.text:
        await d.replace("    model.eval()\n", "    pass\n")
        await d.replace("    pass\n", "    model.eval()\n")
    # Then edits pause: the whole-file pass confirms and publishes nothing else.
    count = len(mclient.published)
    await settle(mclient, quiet=1.5, timeout=30)
    later = [p for p in mclient.published[count:] if p.uri == d.uri]
    assert all(sorted(key(x) for x in p.diagnostics) == expected_keys(d.text, d.uri) for p in later)
    assert not server_errors(mclient)
