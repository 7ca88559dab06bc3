"""How long the server expects a pass to take, which decides whether an edit is analysed at once
or debounced (lsp/server.py `schedule`). In-process, on the real server object and real
documents: the bookkeeping is what is under test, not the protocol."""
import threading
import time

from nntutor.document import Document
from nntutor.lsp.server import DEFAULT_COST_RATE, IMMEDIATE_COST_S, NNTutorServer

BLOCK = """\
def train_{i}(model, loader, optimizer, criterion):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()

"""


def big_text(blocks: int) -> str:
    return "import torch\nimport torch.nn as nn\n\n" + "".join(BLOCK.format(i=i) for i in range(blocks))


def test_before_any_pass_the_cost_is_estimated_from_the_length():
    ls = NNTutorServer()
    small, big = Document.from_text(big_text(10), "/t/a.py"), Document.from_text(big_text(3000), "/t/b.py")
    assert ls.pass_cost("a", small) == DEFAULT_COST_RATE * len(small.data) < IMMEDIATE_COST_S
    assert ls.pass_cost("b", big) > IMMEDIATE_COST_S     # ~27,000 lines: debounced from the start


def test_a_finished_pass_sets_the_rate_and_a_paste_scales_it():
    ls = NNTutorServer()
    uri = "file:///t/c.py"
    doc = Document.from_text(big_text(30), "/t/c.py")
    ls.docs[uri] = doc
    assert ls._analyze_snapshot(uri, doc.snapshot()) is not None
    rate = ls.cost_rates[uri]
    assert ls.pass_cost(uri, doc) == rate * len(doc.data)
    # paste a file a hundred times as long: its passes are expected to take a hundred times as long
    doc.replace(big_text(3000).encode())
    assert ls.pass_cost(uri, doc) == rate * len(doc.data) > 50 * rate * len(big_text(30))


def test_a_pass_stopped_by_an_edit_still_says_what_it_cost_so_far():
    ls = NNTutorServer()
    uri = "file:///t/d.py"
    doc = Document.from_text(big_text(2500), "/t/d.py")
    ls.docs[uri] = doc
    snap = doc.snapshot()
    out = {}
    started = time.perf_counter()
    worker = threading.Thread(target=lambda: out.setdefault("result", ls._analyze_snapshot(uri, snap)))
    worker.start()
    while not snap.facts_ready and worker.is_alive():   # the pass is past its facts ...
        time.sleep(0.001)
    facts_took = time.perf_counter() - started
    doc.edit(0, 0, b"# typing\n")                        # ... when the next keystroke lands
    worker.join()
    assert out["result"] is None                         # stopped: its result is for an old version
    assert uri not in ls.cost_rates                      # no finished pass yet
    assert ls.cost_floors[uri] * len(snap.data) >= facts_took * 0.5
    assert ls.pass_cost(uri, doc) >= ls.cost_floors[uri] * len(doc.data)
    # a finished pass replaces the floor with the real rate
    assert ls._analyze_snapshot(uri, doc.snapshot()) is not None
    assert uri in ls.cost_rates and uri not in ls.cost_floors
