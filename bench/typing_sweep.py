"""How many findings vanish while a line is being typed.

For each .py file under the given paths that has findings, a half-typed statement
(`x = torch.zeros(`, `for i in `, ...) is inserted before a few of its statements (chosen with a
fixed seed) and the file analysed again: a finding of the original that is not reported at its
(shifted) place in the edited file counts as lost. The typed line itself has no findings in the
original, so every loss is a finding of code the user is not touching.

    python bench/typing_sweep.py PATH... [--per-file 3] [--seed 1]

Figures of 2026-12-07 (the sweep-11 corpus, 18 repositories; `--per-file 3 --seed 1`): before
`recovery.py`, 101 of 498 edits lost 147 of 1,089 findings; with it, 2 edits lose 2, both
`model.` typed above a line that then reads as its attribute (valid code, nothing to recover).
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from nntutor.document import Document  # noqa: E402
from nntutor.engine import analyze  # noqa: E402
from nntutor.notebook import LogicalLines  # noqa: E402

HALF_TYPED = ["x = torch.zeros(", "y = nn.Linear(3, ", "s = 'abc", "z = foo(a,\\", "for i in ",
              "if x ==", "model.", "loss = criterion(out"]
# Lines that continue the statement before them: a new statement cannot be typed above them.
CONTINUATIONS = ("#", ")", "]", "}", "else", "elif", "except", "finally", "@")


def findings(text: str, path: str) -> list[tuple[str, int]]:
    return [(f.rule, f.location.line) for f in analyze(Document.from_text(text, path)).findings]


def statement_starts(lines: list[str]) -> list[int]:
    scan, starts = LogicalLines(), []
    for i, line in enumerate(lines):
        if not scan.continued and line.strip() and not line.lstrip().startswith(CONTINUATIONS):
            starts.append(i)
        scan.scan(line.encode())
    return starts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--per-file", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-bytes", type=int, default=200_000)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    files = sorted(f for p in args.paths for f in ([Path(p)] if Path(p).is_file() else Path(p).rglob("*.py")))
    edits = losing = total = lost = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) > args.max_bytes:
            continue
        base = findings(text, str(path))
        lines = text.split("\n")
        starts = statement_starts(lines)
        if not base or not starts:
            continue
        for _ in range(args.per_file):
            i = rng.choice(starts)
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            typed = rng.choice(HALF_TYPED)
            got = set(findings("\n".join([*lines[:i], indent + typed, *lines[i:]]), str(path)))
            missing = [(r, n + (n >= i)) for r, n in base if (r, n + (n >= i)) not in got]
            edits += 1
            total += len(base)
            lost += len(missing)
            if missing:
                losing += 1
                print(f"{path}:{i + 1}: {typed!r} loses {missing[:3]}")
    print(f"edits {edits}, edits losing findings {losing}, findings {total}, lost {lost}")


if __name__ == "__main__":
    main()
