"""Checking many files: discovery, the cross-file workspace of model classes, parallel workers."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .document import Document, InputError
from .engine import analyze
from .findings import Analysis
from .models import Workspace, index_classes
from .notebook import NotebookError

PARALLEL_THRESHOLD = 24   # below this, worker start-up costs more than it saves
SUFFIXES = (".py", ".ipynb")


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def discover(paths: list[str], config: Config) -> Discovery:
    found = Discovery()
    seen = set()
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            found.missing.append(raw)
            continue
        if p.is_file():
            candidates = [p]  # named explicitly: checked whatever its suffix says
        else:
            candidates = sorted(q for q in p.rglob("*") if q.suffix in SUFFIXES and q.is_file()
                                and not config.excluded(q.relative_to(p)))
        for q in candidates:
            key = q.resolve()
            if key not in seen:
                seen.add(key)
                found.files.append(q)
    return found


def _load(path: Path) -> tuple[Document | None, str | None]:
    try:
        return Document.from_path(path), None
    except (InputError, NotebookError) as exc:
        return None, f"{path}: {exc}"
    except RecursionError:
        return None, f"{path}: too deeply nested to analyse"


def _may_define_models(path: Path) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return b"class " in data and (b"Module" in data or b"Model" in data or b"Layer" in data)


def _index_file(path: Path):
    doc, _ = _load(path)
    if doc is None:
        return str(path), {}
    return doc.path, {k: v.summary() for k, v in index_classes(doc.facts).items()}


_shared: dict = {}


def _init_worker(config, workspace) -> None:
    """Give each worker the config and model index once, not with every file."""
    _shared["config"], _shared["workspace"] = config, workspace


def _analyze_path(path) -> Analysis:
    return _analyze_file((path, _shared["config"], _shared["workspace"]))


def _analyze_file(args) -> Analysis:
    path, config, workspace = args
    doc, problem = _load(path)
    if doc is None:
        result = Analysis(str(path))
        result.notices.append(problem)
        return result
    return analyze(doc, config, workspace)


def check_files(files: list[Path], config: Config, jobs: int | None = None, progress=None) -> list[Analysis]:
    jobs = jobs or os.cpu_count() or 1
    parallel = jobs > 1 and len(files) >= PARALLEL_THRESHOLD
    model_files = [f for f in files if _may_define_models(f)]
    workspace = Workspace()
    if parallel:
        from concurrent.futures import ProcessPoolExecutor  # imported only when it pays off

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for path, classes in pool.map(_index_file, model_files, chunksize=8):
                workspace.add_file(path, classes)
        results = []
        with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                 initargs=(config, workspace)) as pool:
            for i, result in enumerate(pool.map(_analyze_path, files, chunksize=8)):
                results.append(result)
                if progress:
                    progress(i + 1, len(files))
        return results
    docs: dict[Path, tuple] = {}
    for f in model_files:
        doc, problem = _load(f)
        docs[f] = (doc, problem)
        if doc is not None:
            workspace.add_file(doc.path, index_classes(doc.facts))
    results = []
    for i, f in enumerate(files):
        doc, problem = docs.get(f) or _load(f)
        if doc is None:
            result = Analysis(str(f))
            result.notices.append(problem)
        else:
            result = analyze(doc, config, workspace)
        results.append(result)
        if progress:
            progress(i + 1, len(files))
    return results
