"""`nntutor check --fix` on notebooks (nntutor.nbfix): fixes land in the right cell, in the
cell's own text, and the notebook is written back byte for byte as it was everywhere else."""
import importlib
import json
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from nntutor.document import Document
from nntutor.engine import analyze
from nntutor.fixall import fix_document
from nntutor.nbfix import LayoutUnknown, fix_notebook_bytes, json_layout
from nntutor.notebook import Cell, cells_from_ipynb

MODULES = sorted(p.stem for p in Path(__file__).parent.glob("test_*.py")
                 if p.stem not in ("test_fixes_are_safe", "test_notebook_fixes"))


def nbformat_bytes(cells: list[dict]) -> bytes:
    """A notebook as nbformat (and so JupyterLab) writes it."""
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
          "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def code(source: str, i: int, outputs=()) -> dict:
    return {"cell_type": "code", "execution_count": i, "id": f"c{i}", "metadata": {},
            "outputs": list(outputs), "source": source.splitlines(keepends=True)}


MARKDOWN = {"cell_type": "markdown", "id": "md", "metadata": {}, "source": ["# Training — ünïcode\n"]}
OUTPUT = {"name": "stdout", "output_type": "stream", "text": ["epoch 1: loss 0.69\n"]}


def split_top_level(src: str) -> list[str]:
    """Cells of `src`: a new one at each top-level statement after a blank line, so the joined
    cells are the same program."""
    cells, current = [], []
    lines = src.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if current and line.strip() and not line[0].isspace() and i and not lines[i - 1].strip():
            cells.append("".join(current).rstrip("\n"))
            current = []
        current.append(line)
    if current:
        cells.append("".join(current).rstrip("\n"))
    return [c for c in cells if c.strip()]


def _examples():
    for name in MODULES:
        module = importlib.import_module(name)
        for item in getattr(module, "BUGGY", None) or ():
            src = item[1] if isinstance(item, tuple) else item
            if isinstance(src, str):
                yield f"{name}:{item[0] if isinstance(item, tuple) else src[:20]}", textwrap.dedent(src)


def _counts(raw: bytes) -> Counter:
    return Counter(f.rule for f in analyze(Document.from_cells(cells_from_ipynb(raw), "t.ipynb")).findings)


def test_every_rule_example_fixed_as_a_notebook():
    applied = 0
    report = []
    for label, src in _examples():
        if "\t" in src:
            continue
        raw = nbformat_bytes([MARKDOWN] + [code(c, i, [OUTPUT] if i == 0 else ())
                                          for i, c in enumerate(split_top_level(src))])
        fixed, new = fix_notebook_bytes(raw, "t.ipynb")
        applied += fixed.applied
        before, after = json.loads(raw), json.loads(new)
        # everything but the code cells' sources is as it was, markdown and outputs included
        for b, a in zip(before["cells"], after["cells"], strict=True):
            if {k: v for k, v in b.items() if k != "source"} != {k: v for k, v in a.items() if k != "source"}:
                report.append(f"{label}: cell fields changed")
        if before["cells"][0] != after["cells"][0] or before["metadata"] != after["metadata"]:
            report.append(f"{label}: markdown or metadata changed")
        if fixed.applied == 0 and new != raw:
            report.append(f"{label}: rewritten without a fix")
        more = {r: n for r, n in _counts(new).items() if n > _counts(raw)[r]}
        if more:
            report.append(f"{label}: rules fire more after the fixes: {more}")
        if fixed.applied:  # written back in the same layout: dumping it again changes nothing
            assert json_layout(new.decode(), after)["options"]["indent"] == 1
    assert report == []
    assert applied > 150   # fixes do land in notebooks (not a test that passes by fixing nothing)


def test_a_notebook_is_fixed_as_its_cells_joined_would_be():
    """Every fix of the .py form lands in the notebook form, with the same result: statement
    moves and lines inserted after a cell's last line included (a cell's last line has no
    newline in nbformat; it still has none after the fix)."""
    compared = 0
    for label, src in _examples():
        chunks = split_top_level(src)
        if "\t" in src or "\n\n".join(chunks) + "\n" != src:
            continue  # not exactly its cells joined
        py = fix_document(src.encode(), "t.py")
        if not py.applied or _displayed_move(src, chunks):
            continue
        fixed, new = fix_notebook_bytes(nbformat_bytes([code(c, i) for i, c in enumerate(chunks)]), "t.ipynb")
        cells = json.loads(new)["cells"]
        assert fixed.applied == py.applied, label
        assert "\n\n".join("".join(c["source"]) for c in cells) + "\n" == py.data.decode(), label
        assert not any("".join(c["source"]).endswith("\n") for c in cells), label
        compared += 1
    assert compared > 120


def _displayed_move(src: str, chunks: list) -> bool:
    """A tensor-to-discarded or dataset-op-discarded finding on a cell's last line: the cell displays that value, so
    the notebook form keeps it, unfixed, on purpose."""
    last_lines, line = set(), 0
    for chunk in chunks:
        line += chunk.count("\n") + 1
        last_lines.add(line)
        line += 1   # the blank line joining two cells
    found = analyze(Document.from_text(src, "t.py")).findings
    return any(f.rule in ("tensor-to-discarded", "dataset-op-discarded") and f.location.line + 1 in last_lines
               for f in found)


def _nb(*sources) -> bytes:
    return nbformat_bytes([code(s, i) for i, s in enumerate(sources)])


def test_fix_lands_in_its_cell_next_to_ipython_lines():
    raw = _nb("%matplotlib inline\n!pip install torch\nimport torch",
              "device = torch.device('cuda')\nx = torch.ones(3).to(device)")
    fixed, new = fix_notebook_bytes(raw, "t.ipynb")
    cells = json.loads(new)["cells"]
    assert fixed.applied == 1
    assert cells[0]["source"] == ["%matplotlib inline\n", "!pip install torch\n", "import torch"]
    assert cells[1]["source"] == ["device = torch.device(\"cuda\" if torch.cuda.is_available() else \"cpu\")\n",
                                  "x = torch.ones(3).to(device)"]


def test_no_fix_on_a_line_that_ipython_blanking_changed():
    # `x = !nvidia-smi` is analysed as `x = 0#vidia-smi`: an edit on that line would be made on
    # a text that is not the cell's
    from nntutor.nbfix import NotebookSource

    cells = [Cell(0, "import torch\ngpus = !nvidia-smi -L\ndevice = torch.device('cuda')")]
    doc = NotebookSource(cells, "t.ipynb").document()
    blanked_line = doc.data.index(b"gpus")
    from nntutor.findings import Fix, TextEdit

    assert not NotebookSource(cells, "t.ipynb").applicable(doc, Fix("", (TextEdit(blanked_line, blanked_line, "#"),)))
    next_line = doc.data.index(b"device")
    assert NotebookSource(cells, "t.ipynb").applicable(doc, Fix("", (TextEdit(next_line, next_line, "#"),)))


def test_edits_at_a_cell_boundary():
    """The newline after a cell's last line and the start of the blank separator line are the
    cell's (a last line deleted or moved, lines inserted after it); the separator line's own
    newline belongs to no cell."""
    from nntutor.findings import Fix, TextEdit
    from nntutor.nbfix import NotebookSource

    cells = [Cell(0, "import torch\nfor x in xs:\n    y = x"), Cell(1, "print(y)\n")]
    source = NotebookSource(cells, "t.ipynb")
    doc = source.document()
    end0 = doc.cell_map.spans[0][1]           # the newline ending cell 0's last line
    last_line = doc.data.rindex(b"    y = x")

    def fixed(*edits):
        fix = Fix("", tuple(TextEdit(*e) for e in edits))
        if not source.applicable(doc, fix):
            return None
        return [c.source for c in source.applied(doc, [fix]).cells]

    assert fixed((end0 + 1, end0 + 1, "    z = y\n")) == ["import torch\nfor x in xs:\n    y = x\n    z = y", "print(y)\n"]
    assert fixed((last_line, end0 + 1, "")) == ["import torch\nfor x in xs:", "print(y)\n"]
    loop = doc.data.index(b"for x")    # a move: the last line deleted, inserted above
    assert fixed((last_line, end0 + 1, ""), (loop, loop, "    y = x\n")) == ["import torch\n    y = x\nfor x in xs:", "print(y)\n"]
    assert fixed((end0 + 1, end0 + 2, "")) is None        # the separator line itself
    assert fixed((end0, end0 + 3, "")) is None            # into the next cell
    next_cell = doc.cell_map.spans[1][0]
    assert fixed((next_cell, next_cell, "x = 0\n")) == ["import torch\nfor x in xs:\n    y = x", "x = 0\nprint(y)\n"]
    # a cell with a final newline keeps it
    source = NotebookSource([Cell(0, "a = 1\nb = 2\n")], "t.ipynb")
    doc = source.document()
    end0 = doc.cell_map.spans[0][1]
    fix = Fix("", (TextEdit(end0 + 1, end0 + 1, "c = 3\n"),))
    assert [c.source for c in source.applied(doc, [fix]).cells] == ["a = 1\nb = 2\nc = 3\n"]


def test_string_sources_stay_strings_and_other_layouts_round_trip():
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": "import torch\ndevice = torch.device('cuda')\nmodel = Net().to(device)"}]}
    raw = json.dumps(nb, indent=2).encode()   # unsorted keys, ASCII escapes, no final newline
    fixed, new = fix_notebook_bytes(raw, "t.ipynb")
    assert fixed.applied == 1 and not new.endswith(b"\n")
    assert isinstance(json.loads(new)["cells"][0]["source"], str)
    assert new.decode().splitlines()[:3] == raw.decode().splitlines()[:3]


def test_a_layout_it_cannot_reproduce_is_left_alone():
    nb = json.loads(_nb("import torch\ndevice = torch.device('cuda')\nmodel = Net().to(device)"))
    raw = json.dumps(nb, indent=3).encode()
    with pytest.raises(LayoutUnknown):
        fix_notebook_bytes(raw, "t.ipynb")
