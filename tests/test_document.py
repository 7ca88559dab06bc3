"""Document versions: an edited version is freed at once, not at the next full collection."""
import gc
import weakref

from nntutor.document import Document
from nntutor.engine import analyze

SOURCE = b"""import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()
for x, y in loader:
    loss = criterion(F.softmax(model(x), dim=1), y)
"""


def test_an_edited_version_is_freed_without_the_cycle_collector():
    """Facts keep their version's source and tree; if they kept the document that keeps them,
    each version (tree included: tens of MB for a big file) would wait for the cycle collector."""
    doc = Document(SOURCE, "train.py")
    assert analyze(doc.snapshot()).findings  # facts computed through a snapshot, as the server does
    old_facts = weakref.ref(doc.facts)
    gc.disable()
    try:
        doc.edit(0, 0, b"# a comment\n")
        assert old_facts() is None
    finally:
        gc.enable()
    assert analyze(doc).findings  # and the new version still analyses


# -- the line index of an edited version --------------------------------------------------------
from hypothesis import given, settings
from hypothesis import strategies as st

from nntutor.source import LineIndex

_TEXT = st.text(alphabet="ab\n\t é€", max_size=60).map(lambda s: s.encode("utf-8"))


@settings(max_examples=400, deadline=None)
@given(_TEXT, st.data())
def test_edited_line_index_equals_a_fresh_one(old, data):
    """Document.edit derives the new version's line index from the old one (kept line starts,
    shifted ones, the new text searched): the same index as one built from scratch, for any edit
    (insertions, deletions, replacements, newlines on either side, multi-byte characters)."""
    start = data.draw(st.integers(0, len(old)))
    old_end = data.draw(st.integers(start, len(old)))
    new_text = data.draw(_TEXT)
    new = old[:start] + new_text + old[old_end:]
    edited = LineIndex(old).edited(start, old_end, new_text, new)
    fresh = LineIndex(new)
    assert edited.starts == fresh.starts and edited.ascii == fresh.ascii and edited.data is new


def test_document_edits_keep_positions_right():
    doc = Document(SOURCE, "train.py")
    doc.edit(0, 0, b"# one\n# two\n")
    doc.edit(len(b"# one\n"), len(b"# one\n# two\n"), b"")
    assert doc.index.starts == LineIndex(doc.data).starts
    assert doc.location(doc.data.index(b"softmax"))[1:] == (6, doc.data.split(b"\n")[6].index(b"F.softmax") + 2)


# -- old-Mac line endings (a lone \r) --------------------------------------------------------------
from nntutor.document import lone_cr_to_lf

CR_SOURCE = (b"import torch.nn as nn\rimport torch.nn.functional as F\r\r"
             b"criterion = nn.CrossEntropyLoss()\rfor x, y in loader:\r"
             b"    loss = criterion(F.softmax(model(x), dim=1), y)\r")


def test_lone_carriage_returns_are_line_breaks():
    """tree-sitter does not break lines at a lone \\r (it parses such a file as one line with
    missing newlines); Python, editors and ruff do. The document reads them as newlines, one byte
    for one, so the tree has no error and findings land on the line Python would report."""
    doc = Document(CR_SOURCE, "old_mac.py")
    assert not doc.tree.root_node.has_error
    (finding,) = [f for f in analyze(doc).findings if f.rule == "double-softmax"]
    assert finding.location.line == 5   # 0-based: the sixth line, as `python -c` would count it
    assert len(doc.data) == len(CR_SOURCE)


def test_crlf_is_left_alone():
    assert lone_cr_to_lf(b"a = 1\r\nb = 2\r\n") == b"a = 1\r\nb = 2\r\n"
    assert lone_cr_to_lf(b"a = 1\rb = 2\r\n\r") == b"a = 1\nb = 2\r\n\n"


_CR_TEXT = st.text(alphabet="ab\r\n", max_size=30).map(lambda s: s.encode())


@settings(max_examples=400, deadline=None)
@given(_CR_TEXT, st.data())
def test_edits_around_carriage_returns_equal_a_fresh_document(old, data):
    """Whatever an edit does to \\r and \\n (splitting a CRLF, deleting its LF, typing a \\r
    before an existing \\n), the edited document holds the bytes a fresh one of the new text
    holds, and its tree parses them."""
    doc = Document(old, "t.py")
    start = data.draw(st.integers(0, len(old)))
    old_end = data.draw(st.integers(start, len(old)))
    new_text = data.draw(_CR_TEXT)
    doc.edit(start, old_end, new_text)
    fresh = Document(old[:start] + new_text + old[old_end:], "t.py")
    assert doc.data == fresh.data
    assert doc.index.starts == fresh.index.starts
    assert str(doc.tree.root_node) == str(fresh.tree.root_node)


# -- the tree is parsed when first read after an edit ----------------------------------------------
_CODE = st.text(alphabet="ab(): =\n\t#'", max_size=40).map(lambda s: s.encode())


@settings(max_examples=300, deadline=None)
@given(_CODE, st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8), _CODE), min_size=1, max_size=5),
       st.data())
def test_edits_not_parsed_in_between_give_the_tree_of_a_fresh_parse(old, edits, data):
    """Document.edit leaves the parse to the first read of `tree` (a scoped pass publishes
    before the whole text is re-parsed): edits made in between are chained on the last parsed
    tree; snapshots taken on the way each see their own version's tree; and the tree read at
    the end, with its `has_error` base, is what a fresh parse of the text gives."""
    doc = Document(old, "t.py")
    snaps = []
    for start, length, text in edits:
        start = min(start, len(doc.data))
        doc.edit(start, min(len(doc.data), start + length), text)
        snaps.append((doc.snapshot(), doc.data))
        if data.draw(st.booleans()):
            _ = doc.tree   # parsed now and then, as hovers and passes do
    for snap, text in snaps:
        assert str(snap.tree.root_node) == str(Document(text, "t.py").tree.root_node)
    assert str(doc.tree.root_node) == str(Document(doc.data, "t.py").tree.root_node)
    assert doc.analysable().data is not None   # recovery reads the base a broken tree keeps
