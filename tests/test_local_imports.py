"""local_imports: the project's modules that checked files import, found on disk."""
import json
from pathlib import Path

from nntutor.local_imports import imported_local_files


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
