"""Settings shared by every face: `[tool.nntutor]` in pyproject.toml, CLI flags, LSP settings.

Keys: select (rule ids or prefixes, "ALL"), ignore, severity ({rule: error|warning|info|hint}),
exclude (glob patterns). A bad value never stops a run: it is reported and the default is used.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from .findings import Severity

DEFAULT_EXCLUDE = (".git", ".venv", "venv", "node_modules", "__pycache__", ".ipynb_checkpoints",
                   "build", "dist", ".tox", ".mypy_cache", ".ruff_cache")


@dataclass
class Config:
    select: list[str] | None = None          # None = every rule
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    source: str | None = None                # where it was read from, for messages
    problems: list[str] = field(default_factory=list)

    def enabled(self, rule_id: str) -> bool:
        def matches(patterns):
            return any(p == "ALL" or rule_id == p or rule_id.startswith(p.rstrip("-") + "-")
                       for p in patterns)

        if self.select is not None and not matches(self.select):
            return False
        return not matches(self.ignore)

    def severity_for(self, rule_id: str, default: Severity) -> Severity:
        return self.severity.get(rule_id, default)

    def excluded(self, path: Path) -> bool:
        parts = path.parts
        if any(p in DEFAULT_EXCLUDE for p in parts[:-1]):
            return True
        text = path.as_posix()
        return any(fnmatch.fnmatch(text, pat) or fnmatch.fnmatch(path.name, pat)
                   or any(fnmatch.fnmatch(p, pat) for p in parts) for pat in self.exclude)

    def merged(self, other: dict) -> "Config":
        """A copy with keys from `other` (CLI flags / LSP settings) taking precedence."""
        base = Config(self.select, list(self.ignore), dict(self.severity), list(self.exclude),
                      self.source, list(self.problems))
        apply(base, other, "settings")
        return base


def _str_list(value, key, where, problems) -> list[str] | None:
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",") if s.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: '{key}' must be a list of rule ids; ignored")
        return None
    return value


def apply(config: Config, table: dict, where: str) -> None:
    from .rules import all_rules

    known = set(all_rules())
    if not isinstance(table, dict):
        config.problems.append(f"{where}: expected a table of settings; ignored")
        return
    for key, value in table.items():
        if key in ("select", "ignore", "extend-ignore", "extend_ignore"):
            ids = _str_list(value, key, where, config.problems)
            if ids is None:
                continue
            for rid in ids:
                if rid != "ALL" and not any(r == rid or r.startswith(rid.rstrip("-") + "-") for r in known):
                    config.problems.append(f"{where}: {key}: unknown rule '{rid}'")
            if key == "select":
                config.select = ids
            else:
                config.ignore = list(dict.fromkeys(config.ignore + ids))
        elif key == "severity":
            if not isinstance(value, dict):
                config.problems.append(f"{where}: 'severity' must be a table of rule = level; ignored")
                continue
            for rid, level in value.items():
                if rid not in known:
                    config.problems.append(f"{where}: severity: unknown rule '{rid}'")
                    continue
                try:
                    config.severity[rid] = Severity.parse(str(level))
                except ValueError as exc:
                    config.problems.append(f"{where}: severity.{rid}: {exc}")
        elif key == "exclude":
            pats = _str_list(value, key, where, config.problems)
            if pats is not None:  # settings add to pyproject's patterns, as `ignore` does
                config.exclude = list(dict.fromkeys(config.exclude + pats))
        else:
            config.problems.append(f"{where}: unknown key '{key}'")


def find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(start: Path | None = None, pyproject: Path | None = None) -> Config:
    """Read `[tool.nntutor]` from the nearest pyproject.toml (or the one given)."""
    config = Config()
    path = pyproject or find_pyproject(start or Path.cwd())
    if path is None:
        return config
    try:  # imported here: a run with --no-config or without pyproject.toml never pays for it
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        config.problems.append(f"{path}: cannot read config ({exc}); using defaults")
        return config
    table = data.get("tool", {}).get("nntutor")
    if table is None:
        return config
    config.source = str(path)
    apply(config, table, f"{path}: [tool.nntutor]")
    return config
