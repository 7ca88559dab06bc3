"""Settings shared by every face: `[tool.nntutor]` in pyproject.toml, CLI flags, LSP settings.

Keys: select (rule ids or prefixes, "ALL"), ignore, severity ({rule: error|warning|info|hint}),
exclude (glob patterns). A bad value never stops a run: it is reported and the default is used.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
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
        """`path` is relative to the folder the patterns are for (the config's): excluded when it
        lies in one of the default folders (.venv, build ...) or matches a pattern."""
        return any(p in DEFAULT_EXCLUDE for p in path.parts[:-1]) or self.matches_exclude(path)

    def matches_exclude(self, path: Path) -> bool:
        """A pattern without a slash matches any file or folder of that name; one with a slash,
        a path from the config's folder. A folder that matches excludes everything under it."""
        return matches_patterns(self.exclude, path)

    @property
    def folder(self) -> Path | None:
        """The folder `exclude` patterns are relative to: the config file's (absolute)."""
        return Path(self.source).parent if self.source else None

    def merged(self, other: dict) -> "Config":
        """A copy with keys from `other` (CLI flags / LSP settings) taking precedence."""
        base = Config(self.select, list(self.ignore), dict(self.severity), list(self.exclude),
                      self.source, list(self.problems))
        apply(base, other, "settings")
        return base


def matches_patterns(patterns: list[str], path: Path) -> bool:
    """`path` (relative to the folder the patterns are for) or a folder above it matches: a
    pattern without a slash against any one name, one with a slash against the path."""
    parts = path.parts
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatch(prefix, pat) or fnmatch.fnmatch(part, pat)
               for pat in patterns for prefix, part in zip(prefixes, parts))


@dataclass(frozen=True)
class PathPatterns:
    """Exclude patterns given on the command line (`--exclude`, `--extend-exclude`): relative
    to the folder the command runs in, as ruff reads its own. A path outside that folder is
    matched by the slash-less patterns (a name) only, against its folders below `root` (the
    folder named on the command line), never the folders above it."""

    base: Path
    patterns: tuple[str, ...]

    def matches(self, path: Path, root: Path | None = None) -> bool:
        path = Path(path).resolve()
        try:
            return matches_patterns(list(self.patterns), path.relative_to(self.base))
        except ValueError:
            pass
        names = [p for p in self.patterns if "/" not in p]
        if not names:
            return False
        try:
            rel = path.relative_to(root) if root is not None else Path(path.name)
        except ValueError:
            rel = Path(path.name)
        return matches_patterns(names, rel)


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


def _folders_up(start: Path) -> list[Path]:
    start = start.resolve()
    first = start if start.is_dir() else start.parent
    return [first, *first.parents]


def load(start: Path | None = None, pyproject: Path | None = None) -> Config:
    """The settings for `start` (a file or a folder): `[tool.nntutor]` of the nearest
    pyproject.toml that holds that table (or cannot be read, so may hold it), or of the one
    given. A sub-package's pyproject.toml without the table does not hide the project's
    settings, as with ruff's [tool.ruff]."""
    if pyproject is not None:
        return read(pyproject) or Config()
    return ConfigTree().for_path(start or Path.cwd())


def read(path: Path) -> Config | None:
    """The settings of one pyproject.toml; None when it has no [tool.nntutor] table. One that
    cannot be read gives the defaults, with the reason in `problems`."""
    try:  # imported here: a run with --no-config or without pyproject.toml never pays for it
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    config = Config(source=str(path.resolve()))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        config.problems.append(f"{path}: cannot read config ({exc}); using defaults")
        return config
    tool = data.get("tool")
    table = tool.get("nntutor") if isinstance(tool, dict) else None
    if table is None:
        return None
    apply(config, table, f"{path}: [tool.nntutor]")
    return config


class ConfigTree:
    """The settings of each file, resolved as ruff resolves its own: the nearest pyproject.toml
    with a [tool.nntutor] table from the file's folder up, so each project of a monorepo keeps
    its settings; `overrides` (command-line flags, editor settings) on top of each. Cached per
    folder; `problems` lists each config's problems once, as they are first met."""

    def __init__(self, overrides: dict | None = None, replace_exclude: bool = False):
        self.overrides = overrides or {}
        self.replace_exclude = replace_exclude  # `--exclude` on the command line: the files' patterns go
        self._by_folder: dict[Path, Config] = {}
        self._by_file: dict[Path | None, Config | None] = {}
        self._by_path: dict[str, Config] = {}   # as asked (the language server asks per edit)
        self.problems: list[str] = []

    def for_path(self, path: Path) -> Config:
        """The settings of a file, or of the files of a folder."""
        config = self._by_path.get(str(path))
        if config is None:
            config = self._by_path[str(path)] = self._resolve(Path(path))
        return config

    def differs(self, other: ConfigTree) -> bool:
        """Whether `other` (the files read again) gives any folder asked about so far other settings."""
        return any(other.for_path(folder) != config for folder, config in list(self._by_folder.items()))

    def _resolve(self, path: Path) -> Config:
        folders = _folders_up(path)
        missed = []
        config = None
        for folder in folders:
            config = self._by_folder.get(folder)
            if config is not None:
                break
            missed.append(folder)
            candidate = folder / "pyproject.toml"
            if candidate.is_file():
                config = self._config(candidate)
                if config is not None:
                    break
        if config is None:
            config = self._config(None)
        for folder in missed:
            self._by_folder[folder] = config
        return config

    def _config(self, pyproject: Path | None) -> Config | None:
        if pyproject in self._by_file:
            return self._by_file[pyproject]
        base = Config() if pyproject is None else read(pyproject)
        config = None
        if base is not None:
            config = base.merged(self.overrides) if self.overrides else base
            if self.replace_exclude and config.exclude:
                config = replace(config, exclude=[])
            self.problems += [p for p in config.problems if p not in self.problems]
        self._by_file[pyproject] = config
        return config


class OneConfig:
    """`--config FILE` or `--no-config`: the same settings for every file (ConfigTree's interface)."""

    def __init__(self, config: Config):
        self.config = config
        self.problems = list(config.problems)

    def for_path(self, path: Path) -> Config:
        return self.config
