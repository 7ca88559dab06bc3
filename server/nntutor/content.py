"""The catalog: concept cards, quiz items and rule docs from content/, validated.

Content is data (Markdown + YAML front matter); this module loads it and reports problems as
`path:line: field: reason`, so a broken card is as easy to fix as a compiler error.
"""
from __future__ import annotations

import os
import re
import sys
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


class _LazyYaml:
    """PyYAML and its fastest safe loader, imported when a file is parsed (~17 ms): a server
    that loads the catalog from its snapshot (`catalog`) never needs them."""

    def __getattr__(self, name):
        import yaml

        globals()["yaml"] = yaml
        return getattr(yaml, name)


yaml = _LazyYaml()


def _loader():
    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader  # (PyYAML without libyaml)

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SEED = re.compile(r"^(000|003)#(\d+)$")
SEED_COUNTS = {"000": 35, "003": 30}
QUALNAME = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$")
KEYWORD_TRIGGER = re.compile(r'^(activation|loss|optimizer)="([\w-]+)"$')
QUIZ_TYPES = ("single", "multi", "true-false", "spot-the-bug")
SEVERITIES = ("error", "warning", "info", "hint")


def content_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_content", here.parent.parent / "content"):
        if (candidate / "concepts").is_dir():
            return candidate
    raise FileNotFoundError("nntutor content folder not found (expected nntutor/_content or ./content)")


@dataclass
class QuizItem:
    id: str
    concept: str
    type: str
    question: str
    answer: object
    explanations: object
    difficulty: int
    seed: str
    options: list[str] | None = None
    code: str | None = None
    rule: str | None = None

    def to_json(self, seed_questions: dict | None = None) -> dict:
        data = {k: v for k, v in self.__dict__.items() if v is not None}
        if isinstance(self.explanations, dict):
            data["explanations"] = {str(k): v for k, v in self.explanations.items()}
        if seed_questions and self.seed in seed_questions:
            data["seed_question"] = seed_questions[self.seed]
        return data


@dataclass
class Concept:
    id: str
    title: str
    summary: str
    path: Path
    seeds: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    pitfalls: list[str] = field(default_factory=list)
    quiz: list[QuizItem] = field(default_factory=list)
    demo: str | None = None
    body: str = ""


@dataclass
class RuleDoc:
    id: str
    title: str
    severity: str
    concept: str
    summary: str
    body: str
    path: Path


@dataclass
class Problem:
    path: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        path = self.path
        try:
            path = path.resolve().relative_to(Path.cwd())
        except ValueError:
            pass
        return f"{path}:{self.line}: {self.field}: {self.message}"


@dataclass
class Catalog:
    concepts: dict[str, Concept]
    rules: dict[str, RuleDoc]
    questions: dict[str, str]
    problems: list[Problem]
    by_trigger: dict[str, str] = field(default_factory=dict)          # qualname -> concept id
    by_keyword: dict[tuple[str, str], str] = field(default_factory=dict)  # (kw, value) -> concept
    quiz: dict[str, QuizItem] = field(default_factory=dict)

    def concept_for(self, qual: str) -> Concept | None:
        cid = self.by_trigger.get(qual)
        if cid is None and qual.startswith("tensorflow.keras."):
            cid = self.by_trigger.get("keras." + qual[len("tensorflow.keras."):])
        return self.concepts.get(cid) if cid else None

    def concept_for_keyword(self, keyword: str, value: str) -> Concept | None:
        cid = self.by_keyword.get((keyword, value))
        return self.concepts.get(cid) if cid else None


# -- parsing ---------------------------------------------------------------------------------
def _split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(yaml, body, line number where the body starts) or None without front matter."""
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    if end == -1:
        return None
    yaml_text = text[text.index("\n") + 1:end + 1]
    body_start = text.find("\n", end + 4)
    body = text[body_start + 1:] if body_start != -1 else ""
    return yaml_text, body, yaml_text.count("\n") + 2


def _line_map(yaml_text: str) -> dict[tuple, int]:
    """Field path -> 1-based line in the file (front matter starts on line 2)."""
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(yaml_text, Loader=_loader())
    except yaml.YAMLError:
        return lines

    def walk(node, path):
        lines[path] = node.start_mark.line + 2
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(v, path + (k.value,))
                lines[path + (k.value,)] = k.start_mark.line + 2
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return lines


def _fmt(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class _Checker:
    def __init__(self, path: Path, lines: dict, problems: list[Problem]):
        self.path, self.lines, self.problems = path, lines, problems

    def error(self, fpath: tuple, message: str):
        line = self.lines.get(fpath) or self.lines.get(fpath[:1]) or 1
        self.problems.append(Problem(self.path, line, _fmt(fpath) or "front matter", message))

    def str_list(self, data, key, required=True) -> list[str]:
        value = data.get(key)
        if value is None:
            if required:
                self.error((key,), "missing")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error((key,), "must be a list of strings")
            return []
        return value


def _load_file(path: Path, problems: list[Problem]):
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, 1, "file", f"cannot read: {exc}"))
        return None
    parts = _split_front_matter(text)
    if parts is None:
        problems.append(Problem(path, 1, "front matter", "missing '---' YAML front matter"))
        return None
    yaml_text, body, _ = parts
    try:
        data = yaml.load(yaml_text, Loader=_loader())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 2
        problems.append(Problem(path, line, "front matter", f"invalid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(path, 2, "front matter", "must be a mapping"))
        return None
    return data, body, _line_map(yaml_text)


def _parse_quiz(item, i, concept_id, seeds, check: _Checker) -> QuizItem | None:
    where = ("quiz", i)
    if not isinstance(item, dict):
        check.error(where, "must be a mapping")
        return None
    for key in ("id", "type", "question", "answer", "explanations", "difficulty", "seed"):
        if key not in item:
            check.error(where, f"missing '{key}'")
            return None
    qtype = item["type"]
    if qtype not in QUIZ_TYPES:
        check.error(where + ("type",), f"unknown type {qtype!r} (use {', '.join(QUIZ_TYPES)})")
        return None
    if item["seed"] not in seeds:
        check.error(where + ("seed",), f"{item['seed']!r} is not one of this card's seeds {seeds}")
    if item["difficulty"] not in (1, 2, 3):
        check.error(where + ("difficulty",), "must be 1, 2 or 3")
    answer, expl = item["answer"], item["explanations"]
    options = item.get("options")
    if qtype in ("single", "multi"):
        if not isinstance(options, list) or not 2 <= len(options) <= 6:
            check.error(where + ("options",), "single/multi items need 2-6 options")
            return None
        n = len(options)
        picks = answer if qtype == "multi" else [answer]
        if not isinstance(picks, list) or not picks or not all(isinstance(a, int) and 0 <= a < n for a in picks):
            check.error(where + ("answer",), f"must be {'a list of' if qtype == 'multi' else 'an'} option index(es) 0..{n - 1}")
        if not isinstance(expl, list) or len(expl) != n:
            check.error(where + ("explanations",), f"needs one explanation per option ({n})")
    elif qtype == "true-false":
        if not isinstance(answer, bool):
            check.error(where + ("answer",), "must be true or false")
        if not isinstance(expl, list) or len(expl) != 2:
            check.error(where + ("explanations",), "needs exactly two explanations (if True picked, if False picked)")
    else:
        code = item.get("code")
        if not isinstance(code, str) or not code.strip():
            check.error(where + ("code",), "spot-the-bug items need code")
            return None
        n = len(code.rstrip("\n").split("\n"))
        if not isinstance(answer, int) or not 1 <= answer <= n:
            check.error(where + ("answer",), f"must be a line number 1..{n}")
        if not isinstance(expl, dict) or answer not in expl:
            check.error(where + ("explanations",), "must map line numbers to explanations, including the answer line")
    return QuizItem(str(item["id"]), concept_id, qtype, str(item["question"]), answer, expl,
                    item["difficulty"], item["seed"], options, item.get("code"), item.get("rule"))


def _load_concept(path: Path, problems: list[Problem]) -> Concept | None:
    loaded = _load_file(path, problems)
    if loaded is None:
        return None
    data, body, lines = loaded
    check = _Checker(path, lines, problems)
    cid = data.get("id")
    if not isinstance(cid, str) or not KEBAB.match(cid):
        check.error(("id",), "must be a kebab-case string")
        return None
    if cid != path.stem:
        check.error(("id",), f"'{cid}' must equal the file name '{path.stem}'")
    for key in ("title", "summary"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            check.error((key,), "missing or empty")
    summary = str(data.get("summary", ""))
    if "\n" in summary.strip() or len(summary) > 200:
        check.error(("summary",), "must be one line of at most 200 characters")
    seeds = check.str_list(data, "seeds")
    for i, s in enumerate(seeds):
        m = SEED.match(s)
        if not m or not 1 <= int(m.group(2)) <= SEED_COUNTS[m.group(1)]:
            check.error(("seeds", i), f"'{s}' is not a seed question id (000#1..000#35, 003#1..003#30)")
    triggers = check.str_list(data, "triggers", required=False)
    for i, t in enumerate(triggers):
        if not (QUALNAME.match(t) or KEYWORD_TRIGGER.match(t)):
            check.error(("triggers", i), f"'{t}' is neither a qualified name nor keyword=\"value\"")
    concept = Concept(cid, str(data.get("title", "")), summary.strip(), path, seeds, triggers,
                      check.str_list(data, "related", required=False),
                      check.str_list(data, "rules", required=False),
                      check.str_list(data, "pitfalls", required=False),
                      demo=data.get("demo"), body=body)
    quiz = data.get("quiz") or []
    if not isinstance(quiz, list):
        check.error(("quiz",), "must be a list")
        quiz = []
    for i, item in enumerate(quiz):
        q = _parse_quiz(item, i, cid, seeds, check)
        if q is not None:
            concept.quiz.append(q)
    need = 4 if triggers else 2
    if len(quiz) < need:
        check.error(("quiz",), f"needs at least {need} items ({'has code triggers' if triggers else 'quiz-only'}), has {len(quiz)}")
    concept._lines = lines  # kept for cross-file checks
    return concept


def _load_rule(path: Path, problems: list[Problem]) -> RuleDoc | None:
    loaded = _load_file(path, problems)
    if loaded is None:
        return None
    data, body, lines = loaded
    check = _Checker(path, lines, problems)
    for key in ("id", "title", "severity", "concept", "summary"):
        if not isinstance(data.get(key), str):
            check.error((key,), "missing or not a string")
            return None
    if data["id"] != path.stem:
        check.error(("id",), f"'{data['id']}' must equal the file name '{path.stem}'")
    if data["severity"] not in SEVERITIES:
        check.error(("severity",), f"must be one of {', '.join(SEVERITIES)}")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        if section not in body:
            check.error(("body",), f"missing section '{section}'")
    return RuleDoc(data["id"], data["title"], data["severity"], data["concept"], data["summary"], body, path)


def load(root: Path | None = None) -> Catalog:
    root = root or content_dir()
    problems: list[Problem] = []
    concepts: dict[str, Concept] = {}
    for path in sorted((root / "concepts").glob("*.md")):
        c = _load_concept(path, problems)
        if c is not None:
            concepts[c.id] = c
    rules: dict[str, RuleDoc] = {}
    for path in sorted((root / "rules").glob("*.md")):
        r = _load_rule(path, problems)
        if r is not None:
            rules[r.id] = r
    questions = {}
    qpath = root / "questions.yaml"
    if qpath.is_file():
        questions = {str(k): str(v) for k, v in (yaml.load(qpath.read_text("utf-8"), Loader=_loader()) or {}).items()}
    catalog = Catalog(concepts, rules, questions, problems)
    _index_and_cross_check(catalog)
    return catalog


def _index_and_cross_check(catalog: Catalog) -> None:
    from .rules import all_rules

    known_rules = set(all_rules())
    problems = catalog.problems
    for c in catalog.concepts.values():
        check = _Checker(c.path, getattr(c, "_lines", {}), problems)
        for i, t in enumerate(c.triggers):
            m = KEYWORD_TRIGGER.match(t)
            key = (m.group(1), m.group(2)) if m else None
            index = catalog.by_keyword if m else catalog.by_trigger
            k = key if m else t
            if k in index and index[k] != c.id:
                check.error(("triggers", i), f"'{t}' already triggers card '{index[k]}'")
            else:
                index[k] = c.id
        for i, r in enumerate(c.related):
            if r not in catalog.concepts:
                check.error(("related", i), f"unknown concept '{r}'")
        for i, r in enumerate(c.rules):
            if r not in known_rules:
                check.error(("rules", i), f"unknown rule '{r}'")
        for j, q in enumerate(c.quiz):
            if q.id in catalog.quiz:
                check.error(("quiz", j, "id"), f"duplicate quiz id '{q.id}'")
            catalog.quiz[q.id] = q
            if q.rule is not None and q.rule not in known_rules:
                check.error(("quiz", j, "rule"), f"unknown rule '{q.rule}'")
        if c.demo is not None:
            from .demos_index import DEMO_IDS

            if c.demo not in DEMO_IDS:
                check.error(("demo",), f"unknown demo '{c.demo}'")
    for rid in sorted(known_rules):
        if rid not in catalog.rules:
            problems.append(Problem(Path("content/rules") / f"{rid}.md", 1, "file",
                                    f"rule '{rid}' has no doc"))
    for r in catalog.rules.values():
        if r.id not in known_rules:
            problems.append(Problem(r.path, 2, "id", f"no rule '{r.id}' in the engine"))
        if r.concept == "" and all_rules().get(r.id) is not None and all_rules()[r.id].concept == "":
            pass  # a rule about nntutor itself (unused-suppression) teaches no concept
        elif r.concept not in catalog.concepts:
            problems.append(Problem(r.path, 2, "concept", f"unknown concept '{r.concept}'"))
        else:
            rule = all_rules().get(r.id)
            if rule is not None and rule.concept != r.concept:
                problems.append(Problem(r.path, 2, "concept",
                                        f"'{r.concept}' differs from the engine's '{rule.concept}'"))
    seeds_drilled = {q.seed for q in catalog.quiz.values()}
    for prefix, n in SEED_COUNTS.items():
        for i in range(1, n + 1):
            sid = f"{prefix}#{i}"
            if not any(sid in c.seeds for c in catalog.concepts.values()):
                problems.append(Problem(Path("content/concepts"), 1, "seeds", f"seed question {sid} is covered by no card"))
            elif sid not in seeds_drilled:
                problems.append(Problem(Path("content/concepts"), 1, "quiz", f"seed question {sid} is drilled by no quiz item"))


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The shipped catalog, loaded once per process: from a snapshot of the last load when no
    content file and no module of nntutor changed since (~5 ms instead of ~150 ms of YAML
    parsing and cross-checks, paid before a language server's first hover), else parsed and
    snapshot. The snapshot is a pickle in the user's cache folder (0600, trusted as the code
    cache next to it is); anything wrong with it means parsing again. NNTUTOR_NO_CODE_CACHE=1
    turns it off too."""
    path = _snapshot_path()
    if path is not None:
        try:
            with open(path, "rb") as f:
                import pickle

                loaded = pickle.load(f)
            if isinstance(loaded, Catalog):
                return loaded
        except Exception:  # missing, corrupt, or from classes that changed: parse again
            pass
    fresh = load()
    if path is not None:
        _write_snapshot(path, fresh)
    return fresh


def _snapshot_path() -> str | None:
    if os.environ.get("NNTUTOR_NO_CODE_CACHE", "") not in ("", "0"):
        return None
    from .lsp.codecache import cache_dir

    folder = cache_dir()
    if folder is None:
        return None
    try:
        root = content_dir()
    except FileNotFoundError:
        return None
    # Every content file and every module (the cross-checks read the rule registry), with
    # their modification times and sizes; the Python build (pickle of these classes).
    crc = zlib.crc32(f"{sys.version}|{sys.prefix}|{root}".encode("utf-8", "surrogateescape"))
    package = Path(__file__).resolve().parent
    for folder_path, suffix in ((root, None), (package, ".py")):
        for dirpath, dirs, files in os.walk(folder_path):
            dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "_content"))
            for name in sorted(files):
                if suffix is None or name.endswith(suffix):
                    full = os.path.join(dirpath, name)
                    try:
                        st = os.stat(full)
                    except OSError:
                        continue
                    crc = zlib.crc32(f"{full}:{st.st_mtime_ns}:{st.st_size}".encode("utf-8", "surrogateescape"), crc)
    return os.path.join(folder, f"catalog-{crc:08x}.pickle")


def _write_snapshot(path: str, cat: Catalog) -> None:
    import pickle

    from .atomic import write_atomic

    try:
        write_atomic(path, pickle.dumps(cat, protocol=pickle.HIGHEST_PROTOCOL))
        # Older snapshots (earlier versions of the content) are of no use any more.
        folder = os.path.dirname(path)
        for name in os.listdir(folder):
            if name.startswith("catalog-") and name.endswith(".pickle") and os.path.join(folder, name) != path:
                os.unlink(os.path.join(folder, name))
    except Exception:  # a memo: not being able to write it costs only the next start's time
        pass
