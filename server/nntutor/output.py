"""Reporting findings: text, JSON (stable schema v1), SARIF 2.1.0, GitHub annotations, GitLab
Code Quality, and per-rule statistics."""
from __future__ import annotations

import hashlib
import json
from collections import Counter

from . import __version__
from .findings import Analysis, Finding, Severity

DOCS_URL = "https://github.com/nntutor/nntutor/blob/main/content/rules/{}.md"
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note",
               Severity.HINT: "note"}
GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice",
                Severity.HINT: "notice"}
GITLAB_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info",
                   Severity.HINT: "info"}


def position(f: Finding) -> dict:
    """1-based public position; for notebooks, lines count within the cell."""
    loc = f.location
    if loc.cell is not None:
        return {"line": loc.cell_line + 1, "column": loc.column + 1,
                "end_line": (loc.cell_end_line if loc.cell_end_line is not None else loc.cell_line) + 1,
                "end_column": loc.end_column + 1, "cell": loc.cell}
    return {"line": loc.line + 1, "column": loc.column + 1, "end_line": loc.end_line + 1,
            "end_column": loc.end_column + 1}


def _all(results: list[Analysis]):
    for r in results:
        yield from r.findings


def to_text(results: list[Analysis], color: bool = False, after_fix: bool = False) -> str:
    """Human-readable lines; notebook cells are counted from 1, as notebook UIs number them
    (the JSON `cell` field is the 0-based index). `after_fix`: the report follows `--fix`, so a
    quick fix still there is one that --fix left on purpose."""
    lines = []
    counts = {s: 0 for s in Severity}
    fixable = 0
    for f in _all(results):
        p = position(f)
        where = f"{f.location.path}:cell {p['cell'] + 1}:{p['line']}:{p['column']}" if "cell" in p \
            else f"{f.location.path}:{p['line']}:{p['column']}"
        rule = f"\x1b[1;31m{f.rule}\x1b[0m" if color else f.rule
        mark = " [*]" if f.fix else ""
        lines.append(f"{where}: {rule}{mark} {f.message}" + (f" (concept: {f.concept})" if f.concept else ""))
        counts[f.severity] += 1
        fixable += bool(f.fix)
    total = sum(counts.values())
    if total:
        parts = ", ".join(f"{n} {s.label}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
        lines.append(f"Found {total} finding{'s' if total != 1 else ''} ({parts}).")
        if fixable and after_fix:
            lines.append(f"[*] {fixable} with a quick fix that --fix left: applying it would break the "
                         "syntax or make another rule fire, so review it in your editor.")
        elif fixable:
            lines.append(f"[*] {fixable} fixable in your editor (quick fix) — `nntutor explain RULE` teaches why.")
    else:
        lines.append("All checks passed!")
    return "\n".join(lines)


def to_json(results: list[Analysis], files_checked: int) -> str:
    findings = []
    for f in _all(results):
        item = {"path": f.location.path, **position(f), "rule": f.rule, "severity": f.severity.label,
                "message": f.message, "concept": f.concept}
        if f.related:
            item["related"] = [{"path": r.location.path, **_related_pos(r.location), "message": r.message}
                               for r in f.related]
        if f.fix:
            item["fix"] = {"title": f.fix.title, "edits": [
                {"start_byte": e.start, "end_byte": e.end, "new_text": e.new_text} for e in f.fix.edits]}
        findings.append(item)
    notices = [n for r in results for n in r.notices]
    return json.dumps({"version": 1, "tool": {"name": "nntutor", "version": __version__},
                       "files_checked": files_checked, "findings": findings, "notices": notices}, indent=2)


def _related_pos(loc) -> dict:
    if loc.cell is not None:
        return {"line": loc.cell_line + 1, "column": loc.column + 1, "cell": loc.cell}
    return {"line": loc.line + 1, "column": loc.column + 1}


def to_sarif(results: list[Analysis], rules: dict) -> str:
    rule_ids = sorted(rules)
    driver_rules = [{
        "id": rid, "name": rid, "shortDescription": {"text": rules[rid].summary},
        "helpUri": DOCS_URL.format(rid),
        "defaultConfiguration": {"level": SARIF_LEVEL[rules[rid].severity]},
        "properties": {"concept": rules[rid].concept},
    } for rid in rule_ids]
    sarif_results = []
    for f in _all(results):
        p = position(f)
        result = {
            "ruleId": f.rule, "ruleIndex": rule_ids.index(f.rule) if f.rule in rule_ids else 0,
            "level": SARIF_LEVEL[f.severity], "message": {"text": f.message},
            "locations": [_sarif_location(f.location.path, p)],
            "properties": {"concept": f.concept, **({"cell": p["cell"]} if "cell" in p else {})},
        }
        if f.related:
            result["relatedLocations"] = [
                {"id": i, **_sarif_location(r.location.path, {**_related_pos(r.location)}),
                 "message": {"text": r.message}} for i, r in enumerate(f.related)]
        sarif_results.append(result)
    notes = [{"level": "warning", "message": {"text": n}, "descriptor": {"id": "nntutor-input"}}
             for r in results for n in r.notices]
    return json.dumps({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "nntutor", "version": __version__,
                                "informationUri": "https://github.com/nntutor/nntutor",
                                "rules": driver_rules}},
            "results": sarif_results,
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}],
        }],
    }, indent=2)


def _sarif_location(path: str, p: dict) -> dict:
    region = {"startLine": p["line"], "startColumn": p["column"]}
    if "end_line" in p:
        region.update(endLine=p["end_line"], endColumn=max(p["end_column"], 1))
    return {"physicalLocation": {"artifactLocation": {"uri": path.replace("\\", "/")}, "region": region}}


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def to_github(results: list[Analysis]) -> str:
    lines = []
    for f in _all(results):
        p = position(f)
        cell = f" (cell {p['cell'] + 1})" if "cell" in p else ""
        props = (f"file={_gh_escape(f.location.path, True)},line={p['line']},col={p['column']},"
                 f"endLine={p['end_line']},endColumn={p['end_column']},"
                 f"title={_gh_escape('nntutor ' + f.rule + cell, True)}")
        lines.append(f"::{GITHUB_LEVEL[f.severity]} {props}::{_gh_escape(f.message)}")
    for r in results:
        for n in r.notices:
            lines.append(f"::warning ::{_gh_escape(n)}")
    return "\n".join(lines)


def to_gitlab(results: list[Analysis]) -> str:
    """GitLab's Code Quality report (the part of the Code Climate format GitLab reads), for
    `artifacts: reports: codequality`. The fingerprint is what GitLab compares between the
    merge request and its base, so it leaves out the line: rule, file, cell, message and the
    count of identical findings before it. Moving code does not make a finding new."""
    issues = []
    seen: Counter = Counter()
    for f in _all(results):
        p = position(f)
        key = (f.rule, f.location.path, p.get("cell"), f.message)
        seen[key] += 1
        fingerprint = hashlib.sha256("\0".join(map(str, (*key, seen[key]))).encode("utf-8")).hexdigest()
        cell = f" (cell {p['cell'] + 1})" if "cell" in p else ""
        issues.append({
            "type": "issue", "check_name": f"nntutor/{f.rule}",
            "description": f"{f.rule}{cell}: {f.message}", "categories": ["Bug Risk"],
            "severity": GITLAB_SEVERITY[f.severity], "fingerprint": fingerprint,
            "location": {"path": f.location.path.replace("\\", "/"),
                         "lines": {"begin": p["line"], "end": p["end_line"]}},
        })
    return json.dumps(issues, indent=2)


def statistics(results: list[Analysis]) -> list[dict]:
    """Findings per rule, most frequent first: rule, count, how many have a certain fix."""
    counts = Counter(f.rule for f in _all(results))
    fixable = Counter(f.rule for f in _all(results) if f.fix)
    return [{"rule": rule, "count": n, "fixable": fixable[rule]}
            for rule, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def to_statistics(results: list[Analysis], rules: dict, as_json: bool = False) -> str:
    """`--statistics`: one line per rule that has findings (ruff's layout): count, rule, [*]
    when every finding of it has a fix ([-] when some have), summary."""
    rows = statistics(results)
    if as_json:
        return json.dumps([{**row, "severity": rules[row["rule"]].severity.label,
                            "summary": rules[row["rule"]].summary} for row in rows], indent=2)
    if not rows:
        return "All checks passed!"
    count_width = len(str(rows[0]["count"]))
    rule_width = max(len(row["rule"]) for row in rows)
    lines = []
    for row in rows:
        mark = "[*]" if row["fixable"] == row["count"] else ("[-]" if row["fixable"] else "   ")
        lines.append(f"{row['count']:>{count_width}}\t{row['rule']:<{rule_width}}\t{mark} "
                     f"{rules[row['rule']].summary}")
    return "\n".join(lines)
