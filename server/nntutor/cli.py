"""`nntutor` command line: check, rules, explain, content, lsp.

Exit codes of `check`: 0 clean, 1 findings, 2 usage error (bad flag, missing path)."""
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
    from . import config as config_mod
    from .project import check_files, discover

    overrides = {}
    if args.select:
        overrides["select"] = args.select
    if args.ignore:
        overrides["ignore"] = args.ignore
    # Each file gets the [tool.nntutor] nearest to it (ruff's way), unless one is named or none wanted.
    replace_exclude = args.exclude is not None
    if args.no_config:
        configs = config_mod.OneConfig(config_mod.Config().merged(overrides))
    elif args.config:
        one = config_mod.load(pyproject=args.config).merged(overrides)
        if replace_exclude:
            one.exclude = []
        configs = config_mod.OneConfig(one)
    else:
        configs = config_mod.ConfigTree(overrides, replace_exclude=replace_exclude)
    flag_problems = config_mod.Config().merged(overrides).problems
    patterns = [p.strip() for flag in (args.exclude, args.extend_exclude) if flag
                for p in flag.split(",") if p.strip()]
    extra = config_mod.PathPatterns(Path.cwd().resolve(), tuple(patterns)) if patterns else None
    reads_stdin = "-" in args.paths or (args.stdin_filename is not None and args.paths == ["."])
    if reads_stdin:
        if args.paths not in (["-"], ["."]):
            print("nntutor: error: `-` (stdin) cannot be mixed with other paths", file=sys.stderr)
            return 2
        return _check_stdin(args, configs, extra, flag_problems)
    if args.show_settings:
        for raw in args.paths:
            print(_settings_text(raw, configs.for_path(Path(raw)), extra, args.no_config))
        return 0
    found = discover(args.paths, configs, args.force_exclude, extra)
    if args.show_files:
        for path in found.files:
            print(path)
        for missing in found.missing:
            print(f"nntutor: error: {missing}: no such file or directory", file=sys.stderr)
        return 2 if found.missing else 0
    for path in found.files:
        configs.for_path(path)  # (cached) so that every config's problems are known now
    for problem in flag_problems + [p for p in configs.problems if p not in flag_problems]:
        print(f"nntutor: warning: {problem}", file=sys.stderr)
    # A typo on the command line is a usage error; in a file, a warning.
    usage_error = any("unknown rule" in p for p in flag_problems)
    for missing in found.missing:
        print(f"nntutor: error: {missing}: no such file or directory", file=sys.stderr)
    progress = None
    if sys.stderr.isatty() and len(found.files) > 20 and args.format == "text":
        def progress(done, total):
            print(f"\rnntutor: checked {done}/{total} files", end="" if done < total else "\n",
                  file=sys.stderr)
    if args.diff:
        return 1 if _fix(found.files, configs, write=False) else 0
    if args.fix:
        _fix(found.files, configs)
    results = check_files(found.files, configs, args.jobs, progress)
    _report(args, results, len(found.files), sys.stdout)
    if usage_error or found.missing:
        return 2
    has_findings = any(r.findings for r in results)
    return 1 if has_findings and not args.exit_zero else 0


def _settings_text(path: str, config, extra, no_config: bool = False) -> str:
    """`--show-settings`: what applies to `path` and where it comes from, to debug a monorepo's
    configs (ruff has the same flag)."""
    from .rules import all_rules

    rules = all_rules()
    enabled = [rid for rid in rules if config.enabled(rid)]
    lines = [f"Settings for {path}",
             f"  config:   {config.source + ' [tool.nntutor]' if config.source else ('none (--no-config)' if no_config else 'none (defaults)')}",
             f"  select:   {', '.join(config.select) if config.select is not None else 'every rule'}",
             f"  ignore:   {', '.join(config.ignore) or '-'}",
             "  severity: " + (", ".join(f"{rid} = {level.label}" for rid, level in config.severity.items()) or "-"),
             f"  exclude:  {', '.join(config.exclude) or '-'}"
             + (f" (relative to {config.folder})" if config.exclude and config.folder else ""),
             ]
    if extra is not None:
        lines.append(f"  command-line exclude: {', '.join(extra.patterns)} (relative to {extra.base})")
    lines.append(f"  rules enabled: {len(enabled)} of {len(rules)}"
                 + (f" (off: {', '.join(sorted(set(rules) - set(enabled)))})" if len(enabled) < len(rules) else ""))
    return "\n".join(lines)


def _report(args, results, files_checked: int, stream) -> None:
    """Print the analyses' notices on stderr, and the report in the chosen format to `stream`
    (or to --output)."""
    from .output import to_github, to_gitlab, to_json, to_sarif, to_statistics, to_text
    from .rules import all_rules

    for r in results:
        for notice in r.notices:
            print(f"nntutor: warning: {notice}", file=sys.stderr)
    if args.statistics and args.format in ("text", "json"):
        report = to_statistics(results, all_rules(), as_json=args.format == "json")
    elif args.format == "json":
        report = to_json(results, files_checked)
    elif args.format == "sarif":
        report = to_sarif(results, all_rules())
    elif args.format == "github":
        report = to_github(results)
    elif args.format == "gitlab":
        report = to_gitlab(results)
    else:
        report = to_text(results, color=stream.isatty())
    if args.output:
        args.output.write_text(report + "\n", encoding="utf-8")
    elif report:
        print(report, file=stream)


def _check_stdin(args, configs, extra, flag_problems) -> int:
    """`nntutor check -` (stdin_check.py): the report on stdout; with --fix the fixed source
    on stdout and the report on stderr; with --diff the diff."""
    from .fixdiff import unified
    from .stdin_check import check_stdin

    raw = sys.stdin.buffer.read()
    name = args.stdin_filename
    result = check_stdin(raw, name, configs, args.fix or args.diff, extra, args.force_exclude)
    for problem in flag_problems + [p for p in configs.problems if p not in flag_problems]:
        print(f"nntutor: warning: {problem}", file=sys.stderr)
    if any("unknown rule" in p for p in flag_problems):
        return 2
    if args.diff:
        changed = result.fixed is not None and result.fixed != raw
        if changed:
            sys.stdout.write(unified(name or "-", raw, result.fixed))
        return 1 if changed else 0
    if args.fix and result.fixed is not None:
        sys.stdout.buffer.write(result.fixed)
        sys.stdout.flush()
    if result.skipped:
        return 0
    if result.analysis is None:
        return 2
    _report(args, [result.analysis], 1, sys.stderr if args.fix else sys.stdout)
    return 1 if result.analysis.findings and not args.exit_zero else 0


def _fix(files, configs, write: bool = True) -> int:
    """Apply the certain fixes to each file (nntutor.fixall), with the model classes of all the
    files known (as `check` knows them); say what was done on stderr. Without `write`, print
    them as a diff instead (`--diff`). Returns the number of fixes."""
    from .fixall import fix_file
    from .fixdiff import unified
    from .models import Workspace
    from .nbfix import LayoutUnknown
    from .notebook import NotebookError
    from .project import _index_models

    workspace = Workspace()
    _index_models(files, workspace.add_file)
    fixed_files = applied = 0
    for path in files:
        try:
            before = Path(path).read_bytes() if not write else b""
            result = fix_file(path, configs.for_path(path), workspace, write=write)
        except OSError as exc:
            print(f"nntutor: error: {path}: cannot write the fixes: {exc.strerror or exc}", file=sys.stderr)
            continue
        except (LayoutUnknown, NotebookError) as exc:
            print(f"nntutor: warning: {path}: not fixed: {exc}", file=sys.stderr)
            continue
        if result is None:
            continue
        if result.stopped:
            print(f"nntutor: warning: {path}: {result.stopped}", file=sys.stderr)
        if result.applied:
            fixed_files += 1
            applied += result.applied
            if not write:
                sys.stdout.write(unified(str(path), before, result.data))
    fixes = f"{applied} fix{'es' if applied != 1 else ''}"
    files_ = f"{fixed_files} file{'s' if fixed_files != 1 else ''}"
    print(f"nntutor: applied {fixes} in {files_}" if write else
          f"nntutor: {fixes} would be applied in {files_} (--diff: no file changed)", file=sys.stderr)
    return applied


def _rules(args) -> int:
    from .rules import all_rules

    rules = all_rules()
    id_width = max(map(len, rules))
    concept_width = max(len(r.concept) for r in rules.values())
    for rid, rule in rules.items():
        print(f"{rid:{id_width}} {rule.severity.label:8} {rule.concept:{concept_width}} {rule.summary}")
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
    print(f"# {doc.title} ({doc.id}, {doc.severity})\n\n{doc.summary}\n\nConcept: {doc.concept}\n")
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
