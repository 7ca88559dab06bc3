"""`nntutor check`: settings, discovery, the fixes, the report and the exit code.

Exit codes: 0 clean, 1 findings, 2 usage error (bad flag, unknown rule on the command line,
missing path, a source on stdin that cannot be read)."""
from __future__ import annotations

import sys
from pathlib import Path


def run_check(args) -> int:
    from . import config as config_mod
    from .project import check_files, discover, local_extras

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
    if args.add_suppressions and (args.fix or args.diff):
        print("nntutor: error: --add-suppressions cannot be combined with --fix or --diff", file=sys.stderr)
        return 2
    reads_stdin = "-" in args.paths or (args.stdin_filename is not None and args.paths == ["."])
    if reads_stdin and args.add_suppressions:
        print("nntutor: error: --add-suppressions writes files; it does not read a source from stdin",
              file=sys.stderr)
        return 2
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
    # Files named one by one (pre-commit, an editor): the local modules they import are indexed too.
    given = {Path(p).resolve() for p in args.paths if Path(p).is_file()}
    named = [f for f in found.files if f.resolve() in given] if given else []
    extras = local_extras(found.files, named, configs, extra)
    if args.add_suppressions:
        _add_suppressions(found.files, configs, extras)
        return 2 if usage_error or found.missing else 0
    if args.diff:
        return 1 if _fix(found.files, configs, write=False, extras=extras) else 0
    if args.fix:
        _fix(found.files, configs, extras=extras)
    results = check_files(found.files, configs, args.jobs, progress, extras)
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
        report = to_text(results, color=stream.isatty(), after_fix=bool(args.fix))
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


def _fix(files, configs, write: bool = True, extras=()) -> int:
    """Apply the certain fixes to each file (nntutor.fixall), with the model classes of all the
    files known (as `check` knows them); say what was done on stderr. Without `write`, print
    them as a diff instead (`--diff`). Returns the number of fixes."""
    from .fixall import fix_file
    from .fixdiff import unified
    from .nbfix import LayoutUnknown
    from .notebook import NotebookError
    from .project import project_workspace

    workspace = project_workspace(files, extras)
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


def _add_suppressions(files, configs, extras=()) -> int:
    """`--add-suppressions` (add_suppressions.py), with the model classes of all the files known
    (as `check` knows them); what was done, and what could not be, on stderr."""
    from .add_suppressions import add_to_file
    from .document import InputError
    from .nbfix import LayoutUnknown
    from .notebook import NotebookError
    from .project import project_workspace

    workspace = project_workspace(files, extras)
    added = changed = 0
    for path in files:
        try:
            result = add_to_file(path, configs.for_path(path), workspace)
        except OSError as exc:
            print(f"nntutor: error: {path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            continue
        except (LayoutUnknown, NotebookError, InputError) as exc:
            print(f"nntutor: warning: {path}: not changed: {exc}", file=sys.stderr)
            continue
        if result is None:
            continue
        for why in result.skipped:
            print(f"nntutor: warning: {path}: {why}", file=sys.stderr)
        if result.added:
            added += result.added
            changed += 1
    print(f"nntutor: added {added} suppression{'s' if added != 1 else ''} "
          f"in {changed} file{'s' if changed != 1 else ''}", file=sys.stderr)
    return added
