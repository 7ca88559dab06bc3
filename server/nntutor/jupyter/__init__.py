"""nntutor in Jupyter: server extension (REST for the sidebar), the prebuilt lab extension,
the `quiz()` ipywidget and the `%nntutor` magic.

Kept import-light: jupyter-lsp imports this package for the language-server spec at every
server start, so ipywidgets and the handlers are only imported when used.
"""
from __future__ import annotations


def _jupyter_server_extension_points():
    return [{"module": "nntutor.jupyter"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from .handlers import setup_handlers

    setup_handlers(serverapp.web_app)
    serverapp.log.info("nntutor: quiz API at %snntutor/api/", serverapp.base_url)


def _jupyter_labextension_paths():
    # For `jupyter labextension develop`; wheels ship the build through hatch shared-data.
    return [{"src": "labextension", "dest": "nntutor"}]


def load_ipython_extension(ipython) -> None:
    """`%load_ext nntutor.jupyter` registers `%nntutor demo NAME` (same as nntutor.demos.magic)."""
    from ..demos.magic import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from ..demos.magic import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name: str):
    # `from nntutor.jupyter import quiz` without importing ipywidgets at package import.
    if name == "quiz":
        from .widget import quiz

        return quiz
    raise AttributeError(name)
