"""Shared helpers of the benchmark scripts: paths, machine description, inputs, Markdown."""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
GEN = OUT / "gen"
VENV_BIN = Path(sys.executable).parent

# label -> (path relative to GEN, kind)
INPUTS = {
    "300": "f300/pipeline_300.py",
    "3000": "f3000/pipeline_3000.py",
    "20000": "f20000/pipeline_20000.py",
    "tree": "tree",
}
TITLES = {"300": "~300-line file", "3000": "~3,000-line file", "20000": "~20,000-line file",
          "tree": "200-module package tree"}


PYCACHE = OUT / "pycache"


def child_env() -> dict:
    """Environment of the measured processes: bytecode caching on (as in a normal install; this
    workplace sets PYTHONDONTWRITEBYTECODE), with the .pyc files kept under bench/out/pycache."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def tool(name: str) -> str:
    """An executable of the venv this script runs in (falls back to PATH)."""
    p = VENV_BIN / name
    return str(p) if p.exists() else name


def manifest() -> dict:
    path = GEN / "manifest.json"
    if not path.exists():
        sys.exit(f"{path} is missing: run `python bench/generate.py` first")
    return json.loads(path.read_text())


def input_lines(man: dict, label: str) -> int:
    return man["tree"]["lines"] if label == "tree" else man["files"][label]["lines"]


def input_files(man: dict, label: str) -> int:
    return man["tree"]["files"] if label == "tree" else 1


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO,
                              check=False).stdout.strip()
    except Exception as exc:  # a missing tool: say so in the report
        return f"unavailable ({exc.__class__.__name__})"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no", "--", "server"])
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": affinity, "cpu_count": os.cpu_count(), "cpu_model": cpu, "mem_gb": mem_gb,
        "platform": platform.platform(), "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": _run(["git", "rev-parse", "--short", "HEAD"]),
        "engine_dirty": bool(dirty) or bool(_run(["git", "status", "--porcelain", "--", "server/nntutor"])),
    }


def versions() -> dict:
    return {
        "nntutor": _run([tool("nntutor"), "--version"]),
        "ruff": _run([tool("ruff"), "--version"]),
        "torchfix": _run([tool("torchfix"), "--version"]),
        "jedi-language-server": _run([tool("jedi-language-server"), "--version"]),
        "pylsp": _run([tool("pylsp"), "--version"]),
    }


def parse_importtime(stderr: str) -> dict:
    """-X importtime output -> total, per top-level module (cumulative) and largest self times."""
    import re

    entries = []
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m:
            entries.append({"self_us": int(m.group(1)), "cum_us": int(m.group(2)),
                            "depth": len(m.group(3)) // 2, "module": m.group(4)})
    top_level = [e for e in entries if e["depth"] == 0]
    by_root: dict[str, int] = {}
    for e in top_level:
        root = e["module"].split(".")[0]
        by_root[root] = by_root.get(root, 0) + e["cum_us"]
    by_pkg: dict[str, int] = {}
    for e in entries:
        root = e["module"].split(".")[0]
        by_pkg[root] = by_pkg.get(root, 0) + e["self_us"]
    return {"total_import_ms": sum(e["cum_us"] for e in top_level) / 1000,
            "self_by_package_ms": dict(sorted(((k, v / 1000) for k, v in by_pkg.items()), key=lambda kv: -kv[1])[:12]),
            "nntutor_modules_ms": sum(e["cum_us"] for e in top_level if e["module"].startswith("nntutor")) / 1000,
            "by_root_ms": dict(sorted(((k, v / 1000) for k, v in by_root.items()), key=lambda kv: -kv[1])[:12]),
            "top_cumulative": sorted(top_level, key=lambda e: -e["cum_us"])[:12],
            "top_self": sorted(entries, key=lambda e: -e["self_us"])[:12]}


def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, q: float):
    """Nearest-rank percentile (q in 0..100)."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def fmt(x, nd=2, unit=""):
    if x is None:
        return "n/a"
    if isinstance(x, str):
        return x
    if abs(x) >= 100:
        return f"{x:,.0f}{unit}"
    return f"{x:.{nd}f}{unit}"


def table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(REPO))
    except ValueError:
        return str(p)
