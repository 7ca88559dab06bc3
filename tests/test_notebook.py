"""Notebook sources: IPython lines are blanked to comments, Python is left alone."""
import pytest

from nntutor.document import Document
from nntutor.engine import analyze
from nntutor.notebook import Cell, blank_ipython


@pytest.mark.parametrize("line", [b"%matplotlib inline", b"!pip install torch", b"  %time f(x)",
                                  b"files = !ls", b"model?", b"%%time"])
def test_ipython_lines_become_comments_of_the_same_length(line):
    out = blank_ipython(line + b"\nx = 1\n")
    assert len(out) == len(line) + len(b"\nx = 1\n") and out.endswith(b"\nx = 1\n")
    compile(out, "cell", "exec")   # Python now


@pytest.mark.parametrize("src", [
    # a backslash continuation: `%` is the formatting operator (omarsar/pytorch_notebooks)
    b"print('Loss: %.4f | Acc: %.2f' \\\n      %(loss, acc))\n",
    # inside brackets
    b"x = f(1,\n%(2))\n",
    b"msg = ('a'\n       '%s'\n       % name)\n",
    # inside a triple-quoted string
    b's = """\n%not a magic\n!not a command\n"""\n',
    b"s = '''start\nmiddle\n%end'''\n",
])
def test_continuation_lines_are_python(src):
    assert blank_ipython(src) == src


@pytest.mark.parametrize("magic", [b"%%time", b"%%timeit -n 3", b"%%capture out", b"%%prun"])
def test_the_body_of_a_timing_magic_is_python_with_its_own_ipython_lines_blanked(magic):
    """IPython transforms a %%time cell's body like any cell: `!kaggle ...` there is a shell line
    (seen in a Packt notebook), the rest is Python that the rules must read."""
    src = magic + b"\n!kaggle datasets download -d a/b-c-d\nmodel = f(x)\n%matplotlib inline\nprint(model)\n"
    out = blank_ipython(src)
    assert len(out) == len(src)
    assert out.split(b"\n")[2] == b"model = f(x)" and out.split(b"\n")[4] == b"print(model)"
    compile(out, "cell", "exec")


@pytest.mark.parametrize("src", [
    # unslothai/notebooks' install cells: an escape inside a block, continued
    b'import os\nif "COLAB_" in "".join(os.environ.keys()):\n    !uv pip install -qqq \\\n'
    b'        "torch>=2.8.0" torchvision \\\n        "unsloth[base] @ git+https://x/y"\nelse:\n    !pip install unsloth\n',
    # a continuation that looks like an unfinished expression (`a/`)
    b"!ls \\\n  a/\nx = 1\n",
    b"files = !ls \\\n  -la\nprint(files)\n",
])
def test_the_continuation_lines_of_a_shell_escape_are_blanked_with_it(src):
    out = blank_ipython(src)
    assert len(out) == len(src)
    # parses without an error, so no statement is left out of the analysis (a block holding
    # only the blanked escape is fine for tree-sitter, not for `compile`)
    assert not Document.from_text(out.decode(), "cell.py").tree.root_node.has_error
    assert out.splitlines()[0] == src.splitlines()[0] or src.startswith((b"!", b"files"))
    assert all(line in out.splitlines() for line in src.splitlines() if line in (b"x = 1", b"print(files)", b"else:"))


@pytest.mark.parametrize("src,blanked", [
    (b"cd /tmp/project/\nimport torch\n", True),       # automagic: `%cd` without its `%`
    (b"pip install -q timm\nimport timm\n", True),
    (b"cd ..\nx = 1\n", True),
    (b"ls = [1, 2]\nx = 1\n", False),                  # Python: a name bound
    (b"env = make_env()\nx = 1\n", False),
    (b"run(model)\nx = 1\n", False),
    (b"pwd\nx = 1\n", False),                          # a plain name: Python too, harmless
])
def test_an_automagic_line_is_blanked_only_when_it_is_not_python(src, blanked):
    """sweep 16: a first cell `cd /abs/dir/` made tree-sitter join it with `import torch` in
    the next cell, and the whole notebook lost its findings, with no notice."""
    out = blank_ipython(src)
    assert len(out) == len(src)
    assert (out != src) == blanked
    assert not Document.from_text(out.decode(), "cell.py").tree.root_node.has_error


def test_a_magic_after_a_closed_expression_is_still_blanked():
    src = b"d = {'a': '%s' % 1,\n     'b': 2}  # ( in a comment\n%who\nt = 'it''s' + \"(\"\n!ls\n"
    assert blank_ipython(src) == b"d = {'a': '%s' % 1,\n     'b': 2}  # ( in a comment\n#who\nt = 'it''s' + \"(\"\n#ls\n"


def test_jupyterlab_cells_start_afresh_after_the_separator():
    """In jupyterlab-lsp's joined source, two blank lines separate cells: an unclosed bracket in
    one cell (a half-typed line) does not hide the next cell's magics."""
    src = b"x = f(1,\n\n\n%matplotlib inline\n"
    assert blank_ipython(src, joined=True) == b"x = f(1,\n\n\n#matplotlib inline\n"


def test_a_continued_line_starting_with_percent_keeps_the_loop_after_it_apart():
    """The `%(...)` line was blanked to a comment, which left the backslash continuing into the
    next cell and swallowed the test loop into the epoch loop."""
    cells = [
        Cell(0, "import torch\nimport torch.nn as nn\nmodel = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))\n"),
        Cell(1, "for epoch in range(3):\n    model.train()\n    for x, y in loader:\n"
                "        loss = crit(model(x), y)\n        loss.backward()\n    model.eval()\n"
                "    print('Epoch: %d | Loss: %.4f' \\\n          %(epoch, loss.item()))\n"),
        Cell(3, "for x, y in testloader:\n    out = model(x)\n"),
    ]
    doc = Document.from_cells(cells, "nb.ipynb")
    assert not doc.tree.root_node.has_error
    (f,) = [f for f in analyze(doc).findings if f.rule == "missing-no-grad"]
    assert (f.location.cell, f.location.cell_line) == (3, 1)
    assert f.fix.title == "Wrap the loop in `with torch.no_grad():`"


def test_cells_with_lone_carriage_returns_map_back_to_their_lines():
    """A lone \\r ends a line in a cell as it does in the joined source: a finding in the next
    cell is reported on its own cell and line, and a shell line after a \\r is blanked."""
    cells = [Cell(0, "import torch\rx = 1\ry = 2\r!pip install torch\rz = 3"),
             Cell(1, "w = 4\rmodel = build().cuda()")]
    doc = Document.from_cells(cells, "nb.ipynb")
    assert not doc.tree.root_node.has_error
    (f,) = [f for f in analyze(doc).findings if f.rule == "hardcoded-cuda"]
    assert (f.location.cell, f.location.cell_line) == (1, 1)


def test_a_fix_in_a_cell_with_lone_carriage_returns_is_applied(tmp_path):
    """The fixer compares the cell's own text with the analysed one; a lone \\r is a newline in
    both, so the fix shown as available is applied."""
    import json

    from nntutor.nbfix import fix_notebook_bytes

    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import torch\rx = torch.ones(3)  # nntutor: ignore[hardcoded-cuda]\ry = 2"}]}
    fixed, new = fix_notebook_bytes(json.dumps(nb).encode(), "nb.ipynb")
    assert fixed.applied == 1
    assert json.loads(new)["cells"][0]["source"] == "import torch\rx = torch.ones(3)\ry = 2"


# -- a notebook rebuilt from its last version (the language server, on each cell edit) --------------
from hypothesis import given, settings
from hypothesis import strategies as st

from nntutor.notebook import join_cells

_CELL_TEXTS = ["import torch\n", "x = model(x)\n", "%matplotlib inline\n", "!pip install torch\n",
               "for i in range(3):\n    y = i\n", "print('a' \\\n%(1, 2))\n", "a = 1\r\nb = 2\r\n",
               "c = 3\rd = 4\r", "%%bash\nls\n", "def f(\n    a):\n    return a\n", "", "# comment\n",
               "é = 'ü'\n", "s = '''\n%x\n'''\n", "y = f(\n", "t = \'\'\'open\n", "z = 1 + \\\n"]


def _same_document(a, b):
    assert a.data == b.data and a.raw == b.raw
    assert str(a.tree.root_node) == str(b.tree.root_node)
    assert a.cell_map.spans == b.cell_map.spans and a.cell_map.first_lines == b.cell_map.first_lines
    assert a.cell_map.line_counts == b.cell_map.line_counts
    assert a.index.starts == b.index.starts


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_CELL_TEXTS), max_size=3).map("".join), max_size=5),
       st.lists(st.lists(st.sampled_from(_CELL_TEXTS), max_size=3).map("".join), max_size=5))
def test_a_notebook_rebuilt_from_its_last_version_equals_a_fresh_one(before, after):
    old = Document.from_cells([Cell(index=i, source=s) for i, s in enumerate(before)], "nb.ipynb")
    old_data, old_tree = old.data, str(old.tree.root_node)
    cells = [Cell(index=i, source=s) for i, s in enumerate(after)]
    rebuilt = Document.from_cells(cells, "nb.ipynb", version=3, previous=old)
    fresh = Document.from_cells(cells, "nb.ipynb")
    _same_document(rebuilt, fresh)
    assert rebuilt.version == 3 and rebuilt.notice == fresh.notice
    assert rebuilt.cell_map.left_out == fresh.cell_map.left_out
    # the last version is left as it was (a snapshot of it may be under analysis)
    assert old.data == old_data and str(old.tree.root_node) == old_tree
    assert analyze(rebuilt).findings == analyze(Document.from_cells(cells, "nb.ipynb")).findings


def test_joining_cells_twice_gives_the_same_text():
    cells = [Cell(index=i, source=s) for i, s in enumerate(_CELL_TEXTS)]
    assert join_cells(cells)[0] == join_cells(cells)[0]


_LINES = [b"", b"", b"", b"  ", b"\t", b"\r", b"%%bash", b"%%time", b"%time f(x)", b"!ls", b"files = !ls",
          b"model?", b"x = (", b")", b"y = [1,", b"2]", b"s = '''", b"'''", b'd = """', b'"""', b"a = 1 + \\",
          b"%(a, b)", b"!x", b"# note %", b"print('%d' % 3)", b"for i in range(3):", b"    %matplotlib inline",
          b"z = 'it''s'", b"%%writefile a.py", b"def f():", b"    return 1"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_LINES), max_size=40))
def test_blanking_a_joined_notebook_piece_by_piece_equals_one_scan(lines):
    from nntutor.notebook import _blank

    source = b"\n".join(lines)
    assert blank_ipython(source, joined=True) == _blank(source, True)
    # and again, now partly from the cache, after an edit in the middle
    edited = b"\n".join(lines[: len(lines) // 2] + [b"%time g()"] + lines[len(lines) // 2:])
    assert blank_ipython(edited, joined=True) == _blank(edited, True)


def test_the_same_text_with_other_cells_is_a_new_document():
    """Cells merged at a blank line join to the same bytes: the rebuilt document must not share
    them (the language server knows a version by the identity of its bytes)."""
    old = Document.from_cells([Cell(index=0, source="a = 1\n"), Cell(index=1, source="b = 2")], "nb.ipynb")
    merged = Document.from_cells([Cell(index=0, source="a = 1\n\nb = 2")], "nb.ipynb", previous=old)
    assert merged.data == old.data and merged.data is not old.data
    assert merged.cell_map.first_lines == [0] and old.cell_map.first_lines == [0, 2]


def test_the_cell_caches_keep_only_small_texts():
    from nntutor import notebook

    big = "x = 1\n" * (notebook.CACHED_TEXT_MAX // 6 + 10)
    before = notebook._cached_cell_body.cache_info().currsize
    pieces = notebook._blank_piece.cache_info().currsize
    for k in range(5):   # keystrokes in one huge cell
        join_cells([Cell(index=0, source=big + f"y = {k}\n")])
        blank_ipython((big + f"y = {k}\n").encode(), joined=True)
    assert notebook._cached_cell_body.cache_info().currsize == before
    assert notebook._blank_piece.cache_info().currsize == pieces


# -- a cell whose last statement is unfinished ---------------------------------------------------------
def test_an_unfinished_statement_is_left_out_and_the_next_cells_are_read_as_they_are():
    cells = [Cell(index=0, source="import torch\nx = torch.zeros(\n    3,"), Cell(index=1, source="model = Net().cuda()")]
    doc = Document.from_cells(cells, "nb.ipynb")
    lines = doc.data.split(b"\n")     # same lengths, same lines
    assert lines[:3] == [b"import torch", b"#" + b" " * (len("x = torch.zeros(") - 1), b"#" + b" " * 5]
    assert doc.cell_map.left_out == [0] and "cell 1: the last statement is not analysed" in doc.notice
    assert not doc.tree.root_node.has_error
    found = analyze(doc).findings
    # the import before the unfinished statement still counts; the next cell is its own code
    assert [(f.rule, f.location.cell, f.location.cell_line) for f in found] == [("hardcoded-cuda", 1, 0)]


@pytest.mark.parametrize("source", [
    "x = f(1,\n      2)\n",             # finished over two lines
    "s = '('\n# f(\n",                   # brackets in a string and a comment
    "t = '''\n(\n'''\n",                 # in a finished triple-quoted string
    "def f():\n    return )\n",          # broken, but nothing left open at the end
])
def test_finished_or_self_contained_cells_are_kept(source):
    doc = Document.from_cells([Cell(index=0, source=source), Cell(index=1, source="y = 2")], "nb.ipynb")
    assert doc.cell_map.left_out == [] and doc.notice is None
    assert doc.data.startswith(source.rstrip("\n").encode())
