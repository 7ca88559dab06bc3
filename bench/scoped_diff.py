"""Differential check of nntutor.scoped against whole-file analysis on real code.

    python bench/scoped_diff.py [--edits-per-file 6] [--seed 1] FILE_OR_DIR...

For every .py file: analyse it, then for up to N definitions (random), apply one edit inside the
definition's body (insert `_tmp = 1`; delete one line; duplicate one line; each kept only if the
result still parses), re-analyse in part with `scoped.reanalyze` and from scratch with
`engine.analyze`, and compare the findings (rule, severity, message, every location, related
locations and fixes). Prints each mismatch and a summary: edits tried, scoped, identical,
share of the file re-analysed, and the time of both paths.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from nntutor import engine, scoped
from nntutor.document import Document


def files_of(paths):
    for p in paths:
        p = Path(p)
        if p.is_file() and p.suffix == ".py":
            yield p
        elif p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for n in sorted(names):
                    if n.endswith(".py"):
                        yield Path(root) / n


def key(f):
    return repr((f.rule, int(f.severity), f.message, f.location, f.related, f.fix, f.confidence))


def edits_for(doc, unit, rng):
    data = doc.data
    b0, b1 = unit.body
    line_start = data.rfind(b"\n", 0, b0) + 1
    first = data[line_start:data.find(b"\n", line_start)]
    indent = first[:len(first) - len(first.lstrip())]
    lines, pos = [], b0
    while pos < b1:
        end = data.find(b"\n", pos)
        end = b1 if end < 0 or end > b1 else end
        lines.append((data.rfind(b"\n", 0, pos) + 1, end))
        pos = end + 1
    out = []
    if indent and data[line_start:b0].strip() == b"":
        out.append(("insert", line_start, line_start, indent + b"_tmp = 1\n"))
    inner = [(s, e) for s, e in lines if s > b0 and data[s:e].strip()]
    if inner:
        s, e = rng.choice(inner)
        out.append(("delete", s, e + 1, b""))
        s, e = rng.choice(inner)
        out.append(("duplicate", s, s, data[s:e + 1]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--edits-per-file", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-bytes", type=int, default=400_000)
    ap.add_argument("--any-share", action="store_true",
                    help="slice whatever the share and size (tests soundness on every edit)")
    args = ap.parse_args()
    if args.any_share:
        scoped.MAX_SHARE, scoped.MIN_BYTES = 1.0, 0
    rng = random.Random(args.seed)
    index = scoped.UnitIndex()
    tried = done = same = bad_units = bad_parse = 0
    t_scoped = t_full = 0.0
    share = 0.0
    reasons = {}
    for path in files_of(args.paths):
        try:
            raw = path.read_bytes()
            if len(raw) > args.max_bytes:
                continue
            old = Document.from_bytes(raw, str(path))
            if old.tree.root_node.has_error or old.cell_map is not None:
                continue
            base = engine.analyze(old)
        except (OSError, ValueError) as exc:   # unreadable, binary or a corrupt notebook: skip it
            print(f"skipped {path}: {exc}", file=sys.stderr)
            continue
        prior = scoped.Version.of(old)
        defs = [u for u in scoped.units(old) if u.name is not None]
        rng.shuffle(defs)
        budget = args.edits_per_file
        for unit in defs:
            if budget <= 0:
                break
            for kind, s, e, text in edits_for(old, unit, rng):
                if budget <= 0:
                    break
                new = old.snapshot()
                new.edit(s, e, text)   # not parsed: the scoped pass does without the new tree
                t = time.perf_counter()
                try:
                    part, version = scoped.reanalyze(prior, new, base, engine.analyze, index)
                except scoped.NotScoped as exc:
                    part = exc
                t_part = time.perf_counter() - t
                if new.tree.root_node.has_error:
                    if not isinstance(part, scoped.NotScoped):
                        bad_parse += 1
                        print(f"MISMATCH {path}: scoped a text with a syntax error ({kind} in {unit.name.decode()})")
                    continue
                budget -= 1
                tried += 1
                if isinstance(part, scoped.NotScoped):
                    reasons[str(part)] = reasons.get(str(part), 0) + 1
                    continue
                t_scoped += t_part
                if version != scoped.Version.of(new):
                    bad_units += 1
                    print(f"MISMATCH {path}: the units after the edit differ from the parsed text's "
                          f"({kind} in {unit.name.decode()})")
                t = time.perf_counter()
                full = engine.analyze(new)
                t_full += time.perf_counter() - t
                done += 1
                plan = scoped.plan(prior, new, index)
                share += sum(plan.after[k].end - plan.after[k].start for k in plan.keep) / max(1, len(new.data))
                a, b = sorted(map(key, part.findings)), sorted(map(key, full.findings))
                if a == b:
                    same += 1
                    continue
                line = new.index.char_position(s)[0] + 1
                print(f"MISMATCH {path}:{line} ({kind} in {unit.name.decode()})")
                for side, xs, ys in (("only full:  ", full, part), ("only scoped:", part, full)):
                    other = set(map(key, ys.findings))
                    for f in xs.findings:
                        if key(f) not in other:
                            print(f"   {side} {f.rule} line {f.location.line + 1}: {f.message[:90]}")
    print(f"edits {tried}, scoped {done}, identical {same}, mismatches {done - same}; "
          f"units wrong {bad_units}, syntax errors scoped {bad_parse}; "
          f"mean share re-analysed {share / max(1, done):.1%}; "
          f"time scoped {t_scoped * 1000 / max(1, done):.2f} ms vs full {t_full * 1000 / max(1, done):.2f} ms per edit")
    for r, n in sorted(reasons.items(), key=lambda x: -x[1]):
        print(f"   not scoped: {n:5d}  {r}")


if __name__ == "__main__":
    main()
