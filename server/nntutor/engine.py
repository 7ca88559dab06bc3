"""The engine: a document in, findings out. Knows nothing of LSP, Jupyter or terminals."""
from __future__ import annotations

import logging
from dataclasses import replace

from . import suppressions
from .config import Config
from .document import Document
from .findings import Analysis
from .rules import RuleContext, all_rules, unused_suppression
from .values import Values

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """`analyze` stopped because its `cancelled()` said the result is no longer wanted."""


def analyze(doc: Document, config: Config | None = None, workspace=None, cancelled=None) -> Analysis:
    """`cancelled`: a cheap callable asked between rules (the language server's "has the document
    moved on?"); when it answers True the pass stops there and raises Cancelled."""
    config = config or Config()
    doc = doc.analysable()   # a half-typed statement that swallows the code after it left out
    result = Analysis(doc.path)
    if doc.notice:
        result.notices.append(f"{doc.path}: {doc.notice}")
    values = Values(doc.facts, workspace)
    data = doc.data
    directives = suppressions.directives(doc.facts)
    silencer = suppressions.Silencer(directives)
    ran = set()   # rules that ran to the end: only their suppressions can be judged unused
    for rule in all_rules().values():
        if not config.enabled(rule.id) or rule.id == unused_suppression.RULE.id:
            continue
        ran.add(rule.id)
        if rule.needs and not any(n in data for n in rule.needs):
            continue
        if cancelled is not None and cancelled():
            values.__dict__.clear()
            raise Cancelled(doc.path)
        ctx = RuleContext(doc, rule, values)
        try:
            found = list(rule.check(ctx))
        except Exception as exc:  # a rule bug must not take the other rules down
            log.exception("rule %s failed on %s", rule.id, doc.path)
            result.notices.append(f"{doc.path}: internal error in rule {rule.id}: {exc!r}")
            ran.discard(rule.id)
            continue
        severity = config.severity.get(rule.id)
        for f in found:
            if silencer.silences(f.rule, f.location.line):
                continue
            if severity is not None:
                f = replace(f, severity=severity)
            result.findings.append(f)
    # Last: which directives silenced nothing needs every other rule's findings.
    if (directives or suppressions.malformed(doc.facts)) and config.enabled(unused_suppression.RULE.id):
        rule = unused_suppression.RULE
        severity = config.severity.get(rule.id)
        all_ran = len(ran) == len(all_rules()) - 1
        for f in unused_suppression.audit(RuleContext(doc, rule, values), silencer, ran, all_ran):
            if severity is not None:
                f = replace(f, severity=severity)
            result.findings.append(f)
    result.findings.sort(key=lambda f: f.sort_key())
    # One finding per rule and place: two paths to the same bug are one bug.
    seen = set()
    unique = []
    for f in result.findings:
        key = (f.rule, f.location.start, f.location.end)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    result.findings = unique
    if doc.left_out:
        result.findings = [_without_fix_on(f, doc.left_out) for f in result.findings]
    # The rules' shared caches (data flow, loss sites ...) refer to each other and to this
    # version's tree; drop them now so the version is freed at once, not at the next GC cycle.
    values.__dict__.clear()
    return result


def _without_fix_on(finding, left_out):
    """The finding without its fix when an edit of the fix touches a left-out statement: the
    fix was written for the text the rules read, which has `pass` and blanks there."""
    fix = finding.fix
    if fix is None or not any(e.start <= s.end and s.start <= e.end for e in fix.edits for s in left_out):
        return finding
    return replace(finding, fix=None)


def analyze_text(text: str, path: str = "<string>", config: Config | None = None, workspace=None):
    return analyze(Document.from_text(text, path), config, workspace)
