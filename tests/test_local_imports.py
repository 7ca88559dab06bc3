"""local_imports: the project's modules that checked files import, found on disk."""
import json
from pathlib import Path

from nntutor.local_imports import imported_by_source, imported_local_files


def _names(paths, root):
    return sorted(str(Path(p).relative_to(root)) for p in paths)


def test_imports_of_scripts_and_notebooks_two_levels_deep(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "layers.py").write_text("import torch\n")
    (tmp_path / "models.py").write_text("from pkg.layers import Block\nimport numpy as np\n")
    (tmp_path / "utils.py").write_text("X = 1\n")
    (tmp_path / "train.py").write_text("import os, utils\nfrom models import (Net,\n    Other)\n")
    nb = {"cells": [{"cell_type": "code", "source": ["import torch\n", "from models import Net\n"],
                     "metadata": {}, "outputs": []}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "run.ipynb").write_text(json.dumps(nb))
    found = imported_local_files([tmp_path / "train.py"], root=tmp_path)
    assert _names(found, tmp_path) == ["models.py", "pkg/layers.py", "utils.py"]
    assert _names(imported_local_files([tmp_path / "run.ipynb"], root=tmp_path), tmp_path) == [
        "models.py", "pkg/layers.py"]
    # files already checked are not listed again; library imports have no file
    assert _names(imported_local_files([tmp_path / "train.py", tmp_path / "models.py"], root=tmp_path),
                  tmp_path) == ["pkg/layers.py", "utils.py"]


def test_relative_imports_and_unreadable_input(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "net.py").write_text("")
    (tmp_path / "a" / "b" / "run.py").write_text("from ..net import Net\nfrom . import helpers\n")
    (tmp_path / "a" / "b" / "helpers.py").write_text("")
    found = imported_local_files([tmp_path / "a" / "b" / "run.py"], root=tmp_path)
    assert _names(found, tmp_path) == ["a/b/helpers.py", "a/net.py"]
    assert imported_local_files([tmp_path / "missing.py", tmp_path / "data.csv"], root=tmp_path) == []


def test_every_spelling_of_an_import(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "model.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "model.py").write_text("")
    cases = {
        "import model as m\n": ["model.py"],
        "import pkg.model as m\n": ["pkg/model.py"],
        "from pkg import model as m\n": ["pkg/__init__.py", "pkg/model.py"],
        "from model import (\n    Net,\n)\n": ["model.py"],
        "from model import *\n": ["model.py"],
        "\ufefffrom model import Net\n": ["model.py"],
        "import os; from model import Net\n": ["model.py"],
        "from model import \\\n    Net\n": ["model.py"],
        "import \\\n  model\n": ["model.py"],
        "from.model import Net\n": ["model.py"],
        "x = 'import model'  # not an import statement\n": [],
    }
    for i, (src, want) in enumerate(cases.items()):
        f = tmp_path / f"t{i}.py"
        f.write_text(src, encoding="utf-8")
        assert sorted(str(p) for p in imported_local_files([f])) == want, src


def test_a_line_of_dots_is_read_in_linear_time(tmp_path):
    import time

    f = tmp_path / "dots.py"
    f.write_text("from " + "." * 40000 + "\nx = 'from " + "." * 40000 + "'\n")
    start = time.perf_counter()
    assert imported_local_files([f], root=tmp_path) == []
    assert time.perf_counter() - start < 1.0


def test_no_fifo_device_or_symlink_loop_is_read(tmp_path):
    import os

    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "__init__.py")
    (tmp_path / "loop").mkdir()
    os.symlink("__init__.py", tmp_path / "loop" / "__init__.py")
    (tmp_path / "dev").mkdir()
    os.symlink("/dev/zero", tmp_path / "dev" / "__init__.py")
    f = tmp_path / "t.py"
    f.write_text("import fifo\nimport loop\nimport dev\n")
    assert imported_local_files([f], root=tmp_path) == []
    assert imported_by_source(f.read_bytes(), f, root=tmp_path) == []


def test_src_layout_and_scripts_resolve_from_the_project_root_whatever_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "src" / "lib").mkdir(parents=True)
    (tmp_path / "src" / "lib" / "__init__.py").write_text("")
    (tmp_path / "src" / "lib" / "net.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model.py").write_text("")
    (tmp_path / "scripts").mkdir()
    f = tmp_path / "scripts" / "train.py"
    f.write_text("from lib.net import Net\nfrom pkg.model import Y\n")
    monkeypatch.chdir("/")
    found = {Path(p).resolve() for p in imported_local_files([f])}
    assert found == {(tmp_path / "src" / "lib" / "net.py").resolve(), (tmp_path / "pkg" / "model.py").resolve()}
