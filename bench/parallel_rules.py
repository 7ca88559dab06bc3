"""Measured and not kept (docs/design.md, session 26): the scoped pass of the bench's 3,000-line
code edit with its rules split between this process and a worker forked at start (the slice's
bytes sent through a pipe, the worker's findings pickled back), against the same pass alone.

    python bench/parallel_rules.py one 0.25    # the pass alone, 0.25 s idle before each edit
    python bench/parallel_rules.py par 0.25    # split across two processes
(second argument 0: back to back). Needs os.fork (Linux, macOS) and bench/out/gen (generate.py).
The split puts the rules that cost most over the bench's slice (measured once) on alternate sides."""
import os, sys, time, pickle, struct
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server")); sys.path.insert(0, str(ROOT / "bench"))
from nntutor.document import Document
from nntutor import engine, scoped
from nntutor.config import Config
from nntutor.rules import all_rules
import bench_lsp as B

path = str(ROOT / "bench/out/gen/f3000/pipeline_3000.py")
text = open(path).read()
j, indent = B.code_edit_site(text)
ins = (indent + "_tmp = 1\n").encode()
# partition rules by cost on the slice (from perrule3): greedy
COST = {"hardcoded-cuda": .79, "eval-mode-not-restored": .34, "categorical-loss-single-unit": .33,
        "leakage-multitest": .28, "leakage-preprocessing": .17, "missing-eval-mode": .17, "missing-no-grad": .14,
        "stale-batch": .11, "accelerator-check-not-called": .08}
ids = [r for r in all_rules() if r != "unused-suppression"]
A, Bs, ca, cb = [], [], 0, 0
for r in sorted(ids, key=lambda r: -COST.get(r, 0.03)):
    if ca <= cb: A.append(r); ca += COST.get(r, .03)
    else: Bs.append(r); cb += COST.get(r, .03)
confA, confB = Config(select=A), Config(select=Bs)
MODE = sys.argv[1]
SLEEP = float(sys.argv[2]) if len(sys.argv) > 2 else 0.25

r1, w1 = os.pipe(); r2, w2 = os.pipe()
def send(fd, obj):
    b = pickle.dumps(obj, protocol=5); os.write(fd, struct.pack("<I", len(b)) + b)
def recv(fd):
    n = struct.unpack("<I", os.read(fd, 4))[0]; buf = b""
    while len(buf) < n: buf += os.read(fd, n - len(buf))
    return pickle.loads(buf)
if MODE == "par":
    pid = os.fork()
    if pid == 0:
        prev = None
        while True:
            data, p = recv(r1)
            d = Document.from_text(data.decode(), p)
            res = engine.analyze(d, confB)
            send(w2, res.findings)
doc = Document.from_text(text, path)
analysis = engine.analyze(doc)
index = scoped.UnitIndex()
v = scoped.Version.of(doc)
def slice_par(part):
    send(w1, (part.data, part.path))
    a = engine.analyze(part, confA)
    fb = recv(r2)
    a.findings = sorted(a.findings + fb, key=lambda f: f.sort_key())
    return a
def slice_one(part):
    return engine.analyze(part)
fn = slice_par if MODE == "par" else slice_one
ts = []
for k in range(40):
    before = doc.snapshot()
    off = doc.index.starts[j]
    if k % 2 == 0: doc.edit(off, off, ins)
    else: doc.edit(off, off + len(ins), b"")
    snap = doc.snapshot()
    time.sleep(SLEEP)
    t0 = time.perf_counter()
    analysis, v = scoped.reanalyze(v, snap, analysis, fn, index)
    ts.append(time.perf_counter() - t0)
ts = sorted(ts[4:])
print(MODE, SLEEP, "median %.2f ms p25 %.2f p75 %.2f" % (ts[len(ts)//2]*1e3, ts[len(ts)//4]*1e3, ts[3*len(ts)//4]*1e3), "findings", len(analysis.findings))
if MODE == "par": os.kill(pid, 9)
