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
