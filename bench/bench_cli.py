"""CLI benchmark: nntutor vs ruff (default rules and --select ALL) vs TorchFix, same inputs, one process.

    python bench/generate.py && python bench/bench_cli.py [--timeout 600] [--long 60] [--profile-cap 90]

For each input (300 / 3,000 / 20,000 lines, 200-module tree) every tool runs N times, interleaved
(5 for the small inputs, 3 for the large; TorchFix 2 for 300 lines, else 1). Each run is a child process started
with subprocess.Popen and reaped with os.wait4, which gives its peak RSS (ru_maxrss, KB; for a
process that starts workers it is the largest single process among it and its reaped children)
and its CPU time (user + sys). A run longer than --long seconds is not repeated; one that passes
--timeout is killed (with its process group) and reported as a timeout.

Then it counts findings (one extra run per tool and input whose median was under --long), and
profiles nntutor: -X importtime start-up cost and cProfile of `check` on the 3,000- and
20,000-line files (the latter stopped after --profile-cap seconds if it has not finished).

Writes bench/out/cli_results.json and bench/RESULTS-cli.md.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    GEN,
    HERE,
    INPUTS,
    OUT,
    REPO,
    TITLES,
    child_env,
    fmt,
    input_files,
    input_lines,
    machine,
    manifest,
    median,
    parse_importtime,
    rel,
    table,
    tool,
    versions,
)

TOOLS = ["nntutor", "ruff", "ruff-ALL", "torchfix"]
REPEATS = {"300": 5, "3000": 5, "20000": 3, "tree": 3}
TORCHFIX_REPEATS = {"300": 2, "3000": 1, "20000": 1, "tree": 1}
TARGETS = {"torchfix_speedup": 30.0, "ruff_ratio_20000": 3.0, "rss_mb": 150.0}


def command(name: str, target: str) -> list[str]:
    if name == "nntutor":
        return [tool("nntutor"), "check", "--no-config", "--format", "json", target]
    if name == "ruff":
        return [tool("ruff"), "check", "--no-cache", "--isolated", target]
    if name == "ruff-ALL":
        return [tool("ruff"), "check", "--no-cache", "--isolated", "--select", "ALL", target]
    if name == "torchfix":
        return [tool("torchfix"), "--select", "ALL", target]
    raise KeyError(name)


def shown(cmd: list[str]) -> str:
    return " ".join([Path(cmd[0]).name] + cmd[1:])


def run_once(cmd: list[str], timeout: float, stdout=subprocess.DEVNULL, stderr_path: Path | None = None) -> dict:
    """Run `cmd` as a child; wall time, CPU time and peak RSS from os.wait4."""
    err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
    killed = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err, cwd=GEN,
                            start_new_session=True, env=child_env())

    def kill():
        killed.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    if stderr_path:
        err.close()
    if killed.is_set():  # workers left in the group: make sure they are gone too
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
            "rc": proc.returncode, "timed_out": killed.is_set()}


def count_findings(name: str, target: str, timeout: float) -> dict | None:
    """One extra run with the output kept: number of findings (by rule for nntutor)."""
    if name == "ruff" or name == "ruff-ALL":
        cmd = command(name, target) + ["--output-format", "json"]
    else:
        cmd = command(name, target)
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=GEN, env=child_env(),
                            check=False)
    except subprocess.TimeoutExpired:
        return None
    if name == "nntutor":
        data = json.loads(cp.stdout or "{}")
        by_rule: dict[str, int] = {}
        for f in data.get("findings", []):
            by_rule[f.get("rule", "?")] = by_rule.get(f.get("rule", "?"), 0) + 1
        return {"total": sum(by_rule.values()), "by_rule": dict(sorted(by_rule.items()))}
    if name.startswith("ruff"):
        return {"total": len(json.loads(cp.stdout or "[]"))}
    hits = re.findall(r":\d+:\d+: (TOR\d+)", cp.stdout)
    by_rule = {}
    for h in hits:
        by_rule[h] = by_rule.get(h, 0) + 1
    return {"total": len(hits), "by_rule": dict(sorted(by_rule.items()))}


# -- profiling ------------------------------------------------------------------------------------
class _Cap(BaseException):
    pass


def profile_child(path: str, cap: float, out: str) -> None:
    """In a fresh process: cProfile `nntutor check` on `path`, stopped after `cap` seconds."""
    from nntutor.cli import main as cli_main

    def stop(signum, frame):
        raise _Cap()

    signal.signal(signal.SIGALRM, stop)
    prof = cProfile.Profile()
    finished = True
    t0 = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, cap)
    prof.enable()
    try:
        cli_main(["check", "--no-config", "--format", "json", "--output", os.devnull, path])
    except _Cap:
        finished = False
    finally:
        prof.disable()
        signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.perf_counter() - t0
    prof.dump_stats(out)
    Path(out + ".json").write_text(json.dumps({"finished": finished, "elapsed_s": elapsed}))


def _short(file: str, line: int, fn: str) -> str:
    f = file.replace("\\", "/")
    m = re.search(r"(nntutor/.*)$", f)
    if m:
        f = m.group(1)
    elif "site-packages/" in f:
        f = f.split("site-packages/", 1)[1]
    elif f == "~":
        return fn
    return f"{f}:{line}({fn})"


def top_functions(prof_path: str, n: int = 15) -> dict:
    st = pstats.Stats(prof_path)
    rows = []
    for (file, line, fn), (cc, nc, tt, ct, callers) in st.stats.items():
        rows.append({"function": _short(file, line, fn), "ncalls": nc, "tottime_s": tt, "cumtime_s": ct})
    total = st.total_tt
    by_tot = sorted(rows, key=lambda r: -r["tottime_s"])[:n]
    own = [r for r in rows if "nntutor/" in r["function"]]
    by_cum = sorted(own, key=lambda r: -r["cumtime_s"])[:n]
    return {"total_s": total, "by_tottime": by_tot, "by_cumtime_nntutor": by_cum}


def importtime(target: Path) -> dict:
    """Start-up: -X importtime of `nntutor check` (module import costs), python -c pass, --version.
    `target` is relative to bench/out/gen (the working directory)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "nntutor", "check", "--no-config", "--format", "json",
           "--output", os.devnull, str(target)]
    subprocess.run(cmd, capture_output=True, cwd=GEN, timeout=600, env=child_env(), check=False)  # warm cache
    cp = subprocess.run(cmd, capture_output=True, text=True, cwd=GEN, timeout=600, env=child_env(), check=False)
    parsed = parse_importtime(cp.stderr)
    base = [run_once([sys.executable, "-c", "pass"], 60)["wall_s"] for _ in range(5)]
    ver = [run_once([tool("nntutor"), "--version"], 60)["wall_s"] for _ in range(5)]
    return {**parsed, "python_startup_s": median(base), "nntutor_version_s": median(ver), "command": shown(cmd)}


def profile(label: str, cap: float) -> dict:
    target = GEN / INPUTS[label]
    out = str(OUT / f"cli_profile_{label}.prof")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--profile-child", str(target), str(cap), out],
                   cwd=REPO, check=True, timeout=cap + 120, env=child_env())
    meta = json.loads(Path(out + ".json").read_text())
    res = top_functions(out)
    res.update(meta)
    res["wall_s"] = time.perf_counter() - t0
    res["prof"] = rel(Path(out))
    return res


# -- report ------------------------------------------------------------------------------------
def summarize(runs: list[dict]) -> dict:
    done = [r for r in runs if not r["timed_out"]]
    walls = [r["wall_s"] for r in done]
    return {"n": len(runs), "timeouts": sum(r["timed_out"] for r in runs),
            "wall_median_s": median(walls), "wall_min_s": min(walls) if walls else None,
            "wall_max_s": max(walls) if walls else None,
            "cpu_median_s": median([r["cpu_s"] for r in done]),
            "rss_max_mb": max(r["rss_mb"] for r in runs) if runs else None,
            "rc": sorted({r["rc"] for r in runs})}


def wall_or_bound(s: dict, timeout: float):
    """(value, is_lower_bound): the median wall time, or the timeout when every run timed out."""
    if s["wall_median_s"] is not None:
        return s["wall_median_s"], False
    return timeout, True


def render(res: dict) -> str:
    m, v = res["machine"], res["versions"]
    timeout = res["settings"]["timeout_s"]
    L = ["# nntutor CLI benchmark", "",
         f"- Date: {m['date']}",
         f"- Machine: {m['nproc']} CPUs usable (nproc), {m['cpu_model']}, {m['mem_gb']} GB RAM, {m['platform']}, "
         f"Python {m['python']}",
         f"- Load average (1/5/15 min) at start {m['loadavg_start']}, at end {res['loadavg_end']} "
         "(a shared machine: wall times include waiting for a CPU; CPU time is the steadier figure)",
         f"- nntutor {v['nntutor']} (git {m['git_commit']}{', engine has uncommitted changes' if m['engine_dirty'] else ''}); "
         f"{v['ruff']}; TorchFix {v['torchfix']}",
         f"- Command: `{res['settings']['command']}` (total {res['total_wall_s']:.0f} s)",
         "- Inputs: generated by `bench/generate.py` (seed "
         f"{res['manifest_seed']}); tools run from `bench/out/gen/` on the relative path shown below",
         "- Commands timed (stdout to /dev/null, stderr kept in bench/out/logs/):",
         ""]
    for name in TOOLS:
        L.append(f"  - {name}: `{shown(command(name, 'PATH'))}`")
    L += ["",
          f"Runs are interleaved (every tool once, then again); N = 5 for the small inputs, 3 for the large, "
          f"TorchFix 2 for the 300-line file, 1 for the others. A run over {res['settings']['long_s']:.0f} s is not repeated; one over "
          f"{timeout:.0f} s is killed (timeout). Wall = median wall-clock time; CPU = median user+sys "
          "time of the child (and its reaped children); RSS = largest ru_maxrss of the runs (from "
          "os.wait4; for a tool that starts worker processes this is the largest single process, "
          "not their sum). lines/s uses the median wall time.", ""]
    for label, inp in res["inputs"].items():
        lines = inp["lines"]
        L += [f"## {TITLES[label]}: `{inp['path']}` ({lines:,} lines, {inp['files']} file{'s' if inp['files'] > 1 else ''})", ""]
        nn = inp["tools"]["nntutor"]["summary"]
        nn_wall, nn_lb = wall_or_bound(nn, timeout)
        rows = []
        for name in TOOLS:
            s = inp["tools"][name]["summary"]
            w, lb = wall_or_bound(s, timeout)
            wall = f"> {w:.0f} (timeout)" if lb else fmt(w, 3)
            lps = f"< {lines / w:,.0f}" if lb else f"{lines / w:,.0f}"
            if name == "nntutor":
                rel_ = "1"
            elif nn_lb and lb:
                rel_ = "n/a (both timed out)"
            elif nn_lb:
                rel_ = f"< {w / nn_wall:.3g}x"
            elif lb:
                rel_ = f"> {w / nn_wall:.3g}x"
            else:
                rel_ = f"{w / nn_wall:.3g}x"
            cnt = inp["tools"][name].get("findings")
            rows.append([name, f"{s['n']}", wall, fmt(s["wall_min_s"], 3) + " / " + fmt(s["wall_max_s"], 3),
                         fmt(s["cpu_median_s"], 3), lps, fmt(s["rss_max_mb"], 1),
                         cnt["total"] if cnt else "not counted", rel_])
        L.append(table(["tool", "runs", "wall s (median)", "min / max s", "CPU s", "lines/s", "peak RSS MB",
                        "findings", "wall vs nntutor"], rows))
        r = inp["ratios"]
        L += ["", f"- nntutor / ruff wall time: {r['nntutor_over_ruff']}; nntutor / ruff --select ALL: {r['nntutor_over_ruff_all']}",
              f"- TorchFix / nntutor time per line (= nntutor's speed-up over TorchFix): {r['torchfix_over_nntutor']} "
              f"(CPU time: {r['torchfix_over_nntutor_cpu']})"]
        f = inp["tools"]["nntutor"].get("findings")
        if f:
            L.append(f"- nntutor findings by rule: {', '.join(f'{k} {n}' for k, n in f['by_rule'].items()) or 'none'}; "
                     f"seeded bugs: {', '.join(f'{k} {n}' for k, n in sorted(inp['seeded'].items()))}")
        L.append("")
    t = res["targets"]
    L += ["## Targets", "", table(["target", "measured", "met"], [
        ["nntutor >= 30x faster than TorchFix per line (every input)", t["torchfix"]["measured"], t["torchfix"]["met"]],
        ["nntutor within 3x of ruff's wall time, 20,000-line file", t["ruff_20000"]["measured"], t["ruff_20000"]["met"]],
        ["nntutor peak RSS < 150 MB (every input)", t["rss"]["measured"], t["rss"]["met"]],
    ]), ""]
    p = res.get("profile")
    if p:
        imp = p["importtime"]
        L += ["## Profile: start-up", "",
              f"`{imp['command']}` (import costs do not depend on the input): imports take "
              f"{imp['total_import_ms']:.0f} ms in all, of which nntutor's own modules (cumulative, including "
              f"what they import) {imp['nntutor_modules_ms']:.0f} ms. `python -c pass` takes "
              f"{imp['python_startup_s'] * 1000:.0f} ms, `nntutor --version` {imp['nntutor_version_s'] * 1000:.0f} ms "
              "(medians of 5). Import time by package (self time summed over all its modules, ms): "
              + ", ".join(f"{k} {v:.0f}" for k, v in imp["self_by_package_ms"].items()) + ".", "",
              "Top-level imports by cumulative time:", "",
              table(["module", "cumulative ms", "self ms"],
                    [[e["module"], f"{e['cum_us'] / 1000:.1f}", f"{e['self_us'] / 1000:.1f}"] for e in imp["top_cumulative"]]),
              "", "Modules with the largest self time (any depth):", "",
              table(["module", "self ms", "cumulative ms"],
                    [[e["module"], f"{e['self_us'] / 1000:.1f}", f"{e['cum_us'] / 1000:.1f}"] for e in imp["top_self"]]),
              ""]
        for label in ("3000", "20000"):
            pr = p.get(label)
            if not pr:
                continue
            state = ("ran to completion" if pr["finished"] else
                     f"stopped after {pr['elapsed_s']:.0f} s (the cap), so this is the profile of the first part")
            L += [f"## Profile: `nntutor check` on the {TITLES[label]} (cProfile)", "",
                  f"{state}; profiled time {pr['total_s']:.1f} s (cProfile slows pure-Python code ~1.5-2x). "
                  f"Stats: `{pr['prof']}`.", "",
                  "By own time (tottime):", "",
                  table(["function", "calls", "tottime s", "cumtime s"],
                        [[f"`{r['function']}`", f"{r['ncalls']:,}", f"{r['tottime_s']:.2f}", f"{r['cumtime_s']:.2f}"]
                         for r in pr["by_tottime"]]),
                  "", "nntutor functions by cumulative time:", "",
                  table(["function", "calls", "tottime s", "cumtime s"],
                        [[f"`{r['function']}`", f"{r['ncalls']:,}", f"{r['tottime_s']:.2f}", f"{r['cumtime_s']:.2f}"]
                         for r in pr["by_cumtime_nntutor"]]), ""]
    return "\n".join(L) + "\n"


def ratio_text(num: dict, den: dict, timeout: float, key="wall_median_s") -> str:
    a, b = num[key], den[key]
    if key == "wall_median_s":
        a_lb = a is None
        b_lb = b is None
        a = timeout if a_lb else a
        b = timeout if b_lb else b
    else:
        a_lb = b_lb = False
        if a is None or b is None:
            return "n/a"
    if a_lb and b_lb:
        return "n/a (both timed out)"
    r = a / b
    if a_lb:
        return f"> {r:.3g}x"
    if b_lb:
        return f"< {r:.3g}x"
    return f"{r:.3g}x"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="nntutor vs ruff vs TorchFix on the CLI")
    ap.add_argument("--timeout", type=float, default=600.0, help="kill a run after this many seconds")
    ap.add_argument("--long", type=float, default=60.0, help="do not repeat runs longer than this")
    ap.add_argument("--profile-cap", type=float, default=90.0, help="stop the 20k-line cProfile after this")
    ap.add_argument("--inputs", default=",".join(INPUTS), help="comma-separated: 300,3000,20000,tree")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--profile-child", nargs=3, metavar=("PATH", "CAP", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.profile_child:
        profile_child(args.profile_child[0], float(args.profile_child[1]), args.profile_child[2])
        return 0
    t_start = time.perf_counter()
    man = manifest()
    (OUT / "logs").mkdir(parents=True, exist_ok=True)
    res = {"machine": machine(), "versions": versions(), "manifest_seed": man["seed"],
           "settings": {"timeout_s": args.timeout, "long_s": args.long, "profile_cap_s": args.profile_cap,
                        "command": "python bench/bench_cli.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()},
           "inputs": {}}
    print(f"machine: {res['machine']['nproc']} CPUs, {res['machine']['cpu_model']}, load {res['machine']['loadavg_start']}")
    # warm the page cache and the interpreters
    for name in TOOLS:
        run_once(command(name, INPUTS["300"]), args.timeout)
    labels = [x for x in args.inputs.split(",") if x]
    for label in labels:
        target = INPUTS[label]
        lines = input_lines(man, label)
        seeded = man["files"][label]["bug_counts"] if label != "tree" else man["tree"]["bug_counts"]
        inp = {"path": f"bench/out/gen/{target}", "lines": lines, "files": input_files(man, label),
               "seeded": seeded, "tools": {n: {"command": shown(command(n, target)), "runs": []} for n in TOOLS}}
        res["inputs"][label] = inp
        reps = {n: (TORCHFIX_REPEATS if n == "torchfix" else REPEATS)[label] for n in TOOLS}
        stop = set()
        for rep in range(max(reps.values())):
            for name in TOOLS:
                if rep >= reps[name] or name in stop:
                    continue
                r = run_once(command(name, target), args.timeout,
                             stderr_path=OUT / "logs" / f"cli_{name}_{label}.stderr")
                inp["tools"][name]["runs"].append(r)
                state = "TIMEOUT" if r["timed_out"] else f"rc={r['rc']}"
                print(f"{label:>6} {name:9} run {rep + 1}/{reps[name]}: {r['wall_s']:8.3f} s wall "
                      f"{r['cpu_s']:8.3f} s CPU {r['rss_mb']:7.1f} MB {state}", flush=True)
                if r["timed_out"] or r["wall_s"] > args.long:
                    stop.add(name)
        for name in TOOLS:
            t = inp["tools"][name]
            t["summary"] = summarize(t["runs"])
            med = t["summary"]["wall_median_s"]
            if med is not None and med <= args.long:
                t["findings"] = count_findings(name, target, args.timeout)
        s = {n: inp["tools"][n]["summary"] for n in TOOLS}
        inp["ratios"] = {
            "nntutor_over_ruff": ratio_text(s["nntutor"], s["ruff"], args.timeout),
            "nntutor_over_ruff_all": ratio_text(s["nntutor"], s["ruff-ALL"], args.timeout),
            "torchfix_over_nntutor": ratio_text(s["torchfix"], s["nntutor"], args.timeout),
            "torchfix_over_nntutor_cpu": ratio_text(s["torchfix"], s["nntutor"], args.timeout, key="cpu_median_s"),
        }
    # targets
    speedups = {k: v["ratios"]["torchfix_over_nntutor"] for k, v in res["inputs"].items()}

    def num(x: str):
        m_ = re.search(r"[\d.]+", x)
        return float(m_.group()) if m_ else None

    tf_ok = all(not x.startswith("<") and not x.startswith("n/a") and num(x) is not None and num(x) >= TARGETS["torchfix_speedup"]
                for x in speedups.values())
    r20 = res["inputs"].get("20000", {}).get("ratios", {}).get("nntutor_over_ruff", "n/a")
    r20_ok = (not r20.startswith(">") and not r20.startswith("n/a") and num(r20) is not None
              and num(r20) <= TARGETS["ruff_ratio_20000"])
    rss = {k: v["tools"]["nntutor"]["summary"]["rss_max_mb"] for k, v in res["inputs"].items()}
    rss_ok = all(x is not None and x < TARGETS["rss_mb"] for x in rss.values())
    res["targets"] = {
        "torchfix": {"measured": ", ".join(f"{k}: {v}" for k, v in speedups.items()), "met": "yes" if tf_ok else "**no**"},
        "ruff_20000": {"measured": r20, "met": "yes" if r20_ok else "**no**"},
        "rss": {"measured": ", ".join(f"{k}: {fmt(v, 1)} MB" for k, v in rss.items()), "met": "yes" if rss_ok else "**no**"},
    }
    if not args.no_profile:
        print("profiling: -X importtime", flush=True)
        prof = {"importtime": importtime(Path(INPUTS["20000"]))}
        for label in ("3000", "20000"):
            print(f"profiling: cProfile on {label} lines (cap {args.profile_cap:.0f} s)", flush=True)
            prof[label] = profile(label, args.profile_cap)
        res["profile"] = prof
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["total_wall_s"] = time.perf_counter() - t_start
    (OUT / "cli_results.json").write_text(json.dumps(res, indent=1))
    (HERE / "RESULTS-cli.md").write_text(render(res))
    print(render(res))
    print(f"wrote {rel(OUT / 'cli_results.json')} and {rel(HERE / 'RESULTS-cli.md')} in {res['total_wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
