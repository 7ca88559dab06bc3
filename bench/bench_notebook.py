"""Notebook editing latency: a keystroke in one cell of a ~3,000-line notebook -> diagnostics.

    python bench/generate.py && python bench/bench_notebook.py [--servers nntutor,ruff] [--rounds 6]

The notebook is bench/out/gen/f3000/pipeline_3000.py cut into code cells at top-level
statements (~115 cells), written to bench/out/gen/nb3000/pipeline_3000.ipynb. Two ways a
client sends it, each measured for every server in one run, servers interleaved:

  notebook sync   LSP 3.17 notebookDocument/didOpen + didChange with the edited cell's
                  incremental change, as VS Code sends it. Time: didChange -> the first
                  publishDiagnostics for the edited cell.
  virtual doc     one Python document holding every code cell joined by two blank lines, and
                  the whole text again on every change, as jupyterlab-lsp sends it (nntutor
                  gets it under a `.virtual_documents/....ipynb` URI, which it reads as such;
                  other servers under a `.py` URI). Time: didChange -> publishDiagnostics.

Each scenario inserts a line into a function body of the middle cell and removes it again
(`rounds` edits), once a code line (`_tmp = 1`) and once a comment line, waiting for the server
to go idle between edits (as bench_lsp.py). Writes bench/out/notebook_results.json and
bench/RESULTS-notebook.md.

`--nntutor-src DIR` runs nntutor from another checkout's `server/` folder (PYTHONPATH) as an
extra server, `nntutor@DIR`: an A/B against an older version in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import GEN, OUT, child_env, machine, median, table, versions
from bench_lsp import SERVERS, LspClient, capabilities

SOURCE = GEN / "f3000" / "pipeline_3000.py"
NOTEBOOK = GEN / "nb3000" / "pipeline_3000.ipynb"
CODE_LINE = "_tmp = 1"
COMMENT_LINE = "# bench: edited line"
CELL_LINES = 15  # a cell ends at the first top-level statement after this many lines


def cut_cells(text: str) -> list[str]:
    """The file as notebook cells: a new cell at a top-level statement once a cell has
    CELL_LINES lines (never at a closing bracket or a comment); no trailing newline, as
    notebooks store cells."""
    cells, cur = [], []
    for line in text.splitlines(keepends=True):
        if (cur and len(cur) >= CELL_LINES and line.strip() and not line[0].isspace()
                and not line.startswith((")", "]", "}", "#"))):
            cells.append("".join(cur).rstrip("\n"))
            cur = []
        cur.append(line)
    cells.append("".join(cur).rstrip("\n"))
    return [c for c in cells if c.strip()]


def edit_site(cells: list[str]) -> tuple[int, int, str]:
    """(cell, 0-based line, indentation): the first statement of a function body in the
    middle cell or after it."""
    for ci in range(len(cells) // 2, len(cells)):
        lines = cells[ci].split("\n")
        for li in range(1, len(lines)):
            prev, line = lines[li - 1].rstrip(), lines[li]
            if (prev.lstrip().startswith("def ") and prev.endswith(":") and line.strip()
                    and not line.strip().startswith(('"', "'", "#"))):
                return ci, li, re.match(r"\s*", line).group(0)
    raise SystemExit("no function body to edit in the second half of the notebook")


def write_notebook(cells: list[str]) -> None:
    NOTEBOOK.parent.mkdir(parents=True, exist_ok=True)
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
                     "outputs": [], "source": c.splitlines(keepends=True)} for i, c in enumerate(cells)]}
    NOTEBOOK.write_text(json.dumps(nb, indent=1))


def notebook_capabilities() -> dict:
    caps = capabilities()
    caps["notebookDocument"] = {"synchronization": {"dynamicRegistration": False,
                                                    "executionSummarySupport": False}}
    return caps


def server_cmd(name: str, src: str | None) -> tuple[list[str], dict]:
    env = child_env()
    if name.startswith("nntutor@"):
        env["PYTHONPATH"] = str(Path(src).resolve())
        return [sys.executable, "-m", "nntutor", "lsp"], env
    return SERVERS[name], env


async def open_session(name: str, args, root: Path):
    cmd, env = server_cmd(name, args.nntutor_src)
    c = LspClient(name, cmd, root, OUT / f"notebook-{name.replace('@', '_').replace('/', '_')}.stderr", env=env)
    await c.start()
    msg, _, _ = await c.request("initialize", {
        "processId": None, "rootUri": root.as_uri(), "capabilities": notebook_capabilities(),
        "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
        "initializationOptions": {}}, args.timeout)
    await c.notify("initialized", {})
    return c, (msg.get("result") or {}).get("capabilities") or {}


async def timed_edits(c, res: dict, args, indent: str, send, which: str) -> None:
    """A code line, then a comment line: `rounds` edits each (insert, remove, ...), each from
    `send(k, line, version)` -> (sent at, URI whose diagnostics to wait for, version or None)
    to those diagnostics, the server idle again before the next."""
    version = 1
    for what, line in (("code", indent + CODE_LINE), ("comment", indent + COMMENT_LINE)):
        times = []
        for k in range(args.rounds):
            version += 1
            t, uri, wait_version = await send(k, line, version)
            got = await c.wait_diagnostics(uri, t, args.timeout, version=wait_version)
            if got is None:
                res["notes"].append(f"no diagnostics {which}within {args.timeout:.0f} s ({what} edit)")
                break
            times.append((got[0] - t) * 1000)
            await c.settle(max_wait=args.settle_max)
        res[f"{what}_ms"] = times


async def notebook_sync(name: str, cells: list[str], site, args) -> dict:
    root = NOTEBOOK.parent
    c, caps = await open_session(name, args, root)
    res: dict = {"notes": []}
    try:
        if not caps.get("notebookDocumentSync"):
            res["notes"].append("no notebookDocumentSync capability")
            return res
        nb_uri = NOTEBOOK.as_uri()
        cell_uris = [f"vscode-notebook-cell:{NOTEBOOK}#c{i}" for i in range(len(cells))]
        t_open = await c.notify("notebookDocument/didOpen", {
            "notebookDocument": {"uri": nb_uri, "notebookType": "jupyter-notebook", "version": 1,
                                 "cells": [{"kind": 2, "document": u} for u in cell_uris]},
            "cellTextDocuments": [{"uri": u, "languageId": "python", "version": 1, "text": t}
                                  for u, t in zip(cell_uris, cells)]})
        ci, li, indent = site
        got = await c.wait_diagnostics(cell_uris[ci], t_open, args.timeout)
        res["open_ms"] = (got[0] - t_open) * 1000 if got else None
        await c.settle(max_wait=args.settle_max)

        async def send(k, line, version):
            if k % 2 == 0:
                change = {"range": {"start": {"line": li, "character": 0}, "end": {"line": li, "character": 0}},
                          "text": line + "\n"}
            else:
                change = {"range": {"start": {"line": li, "character": 0}, "end": {"line": li + 1, "character": 0}},
                          "text": ""}
            t = await c.notify("notebookDocument/didChange", {
                "notebookDocument": {"uri": nb_uri, "version": version},
                "change": {"cells": {"textContent": [
                    {"document": {"uri": cell_uris[ci], "version": version}, "changes": [change]}]}}})
            return t, cell_uris[ci], None

        await timed_edits(c, res, args, indent, send, "for the edited cell ")
    finally:
        await c.stop()
    return res


async def virtual_doc(name: str, cells: list[str], site, args) -> dict:
    root = NOTEBOOK.parent
    c, _caps = await open_session(name, args, root)
    res: dict = {"notes": []}
    try:
        # nntutor reads this URI as a jupyterlab-lsp virtual notebook; others get a .py file
        folder = root / ".virtual_documents"
        uri = (folder / "pipeline_3000.ipynb").as_uri() if name.startswith("nntutor") else \
            (folder / "pipeline_3000.py").as_uri()
        text = "\n\n\n".join(cells) + "\n"
        t_open = await c.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})
        got = await c.wait_diagnostics(uri, t_open, args.timeout)
        res["open_ms"] = (got[0] - t_open) * 1000 if got else None
        await c.settle(max_wait=args.settle_max)
        ci, li, indent = site
        cell_lines = [cell.split("\n") for cell in cells]

        async def send(k, line, version):
            edited = [list(x) for x in cell_lines]
            if k % 2 == 0:
                edited[ci].insert(li, line)
            body = "\n\n\n".join("\n".join(x) for x in edited) + "\n"
            t = await c.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": body}]})
            return t, uri, version

        await timed_edits(c, res, args, indent, send, "")
    finally:
        await c.stop()
    return res


def fmt_ms(times) -> str:
    if not times:
        return "n/a"
    return f"{median(times):.1f} ({min(times):.1f}-{max(times):.1f}, n={len(times)})"


def render(res: dict) -> str:
    m = res["machine"]
    about = (f"{res['date']}; {m.get('cpu_model', '?')}, {m.get('nproc', '?')} cores; Python {m.get('python', '?')}; "
             f"commit {m.get('git_commit', '?')}{' (engine modified)' if m.get('engine_dirty') else ''}. "
             f"Notebook: `bench/out/gen/nb3000/pipeline_3000.ipynb`, {res['cells']} code cells, "
             f"{res['lines']:,} lines; edits in cell {res['site'][0]}, line {res['site'][1]}. "
             "Times in ms: median (min-max, n) from the change notification to the diagnostics.")
    lines = ["# Notebook editing latency (bench/bench_notebook.py)", "", about, ""]
    for scenario, title in (("sync", "Notebook sync (LSP 3.17, as VS Code sends it)"),
                            ("virtual", "Virtual document (whole text on each change, as jupyterlab-lsp sends it)")):
        rows = []
        for name, r in res["servers"].items():
            s = r.get(scenario) or {}
            rows.append([name, f"{s['open_ms']:.0f}" if s.get("open_ms") else "n/a",
                         fmt_ms(s.get("code_ms")), fmt_ms(s.get("comment_ms")), "; ".join(s.get("notes") or [])])
        lines += [f"## {title}", "", table(["server", "open -> diagnostics ms", "code line edit -> diagnostics ms",
                                            "comment line edit -> diagnostics ms", "notes"], rows), ""]
        base = (res["servers"].get("nntutor") or {}).get(scenario) or {}
        ratios = []
        for name, r in res["servers"].items():
            s = r.get(scenario) or {}
            if name == "nntutor" or not s.get("code_ms") or not base.get("code_ms"):
                continue
            ratios.append([f"nntutor / {name}", f"{median(base['code_ms']) / median(s['code_ms']):.2f}x",
                           f"{median(base['comment_ms']) / median(s['comment_ms']):.2f}x"
                           if s.get("comment_ms") and base.get("comment_ms") else "n/a"])
        if ratios:
            lines += [table(["ratio (median)", "code line edit", "comment line edit"], ratios), ""]
    lines += ["Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()), ""]
    return "\n".join(lines)


async def amain(args) -> dict:
    cells = cut_cells(SOURCE.read_text())
    write_notebook(cells)
    site = edit_site(cells)
    names = args.servers.split(",")
    if args.nntutor_src:
        names.append(f"nntutor@{args.nntutor_src}")
    res = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "cells": len(cells),
           "lines": sum(c.count("\n") + 1 for c in cells), "site": site, "servers": {n: {} for n in names},
           "versions": versions()}
    for scenario, fn in (("sync", notebook_sync), ("virtual", virtual_doc)):
        for name in names:
            print(f"{scenario}: {name} ...", flush=True)
            res["servers"][name][scenario] = await fn(name, cells, site, args)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="nntutor,ruff")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--settle-max", type=float, default=30.0)
    ap.add_argument("--nntutor-src", help="also run nntutor from this checkout's server/ folder")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "RESULTS-notebook.md"))
    args = ap.parse_args(argv)
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing: run `python bench/generate.py` first")
    res = asyncio.run(amain(args))
    (OUT / "notebook_results.json").write_text(json.dumps(res, indent=1))
    Path(args.out).write_text(render(res))
    print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
