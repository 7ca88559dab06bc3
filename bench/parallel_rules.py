"""Measured and not kept (docs/design.md, session 26): the scoped pass of the bench's 3,000-line
code edit with its rules split between this process and a worker forked at start (the slice's
bytes sent through a pipe, the worker's findings pickled back), against the same pass alone.

    python bench/parallel_rules.py one 0.25    # the pass alone, 0.25 s idle before each edit
    python bench/parallel_rules.py par 0.25    # split across two processes
(second argument 0: back to back). Needs os.fork (Linux, macOS) and bench/out/gen (generate.py).
The split puts the rules that cost most over the bench's slice (measured once) on alternate sides."""
import os
import pickle
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

import bench_lsp

from nntutor import engine, scoped
from nntutor.config import Config
from nntutor.document import Document
from nntutor.rules import all_rules

# ms per rule over the bench edit's slice (the others ~0.03): for an even split
COST = {"hardcoded-cuda": .79, "eval-mode-not-restored": .34, "categorical-loss-single-unit": .33,
        "leakage-multitest": .28, "leakage-preprocessing": .17, "missing-eval-mode": .17,
        "missing-no-grad": .14, "stale-batch": .11, "accelerator-check-not-called": .08}


def split_rules():
    mine, theirs, a, b = [], [], 0.0, 0.0
    for rule in sorted((r for r in all_rules() if r != "unused-suppression"), key=lambda r: -COST.get(r, .03)):
        if a <= b:
            mine.append(rule)
            a += COST.get(rule, .03)
        else:
            theirs.append(rule)
            b += COST.get(rule, .03)
    return Config(select=mine), Config(select=theirs)


def send(fd, obj):
    data = pickle.dumps(obj, protocol=5)
    os.write(fd, struct.pack("<I", len(data)) + data)


def receive(fd):
    n = struct.unpack("<I", os.read(fd, 4))[0]
    buf = b""
    while len(buf) < n:
        buf += os.read(fd, n - len(buf))
    return pickle.loads(buf)


def main(mode: str, idle: float) -> None:
    path = str(ROOT / "bench/out/gen/f3000/pipeline_3000.py")
    text = Path(path).read_text()
    line, indent = bench_lsp.code_edit_site(text)
    inserted = (indent + "_tmp = 1\n").encode()
    mine, theirs = split_rules()
    to_worker, from_main = os.pipe()
    to_main, from_worker = os.pipe()
    worker = None
    if mode == "par":
        worker = os.fork()
        if worker == 0:
            while True:
                data, p = receive(to_worker)
                send(from_worker, engine.analyze(Document.from_text(data.decode(), p), theirs).findings)

    def split_pass(part):
        send(from_main, (part.data, part.path))
        result = engine.analyze(part, mine)
        result.findings = sorted(result.findings + receive(to_main), key=lambda f: f.sort_key())
        return result

    doc = Document.from_text(text, path)
    analysis = engine.analyze(doc)
    index = scoped.UnitIndex()
    version = scoped.Version.of(doc)
    times = []
    for k in range(40):
        at = doc.index.starts[line]
        if k % 2 == 0:
            doc.edit(at, at, inserted)
        else:
            doc.edit(at, at + len(inserted), b"")
        snap = doc.snapshot()
        time.sleep(idle)
        t0 = time.perf_counter()
        analysis, version = scoped.reanalyze(version, snap, analysis,
                                             split_pass if mode == "par" else engine.analyze, index)
        times.append(time.perf_counter() - t0)
    times = sorted(times[4:])
    q = len(times) // 4
    print(f"{mode} idle {idle} s: median {times[len(times) // 2] * 1e3:.2f} ms, p25 {times[q] * 1e3:.2f}, "
          f"p75 {times[3 * q] * 1e3:.2f}, findings {len(analysis.findings)}")
    if worker:
        os.kill(worker, 9)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.25)
