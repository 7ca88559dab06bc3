"""jupyter-lsp spec for `nntutor lsp` (entry point `jupyter_lsp_spec_v1`).

Installing the package is the whole set-up: jupyter-lsp calls `spec()` at server start and
JupyterLab's LSP client then starts `python -m nntutor lsp` for Python notebooks and files.

Priority: jupyterlab-lsp uses ONE server per language, the one with the highest `priority`
(default 50; ties go alphabetically, so jedi-language-server would beat nntutor and nntutor
would beat pylsp/pyright). People install nntutor to get its teaching diagnostics, so we ship a
default of 60 in `share/jupyter/lab/settings/overrides.d/nntutor.json` (a per-package
JupyterLab settings default; the spec schema itself has no priority field). To get pylsp back,
set `language_servers.nntutor.priority` below 50 in Settings > Language Servers. jupyterlab-lsp
only applies a default priority to servers whose spec has a `config_schema`, hence the one here.
"""
from __future__ import annotations

import sys

SPEC_VERSION = 2  # jupyter_lsp.schema.SPEC_VERSION at the time of writing
PRIORITY = 60     # kept in sync with jupyter-config/overrides.d/nntutor.json (a test checks)

_RULE_IDS = {"type": "array", "items": {"type": "string"}}

# The settings `nntutor lsp` reads from workspace/didChangeConfiguration (see nntutor.config).
CONFIG_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "nntutor settings",
    "type": "object",
    "properties": {
        "nntutor.select": {**_RULE_IDS, "default": None, "type": ["array", "null"],
                           "description": "Rule ids or prefixes to run (null: every rule)."},
        "nntutor.ignore": {**_RULE_IDS, "default": [], "description": "Rule ids or prefixes to skip."},
        "nntutor.severity": {"type": "object", "default": {},
                             "additionalProperties": {"enum": ["error", "warning", "info", "hint"]},
                             "description": "Severity per rule id, e.g. {\"hardcoded-cuda\": \"hint\"}."},
        "nntutor.exclude": {**_RULE_IDS, "default": [], "description": "Glob patterns of paths to skip."},
    },
}


def spec(app) -> dict:
    """Called by jupyter_lsp's LanguageServerManager with itself as `app`."""
    return {
        "nntutor": {
            "argv": [sys.executable, "-m", "nntutor", "lsp"],
            "languages": ["python"],
            "mime_types": ["text/python", "text/x-python", "text/x-ipython"],
            "display_name": "nntutor",
            "version": SPEC_VERSION,
            # Notebooks arrive as one in-memory virtual document: no .virtual_documents/ folder.
            "requires_documents_on_disk": False,
            "urls": {
                "home": "https://github.com/nntutor/nntutor",
                "issues": "https://github.com/nntutor/nntutor/issues",
            },
            "install": {"pip": "pip install 'nntutor[jupyter]'"},
            "config_schema": CONFIG_SCHEMA,
            "env": {"PYTHONUNBUFFERED": "1"},
        }
    }
