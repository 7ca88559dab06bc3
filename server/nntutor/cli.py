"""`nntutor` command line: the arguments, and the small commands (rules, explain, content,
lsp). `check` lives in check_command.py."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nntutor", description="A tutor for neural-network code.")
    p.add_argument("--version", action="version", version=f"nntutor {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check .py files and notebooks for ML bugs")
    c.add_argument("paths", nargs="*", default=["."],
                   help="files or folders (default: .); `-` reads one source from stdin")
    c.add_argument("--format", choices=("text", "json", "sarif", "github", "gitlab"), default="text")
    c.add_argument("--statistics", action="store_true",
                   help="show the number of findings per rule instead of each finding")
    c.add_argument("--show-files", action="store_true",
                   help="list the files that would be checked (after `exclude`) and stop")
    c.add_argument("--show-settings", action="store_true",
                   help="print the settings each path gets (which pyproject.toml, rules, exclude) and stop")
    c.add_argument("--stdin-filename", metavar="PATH",
                   help="the name of the source read from stdin (`-`): its settings, kind "
                        "(.ipynb: a notebook) and path in the report")
    c.add_argument("--select", help="comma-separated rule ids or prefixes (e.g. leakage)")
    c.add_argument("--ignore", help="comma-separated rule ids or prefixes to skip")
    c.add_argument("--no-config", action="store_true", help="ignore [tool.nntutor] in pyproject.toml")
    c.add_argument("--config", type=Path, help="read settings from this pyproject.toml")
    c.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: CPUs)")
    c.add_argument("--output", "-o", type=Path, help="write the report to a file")
    c.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    c.add_argument("--diff", action="store_true",
                   help="show the certain fixes as a diff, change no file; exit 1 if there is any")
    c.add_argument("--exclude", metavar="PATTERNS",
                   help="comma-separated glob patterns of files and folders to skip, instead of "
                        "`exclude` in pyproject.toml (a pattern with a slash is a path from here)")
    c.add_argument("--extend-exclude", metavar="PATTERNS",
                   help="like --exclude, but in addition to `exclude` in pyproject.toml")
    c.add_argument("--force-exclude", action="store_true",
                   help="apply `exclude` to files named on the command line too (for pre-commit)")
    c.add_argument("--fix", action="store_true",
                   help="apply the certain fixes ([*]) to .py files and notebooks in place, then report what is left")
    c.add_argument("--add-suppressions", action="store_true",
                   help="silence every finding in place with a `# nntutor: ignore[rule]` on its line "
                        "(to adopt nntutor on existing code; unused-suppression reports each once fixed)")
    sub.add_parser("rules", help="list the rules")
    e = sub.add_parser("explain", help="print a rule's documentation")
    e.add_argument("rule")
    ct = sub.add_parser("content", help="validate the content or print its coverage")
    ct.add_argument("action", choices=("check", "coverage"))
    ct.add_argument("--resolve", action="store_true",
                    help="also import torch/sklearn/keras/optuna to check every trigger exists")
    lsp = sub.add_parser("lsp", help="run the language server over stdio")
    lsp.add_argument("--log-file", type=Path)
    lsp.add_argument("--daemon", action="store_true",
                     help="start servers from a warm background process (fast start; see docs)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"check": _check, "rules": _rules, "explain": _explain, "content": _content,
                "lsp": _lsp}[args.command](args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _check(args) -> int:
    from .check_command import run_check

    return run_check(args)


def _rules(args) -> int:
    from .rules import all_rules

    rules = all_rules()
    id_width = max(map(len, rules))
    concept_width = max(len(r.concept) for r in rules.values())
    for rid, rule in rules.items():
        print(f"{rid:{id_width}} {rule.severity.label:8} {rule.concept or '-':{concept_width}} {rule.summary}")
    return 0


def _explain(args) -> int:
    from .content import catalog
    from .rules import all_rules

    if args.rule not in all_rules():
        print(f"nntutor: error: unknown rule '{args.rule}' (see `nntutor rules`)", file=sys.stderr)
        return 2
    doc = catalog().rules.get(args.rule)
    if doc is None:
        print(f"nntutor: error: rule '{args.rule}' has no documentation", file=sys.stderr)
        return 2
    print(f"# {doc.title} ({doc.id}, {doc.severity})\n\n{doc.summary}\n\nConcept: {doc.concept or '-'}\n")
    print(doc.body.strip())
    return 0


def _content(args) -> int:
    from .content import load
    from .content_report import coverage, unresolved

    cat = load()
    problems = list(cat.problems)
    if args.action == "coverage":
        print(coverage(cat))
        return 1 if problems else 0
    if args.resolve:
        more, missing = unresolved(cat)
        problems += more
        for lib in missing:
            print(f"nntutor: note: {lib} is not installed; its triggers were not resolved", file=sys.stderr)
    for p in problems:
        print(p)
    print(f"{len(cat.concepts)} concepts, {len(cat.quiz)} quiz items, {len(cat.rules)} rule docs: "
          f"{'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def _lsp(args) -> int:
    # Until `initialize` is answered the editor waits, and most of that wait is importing
    # pygls/lsprotocol (~570 attrs classes). The source attrs/cattrs generate and compile on
    # every start comes from a disk memo (lsp/codecache.py), undone once the answer is out
    # (`NNTutorServer.end_startup`). Pausing the garbage collector during the import as well
    # saved ~70 ms but kept ~10 MB of discarded classes in the peak RSS for the server's
    # lifetime (126 MB instead of 117 MB at 20,000 lines): not worth it.
    if args.daemon:
        from .lsp import daemon

        forwarded = ["--log-file", str(args.log_file)] if args.log_file else []
        status = daemon.connect(forwarded)
        if status is not None:
            return status
    from .lsp import early, startup

    # The client's first message is read (and `initialize` answered, when its answer is
    # remembered) on a thread while the main thread imports the LSP stack: lsp/early.py.
    first = early.start(sys.stdin.buffer, sys.stdout.buffer)
    cache = startup.prepare()
    try:
        from .lsp.server import run
    except BaseException:
        if cache is not None:
            cache.close()
        raise
    run(log_file=args.log_file, code_cache=cache, early=first)
    return 0


if __name__ == "__main__":
    sys.exit(main())
