"""jupyter-lsp finds `nntutor lsp` with no configuration, and the packaging ships what it needs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
jupyter_lsp = pytest.importorskip("jupyter_lsp", reason="jupyter-lsp is not installed")


def test_spec_matches_jupyter_lsp_schema():
    from jupyter_lsp.schema import LANGUAGE_SERVER_SPEC_MAP, SPEC_VERSION

    from nntutor.jupyter.lsp_spec import spec

    specs = spec(None)
    errors = [e.message for e in LANGUAGE_SERVER_SPEC_MAP.iter_errors(specs)]
    assert errors == []
    s = specs["nntutor"]
    assert s["argv"] == [sys.executable, "-m", "nntutor", "lsp"]
    assert s["version"] == SPEC_VERSION
    assert s["languages"] == ["python"]
    assert {"text/x-python", "text/x-ipython"} <= set(s["mime_types"])
    assert s["requires_documents_on_disk"] is False


def test_language_server_manager_finds_nntutor_without_configuration():
    from jupyter_lsp import LanguageServerManager

    manager = LanguageServerManager()
    manager.initialize()
    assert "nntutor" in manager.language_servers
    assert manager.language_servers["nntutor"]["argv"][1:] == ["-m", "nntutor", "lsp"]


def test_entry_point_is_declared():
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="jupyter_lsp_spec_v1")}
    assert found.get("nntutor") == "nntutor.jupyter.lsp_spec:spec"


def test_priority_default_is_shipped_and_consistent():
    """jupyterlab-lsp picks one server per language by priority; ours beats the default 50."""
    from nntutor.jupyter.lsp_spec import PRIORITY

    overrides = json.loads((REPO / "jupyter-config/lab/settings/overrides.d/nntutor.json").read_text())
    servers = overrides["@jupyter-lsp/jupyterlab-lsp:plugin"]["language_servers"]
    assert servers["nntutor"]["priority"] == PRIORITY > 50
    shared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared["jupyter-config/lab/settings/overrides.d/nntutor.json"] == \
        "share/jupyter/lab/settings/overrides.d/nntutor.json"
    assert shared["jupyter-config/jupyter_server_config.d/nntutor.json"] == \
        "etc/jupyter/jupyter_server_config.d/nntutor.json"
    assert shared["server/nntutor/jupyter/labextension"] == "share/jupyter/labextensions/nntutor"
    config = json.loads((REPO / "jupyter-config/jupyter_server_config.d/nntutor.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"] == {"nntutor.jupyter": True}


def test_server_extension_points():
    import nntutor.jupyter as ext

    assert ext._jupyter_server_extension_points() == [{"module": "nntutor.jupyter"}]
    assert ext._jupyter_labextension_paths() == [{"src": "labextension", "dest": "nntutor"}]


def test_package_import_stays_light():
    """jupyter-lsp imports nntutor.jupyter at every server start: no ipywidgets, no tornado."""
    import subprocess

    code = ("import sys, nntutor.jupyter, nntutor.jupyter.lsp_spec; "
            "print(sorted(m for m in ('ipywidgets', 'tornado', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
