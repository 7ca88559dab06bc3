"""nntutor's language server: hovers that teach, diagnostics as you type, quick fixes, notebooks.

Thin adapter over the engine. Each open text document keeps one `Document` whose tree-sitter tree
is re-parsed incrementally on every change; analysis results are cached per document version.
Notebooks arrive two ways: LSP 3.17 notebook sync (VS Code: one text document per cell, joined
here) or one concatenated virtual document (jupyterlab-lsp), handled as text with IPython blanked.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..config import Config, load as load_config
from ..document import Document
from ..engine import analyze
from ..models import Workspace, index_classes
from ..notebook import Cell, blank_ipython
from . import actions
from .convert import DOCS_BASE, diagnostic

log = logging.getLogger("nntutor.lsp")
DEBOUNCE_S = 0.12
CONCEPTS_REQUEST = "nntutor/concepts"
QUIZ_ITEMS_REQUEST = "nntutor/quizItems"


class OpenNotebook:
    """A notebook synced cell by cell: its joined Document and the URI of each code cell."""

    def __init__(self, uri: str):
        self.uri = uri
        self.cell_uris: list[str] = []
        self.doc: Document | None = None


class NNTutorServer(LanguageServer):
    def __init__(self):
        super().__init__(
            "nntutor", __version__,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            notebook_document_sync=lsp.NotebookDocumentSyncOptions(
                notebook_selector=[lsp.NotebookDocumentFilterWithCells(
                    cells=[lsp.NotebookCellLanguage(language="python")], notebook="*")]),
        )
        self.docs: dict[str, Document] = {}
        self.notebooks: dict[str, OpenNotebook] = {}
        self.cell_owner: dict[str, str] = {}        # cell uri -> notebook uri
        self.results: dict[str, tuple[bytes, object]] = {}  # uri -> (analysed bytes, Analysis)
        self.base_config = Config()
        self.settings: dict = {}
        self.config = Config()
        self.model_index = Workspace()
        self.pending: dict[str, asyncio.Task] = {}
        self.push_diagnostics = True
        self.root: Path | None = None

    # -- configuration ------------------------------------------------------------------
    def apply_settings(self, settings) -> None:
        if isinstance(settings, dict) and isinstance(settings.get("nntutor"), dict):
            settings = settings["nntutor"]
        if not isinstance(settings, dict):
            settings = {}
        self.settings = {k: v for k, v in settings.items() if k in ("select", "ignore", "severity", "exclude")}
        self.config = self.base_config.merged(self.settings) if self.settings else self.base_config
        for problem in self.config.problems:
            log.warning("settings: %s", problem)

    # -- documents -------------------------------------------------------------------------
    def analysis(self, uri: str):
        doc = self.doc_for(uri)
        if doc is None:
            return None, None
        key = self.owner(uri)
        cached = self.results.get(key)
        if cached is not None and cached[0] is doc.data:  # same bytes object = same version
            return doc, cached[1]
        result = analyze(doc, self.config, self.model_index)
        self.results[key] = (doc.data, result)
        return doc, result

    def owner(self, uri: str) -> str:
        return self.cell_owner.get(uri, uri)

    def doc_for(self, uri: str) -> Document | None:
        nb = self.cell_owner.get(uri)
        if nb is not None:
            return self.notebooks[nb].doc
        if uri in self.notebooks:
            return self.notebooks[uri].doc
        return self.docs.get(uri)

    def rebuild_notebook(self, nb_uri: str) -> None:
        nb = self.notebooks.get(nb_uri)
        notebook = self.workspace.get_notebook_document(notebook_uri=nb_uri)
        if nb is None or notebook is None:
            return
        cells, uris = [], []
        for i, cell in enumerate(notebook.cells):
            if cell.kind != lsp.NotebookCellKind.Code:
                continue
            try:
                text = self.workspace.get_text_document(cell.document).source
            except Exception:  # a corrupt or missing cell: analyse the rest
                text = ""
            cells.append(Cell(index=len(uris), source=text))
            uris.append(cell.document)
        for u in nb.cell_uris:
            self.cell_owner.pop(u, None)
        nb.cell_uris = uris
        for u in uris:
            self.cell_owner[u] = nb_uri
        version = (nb.doc.version + 1) if nb.doc is not None else 0
        nb.doc = Document.from_cells(cells, path=_path_of(nb_uri), version=version)

    def schedule(self, uri: str, delay: float = DEBOUNCE_S) -> None:
        """Debounced diagnostics: the latest version wins, stale results are never published."""
        key = self.owner(uri)
        task = self.pending.pop(key, None)
        if task is not None:
            task.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.publish(key)
            return
        self.pending[key] = loop.create_task(self._publish_later(key, delay))

    async def _publish_later(self, key: str, delay: float):
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        self.pending.pop(key, None)
        self.publish(key)

    def publish(self, key: str) -> None:
        if not self.push_diagnostics:
            return
        doc = self.doc_for(key)
        if doc is None:
            return
        version = doc.version
        _, result = self.analysis(key)
        if self.doc_for(key) is not doc or doc.version != version:
            return  # changed while we worked: a newer pass is scheduled
        if key in self.notebooks:
            for cell_uri, diags in self.cell_diagnostics(key, result).items():
                self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(cell_uri, diags))
        else:
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
                key, self.diagnostics(key, result), version=version if key in self.docs else None))
        self.index_models(key, doc)

    def diagnostics(self, uri: str, result) -> list[lsp.Diagnostic]:
        def uri_of(loc):
            return uri if loc.path == result.path else Path(loc.path).resolve().as_uri()

        return [diagnostic(f, uri_of) for f in result.findings]

    def cell_diagnostics(self, nb_uri: str, result) -> dict[str, list[lsp.Diagnostic]]:
        nb = self.notebooks[nb_uri]
        out: dict[str, list] = {u: [] for u in nb.cell_uris}

        def uri_of(loc):
            if loc.path == result.path and loc.cell is not None and loc.cell < len(nb.cell_uris):
                return nb.cell_uris[loc.cell]
            return Path(loc.path).resolve().as_uri()

        for f in result.findings:
            if f.location.cell is not None and f.location.cell < len(nb.cell_uris):
                out[nb.cell_uris[f.location.cell]].append(diagnostic(f, uri_of, in_cell=True))
        return out

    def index_models(self, key: str, doc: Document) -> None:
        if b"class " in doc.data:
            self.model_index.add_file(doc.path, index_classes(doc.facts))

    def index_workspace(self) -> None:
        """Index model classes of the workspace's files (cross-file facts), bounded and safe."""
        if self.root is None or not self.root.is_dir():
            return
        from ..project import _may_define_models, discover

        found = discover([str(self.root)], self.base_config)
        for path in found.files[:3000]:
            if path.suffix != ".py" or not _may_define_models(path):
                continue
            try:
                doc = Document.from_path(path)
                self.model_index.add_file(doc.path, {k: v.summary() for k, v in index_classes(doc.facts).items()})
            except Exception as exc:  # unreadable file: skip it, keep indexing
                log.info("index: skipped %s: %s", path, exc)


def _path_of(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def _is_virtual_notebook(uri: str) -> bool:
    return uri.endswith(".ipynb") or ".virtual_documents" in uri or ".ipynb." in uri


def _prepare(uri: str, text: str) -> bytes:
    data = text.encode("utf-8", errors="surrogatepass")
    return blank_ipython(data) if _is_virtual_notebook(uri) else data


server = NNTutorServer()


@server.feature(lsp.INITIALIZE)
def initialize(ls: NNTutorServer, params: lsp.InitializeParams):
    caps = params.capabilities.text_document
    # Clients that pull diagnostics (textDocument/diagnostic) get them that way only, so they
    # are not shown twice.
    ls.push_diagnostics = not (caps is not None and caps.diagnostic is not None)
    root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
    if root:
        ls.root = Path(_path_of(root))
        ls.base_config = load_config(ls.root)
    ls.apply_settings(params.initialization_options or {})


@server.feature(lsp.INITIALIZED)
async def initialized(ls: NNTutorServer, params):
    loop = asyncio.get_running_loop()
    # Warm the catalog and index models off the event loop: the first hover is then a lookup.
    from ..content import catalog

    await loop.run_in_executor(None, catalog)
    await loop.run_in_executor(None, ls.index_workspace)


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: NNTutorServer, params: lsp.DidChangeConfigurationParams):
    ls.apply_settings(params.settings or {})
    ls.results.clear()
    for uri in list(ls.docs) + list(ls.notebooks):
        ls.schedule(uri, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: NNTutorServer, params: lsp.DidOpenTextDocumentParams):
    item = params.text_document
    if item.uri in ls.cell_owner:
        return
    ls.docs[item.uri] = Document(_prepare(item.uri, item.text), _path_of(item.uri), version=item.version)
    ls.schedule(item.uri, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: NNTutorServer, params: lsp.DidChangeTextDocumentParams):
    uri = params.text_document.uri
    nb_uri = ls.cell_owner.get(uri)
    if nb_uri is not None:  # a cell edited outside notebook sync
        ls.rebuild_notebook(nb_uri)
        ls.schedule(nb_uri)
        return
    doc = ls.docs.get(uri)
    if doc is None:
        return
    virtual = _is_virtual_notebook(uri)
    for change in params.content_changes:
        if isinstance(change, lsp.TextDocumentContentChangePartial) and not virtual:
            idx = doc.index
            start = idx.offset_of_utf16(change.range.start.line, change.range.start.character)
            end = idx.offset_of_utf16(change.range.end.line, change.range.end.character)
            if end < start:
                start, end = end, start
            doc.edit(start, end, change.text.encode("utf-8", errors="surrogatepass"))
        elif isinstance(change, lsp.TextDocumentContentChangePartial):
            # Virtual notebooks need IPython blanking of whole lines: apply the edit, re-blank.
            text = ls.workspace.get_text_document(uri).source
            doc.replace(_prepare(uri, text))
            break
        else:
            doc.replace(_prepare(uri, change.text))
    doc.version = params.text_document.version
    ls.schedule(uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: NNTutorServer, params: lsp.DidCloseTextDocumentParams):
    uri = params.text_document.uri
    if uri in ls.cell_owner:
        return
    ls.docs.pop(uri, None)
    ls.results.pop(uri, None)
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    if ls.push_diagnostics:
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))


@server.feature(lsp.NOTEBOOK_DOCUMENT_DID_OPEN)
def nb_open(ls: NNTutorServer, params: lsp.DidOpenNotebookDocumentParams):
    uri = params.notebook_document.uri
    ls.notebooks[uri] = OpenNotebook(uri)
    ls.rebuild_notebook(uri)
    ls.schedule(uri, 0)


@server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CHANGE)
def nb_change(ls: NNTutorServer, params: lsp.DidChangeNotebookDocumentParams):
    uri = params.notebook_document.uri
    if uri not in ls.notebooks:
        ls.notebooks[uri] = OpenNotebook(uri)
    old = set(ls.notebooks[uri].cell_uris)
    ls.rebuild_notebook(uri)
    if ls.push_diagnostics:
        for gone in old - set(ls.notebooks[uri].cell_uris):
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(gone, []))
    ls.schedule(uri)


@server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CLOSE)
def nb_close(ls: NNTutorServer, params: lsp.DidCloseNotebookDocumentParams):
    nb = ls.notebooks.pop(params.notebook_document.uri, None)
    ls.results.pop(params.notebook_document.uri, None)
    if nb is not None:
        for u in nb.cell_uris:
            ls.cell_owner.pop(u, None)
            if ls.push_diagnostics:
                ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(u, []))


@server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC,
                lsp.DiagnosticOptions(identifier="nntutor", inter_file_dependencies=True,
                                      workspace_diagnostics=False))
def pull_diagnostics(ls: NNTutorServer, params: lsp.DocumentDiagnosticParams):
    uri = params.text_document.uri
    doc, result = ls.analysis(uri)
    if doc is None:
        return lsp.RelatedFullDocumentDiagnosticReport(items=[])
    key = ls.owner(uri)
    if key in ls.notebooks:
        items = ls.cell_diagnostics(key, result).get(uri, [])
    else:
        items = ls.diagnostics(uri, result)
    return lsp.RelatedFullDocumentDiagnosticReport(items=items, result_id=str(doc.version))


def _offset(ls: NNTutorServer, uri: str, pos: lsp.Position):
    """(document, byte offset) of an LSP position in a text document or a notebook cell."""
    doc = ls.doc_for(uri)
    if doc is None:
        return None, None
    line = pos.line
    nb_uri = ls.cell_owner.get(uri)
    if nb_uri is not None:
        nb = ls.notebooks[nb_uri]
        vline = doc.cell_map.virtual_line(nb.cell_uris.index(uri), line) if doc.cell_map else None
        if vline is None:
            return None, None
        line = vline
    return doc, doc.index.offset_of_utf16(line, pos.character)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: NNTutorServer, params: lsp.HoverParams):
    from ..content import catalog
    from ..hover import render, target_at

    doc, offset = _offset(ls, params.text_document.uri, params.position)
    if doc is None:
        return None
    cat = catalog()
    target = target_at(doc, cat, offset)
    if target is None:
        return None
    in_cell = params.text_document.uri in ls.cell_owner
    from .convert import byte_range_to_lsp

    _, rng = byte_range_to_lsp(doc, target.node.start_byte, target.node.end_byte, in_cell)
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown,
                                                value=render(cat, target, doc, DOCS_BASE)),
                     range=rng)


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
def code_action(ls: NNTutorServer, params: lsp.CodeActionParams):
    return actions.code_actions(ls, params)


@server.feature(CONCEPTS_REQUEST)
def concepts_request(ls: NNTutorServer, params):
    from ..content import catalog
    from ..hover import concepts_in

    uri = _get(_get(params, "textDocument") or {}, "uri") or _get(params, "uri")
    doc, result = ls.analysis(uri) if uri else (None, None)
    if doc is None:
        return {"concepts": [], "rules": []}
    cat = catalog()
    found = concepts_in(doc, cat)
    for f in result.findings:  # diagnostics raised teach their concept too
        found.setdefault(f.concept, []).append(f.location.line)
    concepts = []
    for cid, lines in found.items():
        c = cat.concepts.get(cid)
        if c is None:
            continue
        concepts.append({"id": c.id, "title": c.title, "summary": c.summary,
                         "quiz": [q.id for q in c.quiz], "lines": sorted(set(lines)), "demo": c.demo})
    return {"concepts": concepts, "rules": sorted({f.rule for f in result.findings})}


@server.feature(QUIZ_ITEMS_REQUEST)
def quiz_items_request(ls: NNTutorServer, params):
    from ..content import catalog

    cat = catalog()
    ids = _get(params, "ids") or []
    return {"items": [cat.quiz[i].to_json(cat.questions) for i in ids if isinstance(i, str) and i in cat.quiz]}


def _get(obj, key):
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def run(log_file: Path | None = None) -> None:
    logging.basicConfig(filename=str(log_file) if log_file else None,
                        level=logging.INFO if log_file else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server.start_io()
