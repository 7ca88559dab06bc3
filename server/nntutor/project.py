"""Checking many files: discovery, the cross-file workspace of model classes, parallel workers."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .config import DEFAULT_EXCLUDE, Config, OneConfig
from .document import Document, InputError
from .engine import analyze
from .findings import Analysis
from .local_imports import imported_local_files
from .models import Workspace, file_summary, index_classes
from .notebook import NotebookError

PARALLEL_THRESHOLD = 24   # below this, worker start-up costs more than it saves
SUFFIXES = (".py", ".ipynb")


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def discover(paths: list[str], configs, force_exclude: bool = False, extra_exclude=None) -> Discovery:
    """The files to check under `paths`, with `configs` (config.ConfigTree or OneConfig) saying
    which settings apply where. Folders are searched for .py and .ipynb files; the default
    folders (.venv, build ...) and what `exclude` matches are not entered. A pattern is relative
    to its config's folder (to the searched folder for a file outside it). A file named
    explicitly is checked whatever its suffix, and whatever `exclude` says unless
    `force_exclude` (pre-commit and editors pass the changed files one by one).
    `extra_exclude` (config.PathPatterns: `--exclude`, `--extend-exclude`) applies everywhere."""
    if isinstance(configs, Config):
        configs = OneConfig(configs)
    found = Discovery()
    seen = set()
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            found.missing.append(raw)
            continue
        if p.is_file():
            if force_exclude and (_excluded_file(p, configs.for_path(p))
                                  or (extra_exclude is not None and extra_exclude.matches(p))):
                continue
            candidates = [p]  # named explicitly: checked whatever its suffix says
        else:
            candidates = _walk(p, configs, extra_exclude)
        for q in candidates:
            key = q.resolve()
            if key not in seen:
                seen.add(key)
                found.files.append(q)
    return found


def _relative(path: Path, config, root: Path) -> Path:
    """`path` (absolute) relative to its config's folder, or to `root` when outside it."""
    folder = config.folder
    if folder is not None:
        try:
            return path.relative_to(folder)
        except ValueError:
            pass
    return path.relative_to(root)


def _walk(top: Path, configs, extra=None) -> list[Path]:
    """The .py and .ipynb files under `top`, sorted, without entering excluded folders (a
    project's .venv alone holds tens of thousands of files)."""
    root = top.resolve()
    out = []

    def skipped(path: Path, config) -> bool:
        return config.matches_exclude(_relative(path, config, root)) or (
            extra is not None and extra.matches(path, root))

    for dirpath, dirnames, filenames in os.walk(top):
        here = root / os.path.relpath(dirpath, top)
        config = configs.for_path(here)
        dirnames[:] = [d for d in dirnames if d not in DEFAULT_EXCLUDE and not skipped(here / d, config)]
        for name in filenames:
            if name.endswith(SUFFIXES) and not skipped(here / name, config):
                q = Path(dirpath, name)
                if q.is_file():
                    out.append(q)
    out.sort()
    return out


def _excluded_file(path: Path, config) -> bool:
    base = config.folder
    if base is None:
        return False  # no config: no patterns (and a file named explicitly is wanted)
    try:
        rel = path.resolve().relative_to(base)
    except ValueError:
        return False  # outside the config's folder: its patterns say nothing about it
    return config.excluded(rel)


def _load(path: Path) -> tuple[Document | None, str | None]:
    try:
        return Document.from_path(path), None
    except (InputError, NotebookError) as exc:
        return None, f"{path}: {exc}"
    except RecursionError:
        return None, f"{path}: too deeply nested to analyse"


def _worth_indexing(path: Path) -> bool:
    """The file may define a model class, a function that switches a model's mode or a class
    with a `cuda()` of its own (models.FileSummary): a byte search tells most files apart
    without parsing them."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return (b"class " in data and (b"Module" in data or b"Model" in data or b"Layer" in data)) or (
        path.suffix == ".py" and b"def " in data and (b".eval(" in data or b".train(" in data or b"def cuda(" in data))


# Documents parsed for the index pass are kept for the analysis pass up to this much source;
# past it they are parsed again. A tree with its facts takes about 45 bytes per source byte, so
# this bounds what is kept at about 90 MB per process.
_KEEP_BYTES = 2 * 1024 * 1024


def _index_models(paths, add) -> dict:
    """Index the model classes of `paths`, and their functions that switch a model's mode
    (`add(path, classes, summary)` for each parsed file: models.FileSummary), and return the documents kept for
    the analysis pass, within `_KEEP_BYTES`."""
    docs: dict = {}
    kept = 0
    for path in paths:
        if not _worth_indexing(path):
            continue
        loaded = _load(path)
        doc = loaded[0]
        if doc is None:
            continue
        add(doc.path, index_classes(doc.facts), file_summary(doc))
        if kept + len(doc.data) <= _KEEP_BYTES:
            docs[path] = loaded
            kept += len(doc.data)
    return docs


def _analyze_loaded(path, loaded, config, workspace) -> Analysis:
    doc, problem = loaded or _load(path)
    if doc is None:
        result = Analysis(str(path))
        result.notices.append(problem)
        return result
    return analyze(doc, config, workspace)


def _worker(conn, paths: list, configs: dict) -> None:
    """One worker process with a fixed share of the files (and each file's config): index its
    model classes, send them, receive the whole workspace, then analyse its share and send each
    result."""
    try:
        summaries = []
        docs = _index_models(paths, lambda path, classes, summary: summaries.append(
            (path, {k: v.summary() for k, v in classes.items()}, summary)))
        conn.send(summaries)
        workspace = conn.recv()
        for path in paths:
            conn.send((path, _analyze_loaded(path, docs.pop(path, None), configs[path], workspace)))
        conn.send(None)
    finally:
        conn.close()


def _shares(files: list[Path], jobs: int) -> list[list[Path]]:
    """Split files into `jobs` shares of similar total size (largest first, to the lightest)."""
    sized = []
    for f in files:
        try:
            sized.append((f.stat().st_size, f))
        except OSError:
            sized.append((0, f))
    shares: list[list[Path]] = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for size, f in sorted(sized, key=lambda sf: -sf[0]):
        i = loads.index(min(loads))
        shares[i].append(f)
        loads[i] += size
    return [s for s in shares if s]


def _check_parallel(files: list[Path], configs, jobs: int, progress, extras=()) -> list[Analysis]:
    """Each worker parses its files once for both passes (the model index, then the analysis),
    instead of a pool parsing every model file twice in two different processes."""
    import multiprocessing
    from multiprocessing.connection import wait

    workers, conns = [], []
    for share in _shares(files, jobs):
        parent, child = multiprocessing.Pipe()
        share_configs = {f: configs.for_path(f) for f in share}  # (pickled once per distinct config)
        proc = multiprocessing.Process(target=_worker, args=(child, share, share_configs), daemon=True)
        proc.start()
        child.close()
        workers.append(proc)
        conns.append(parent)
    results: dict[Path, Analysis] = {}
    try:
        workspace = Workspace()
        _index_models(extras, workspace.add_file)  # imported, not checked: indexed here
        for conn in conns:  # every worker's classes before anyone analyses: cross-file facts
            for path, classes, summary in conn.recv():
                workspace.add_file(path, classes, summary)
        for conn in conns:
            conn.send(workspace)
        pending = list(conns)
        while pending:
            for conn in wait(pending):
                try:
                    item = conn.recv()
                except EOFError:
                    item = None
                if item is None:
                    pending.remove(conn)
                    continue
                path, result = item
                results[path] = result
                if progress:
                    progress(len(results), len(files))
    except (EOFError, OSError):
        pass  # a worker died before sending its index: what is missing is analysed below
    finally:
        for proc in workers:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    missing = [f for f in files if f not in results]
    if missing:  # a worker died (out of memory, killed): analyse what it left, here
        results.update(zip(missing, _check_serial(missing, configs, None, [f for f in files if f not in missing] + list(extras))))
    return [results[f] for f in files]


def check_files(files: list[Path], configs, jobs: int | None = None, progress=None,
                extras=()) -> list[Analysis]:
    """Analyse `files`, each with its settings: `configs` is a config.ConfigTree or OneConfig
    (a bare Config applies to every file). The model classes of `extras` count too, without
    their being checked: the local modules that files named on the command line import
    (`local_extras`)."""
    if isinstance(configs, Config):
        configs = OneConfig(configs)
    jobs = jobs or os.cpu_count() or 1
    extras = list(extras)
    if jobs > 1 and len(files) >= PARALLEL_THRESHOLD:
        return _check_parallel(files, configs, min(jobs, len(files)), progress, extras)
    return _check_serial(files, configs, progress, extras)


def project_workspace(files, extras=()) -> Workspace:
    """The model classes of `files` and `extras` (for --fix and --add-suppressions, which
    analyse as `check` does)."""
    workspace = Workspace()
    _index_models(list(files) + list(extras), workspace.add_file)
    return workspace


def local_extras(files, named, configs, extra_exclude=None) -> list[Path]:
    """The local modules that the `named` files (given one by one on the command line, as
    pre-commit does) import, which are not among `files` and which a folder's walk would not
    skip (`exclude`, .venv, build ...): their model classes count as if the folder were
    checked. A folder named on the command line already holds its own modules."""
    if not named:
        return []
    checked = {os.path.realpath(f) for f in files}
    return unskipped([m for m in imported_local_files(named) if os.path.realpath(m) not in checked],
                     configs, extra_exclude)


def unskipped(modules, configs, extra_exclude=None) -> list[Path]:
    """`modules` without those a folder's walk skips: `exclude` patterns, --exclude flags,
    the default folders (.venv, build ...)."""
    out = []
    for module in modules:
        module = Path(module)
        if any(part in DEFAULT_EXCLUDE for part in Path(os.path.relpath(module)).parts[:-1]) \
                or _excluded_file(module, configs.for_path(module)) \
                or (extra_exclude is not None and extra_exclude.matches(module)):
            continue
        out.append(module)
    return out


def _check_serial(files: list[Path], configs, progress, extras=()) -> list[Analysis]:
    workspace = Workspace()
    docs = _index_models(list(files) + list(extras), workspace.add_file)
    results = []
    for i, f in enumerate(files):
        results.append(_analyze_loaded(f, docs.pop(f, None), configs.for_path(f), workspace))
        if progress:
            progress(i + 1, len(files))
    return results
