"""Rule registry. One module per rule; each defines `RULE = Rule(...)` with a `check(ctx)`
generator yielding findings. Adding a rule = adding a module here + a doc in content/rules/."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Iterator

from ..findings import Finding, Fix, Location, Related, Severity, TextEdit


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    concept: str
    summary: str
    check: Callable[["RuleContext"], Iterator[Finding]]
    # Cheap pre-filter: the rule runs only if one of these byte strings occurs in the source.
    needs: tuple[bytes, ...] = ()


class RuleContext:
    def __init__(self, doc, rule: Rule, values):
        self.doc = doc
        self.facts = doc.facts
        self.values = values
        self.rule = rule
        self.text = doc.text

    def loc(self, node) -> Location:
        return Location.of_node(self.doc, node)

    def related(self, node, message: str) -> Related:
        return Related(Location.of_node(self.doc, node), message)

    def finding(self, node, message: str, *, related=(), fix: Fix | None = None,
                confidence: float = 1.0, severity: Severity | None = None) -> Finding:
        return Finding(self.rule.id, severity or self.rule.severity, message, self.loc(node),
                       self.rule.concept, tuple(r for r in related if r is not None), fix, confidence)

    def edit(self, node, new_text: str) -> TextEdit:
        return TextEdit(node.start_byte, node.end_byte, new_text)

    def line_indent(self, node) -> str:
        idx = self.doc.index
        line = idx.line_of(node.start_byte)
        raw = idx.line_bytes(line)
        return raw[: len(raw) - len(raw.lstrip())].decode("utf-8", errors="replace")

    def own_lines(self, node) -> tuple[int, int] | None:
        """(start of its first line, end of its last line, newline included) when nothing else
        shares those lines (another statement, a comment), else None: the span a fix may move
        or delete."""
        idx, data = self.doc.index, self.doc.data
        first, last = idx.line_of(node.start_byte), idx.line_of(node.end_byte)
        start = idx.starts[first]
        end = idx.starts[last + 1] if last + 1 < len(idx.starts) else len(data)
        if data[start:node.start_byte].strip() or data[node.end_byte:end].strip():
            return None
        return start, end

    def line_start(self, node) -> int:
        idx = self.doc.index
        return idx.starts[idx.line_of(node.start_byte)]


_RULES: dict[str, Rule] | None = None


def all_rules() -> dict[str, Rule]:
    global _RULES
    if _RULES is None:
        found = {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            rule = getattr(module, "RULE", None)
            if isinstance(rule, Rule):
                found[rule.id] = rule
        _RULES = dict(sorted(found.items()))
    return _RULES


__all__ = ["Rule", "RuleContext", "all_rules", "Finding", "Fix", "Related", "Severity", "TextEdit",
           "Location"]
