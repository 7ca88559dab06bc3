"""Discovery benchmark: `check .` on a project that has a virtual environment inside it.

    python bench/generate.py && python bench/bench_discovery.py [--venv-files 50000] [--runs 5]

ML projects keep their `.venv` (torch alone installs ~15,000 files) next to the code. A linter
must not walk into it. This builds `bench/out/gen/project/`: the generated 200-module tree
(`src/`) plus `.venv/lib/python3.11/site-packages/` with --venv-files small .py files. Then it
runs, interleaved, --runs times each:

  nntutor check .      the installed package (the code of this checkout)
  nntutor@BASE         the same, with the package of another checkout on PYTHONPATH
                       (--base DIR: a `server/` folder; optional, to compare with an older walk)
  ruff check .         ruff's default rules, no cache

on the project and on `src/` alone (no .venv to skip). The difference between the two is what
the .venv costs each tool. Wall time is measured at the parent (median, min-max).

Writes bench/out/discovery_results.json and bench/RESULTS-discovery.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import GEN, HERE, OUT, child_env, fmt, machine, median, tool, versions  # noqa: E402

PROJECT = GEN / "project"


def build(venv_files: int) -> dict:
    """The project folder (rebuilt when the .venv size changes)."""
    stamp = PROJECT / ".built"
    if stamp.exists() and stamp.read_text() == str(venv_files):
        return _describe()
    shutil.rmtree(PROJECT, ignore_errors=True)
    tree = GEN / "tree"
    if not tree.is_dir():
        sys.exit(f"{tree} is missing: run `python bench/generate.py` first")
    shutil.copytree(tree, PROJECT / "src")
    site = PROJECT / ".venv" / "lib" / "python3.11" / "site-packages"
    body = "import os\n\n\ndef f(x):\n    return os.path.join(x, 'y')\n"
    for i in range(venv_files):
        pkg = site / f"pkg{i // 100:04d}"
        if i % 100 == 0:
            pkg.mkdir(parents=True)
            (pkg / "__init__.py").write_text("")
        (pkg / f"m{i % 100:02d}.py").write_text(body)
    stamp.write_text(str(venv_files))
    return _describe()


def _describe() -> dict:
    src = sum(1 for _ in (PROJECT / "src").rglob("*.py"))
    venv = sum(1 for _ in (PROJECT / ".venv").rglob("*.py"))
    return {"src_py_files": src, "venv_py_files": venv}


def commands(base: str | None) -> dict[str, tuple[list[str], dict]]:
    env = child_env()
    out = {"nntutor": ([tool("nntutor"), "check", "--no-config", "--format", "json", "."], env)}
    if base:
        benv = dict(env, PYTHONPATH=base)
        out["nntutor@base"] = ([sys.executable, "-m", "nntutor", "check", "--no-config", "--format", "json", "."], benv)
    out["ruff"] = ([tool("ruff"), "check", "--no-cache", "--isolated", "--exit-zero", "."], env)
    return out


def run(cmd: list[str], env: dict, cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv-files", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--base", help="a checkout's server/ folder to compare with (PYTHONPATH)")
    args = ap.parse_args(argv)
    sizes = build(args.venv_files)
    cmds = commands(args.base)
    targets = {"project (src + .venv)": PROJECT, "src only": PROJECT / "src"}
    for name, (cmd, env) in cmds.items():   # warm-up: bytecode, page cache
        run(cmd, env, PROJECT)
    times = {t: {n: [] for n in cmds} for t in targets}
    for _ in range(args.runs):
        for label, where in targets.items():
            for name, (cmd, env) in cmds.items():
                times[label][name].append(run(cmd, env, where))
    res = {"machine": machine(), "versions": {"ruff": versions()["ruff"]}, "sizes": sizes, "runs": args.runs, "base": args.base,
           "commands": {n: " ".join(c) for n, (c, _) in cmds.items()}, "times_s": times}
    (OUT / "discovery_results.json").write_text(json.dumps(res, indent=1))
    (HERE / "RESULTS-discovery.md").write_text(render(res))
    print(render(res))
    return 0


def render(res: dict) -> str:
    names = list(next(iter(res["times_s"].values())))
    sizes, m = res["sizes"], res["machine"]
    lines = [
        "# Discovery benchmark: `check .` with a virtual environment inside the project",
        "",
        f"`python bench/bench_discovery.py` at commit {m['git_commit']}, {m['date']}: {m['cpu_model']}, "
        f"{m['nproc']} CPUs, Python {m['python']}; {res['versions']['ruff']}. The project: the generated tree "
        f"({sizes['src_py_files']} .py files under `src/`) and a `.venv` with {sizes['venv_py_files']:,} "
        f".py files in site-packages. {res['runs']} runs per cell, interleaved; wall time in seconds, "
        "median (min-max), measured at the parent process.",
        "",
        "| target | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, by_tool in res["times_s"].items():
        cells = [f"{fmt(median(v), 3)} ({fmt(min(v), 3)}-{fmt(max(v), 3)})" for v in by_tool.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    project, src = res["times_s"]["project (src + .venv)"], res["times_s"]["src only"]
    for name in names:
        extra = median(project[name]) - median(src[name])
        lines.append(f"- {name}: the .venv adds {fmt(extra, 3)} s "
                     f"({fmt(median(project[name]) / median(src[name]), 2)}x the time on `src/` alone).")
    if "nntutor" in names and "ruff" in names:
        lines.append(f"- nntutor / ruff on the project: {fmt(median(project['nntutor']) / median(project['ruff']), 1)}x.")
    lines += ["", "Commands (run in the target folder):", ""]
    lines += [f"- {n}: `{c}`" for n, c in res["commands"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
