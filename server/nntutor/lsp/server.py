"""nntutor's language server: hovers that teach, diagnostics as you type, quick fixes, notebooks.

Thin adapter over the engine. Each open text document keeps one `Document` whose tree-sitter tree
is re-parsed incrementally on every change; analysis results are cached per document version.
Notebooks arrive two ways: LSP 3.17 notebook sync (VS Code: one text document per cell, joined
here) or one concatenated virtual document (jupyterlab-lsp), handled as text with IPython blanked.

Edits are applied on the event loop; analyses run on a snapshot of a version in one worker thread
(`analysis_pool`), so hovers and edits are answered while a big file is analysed. A result is
published only if the document is still at that version (else the change that made it stale has
scheduled a newer pass). Facts are computed once per version and shared by the analysis and
hovers; a hover never re-analyses.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import gc
import importlib
import json
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlparse

import attrs
from lsprotocol import types as lsp
from pygls import IS_WASM
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCProtocol, LanguageServerProtocol, lsp_method

from .. import __version__, scoped
from ..config import Config, ConfigTree, matches_patterns
from ..document import Document
from ..engine import Cancelled, analyze
from ..findings import Analysis
from ..models import Workspace, file_summary, index_classes
from ..notebook import Cell, blank_ipython
from ..source import apply_utf16_change
from . import actions, startup, stdio
from .convert import DOCS_BASE, diagnostic, diagnostic_json

log = logging.getLogger("nntutor.lsp")
# Debounce: a pass that costs up to IMMEDIATE_COST_S starts at once on every edit; an edit that
# lands while it runs stops it between two rules (engine.analyze's `cancelled`), so the last
# keystroke's diagnostics come one pass after it. Dearer passes (files of many thousand lines)
# wait, while edits keep coming, as long as the last pass on this document took (COST_FACTOR x
# its cost, at least LEADING_S, at most MAX_DEBOUNCE_S): not a pass per keystroke only to throw
# it away. Before a document's first pass its cost is estimated from its length.
DEFAULT_COST_RATE = 1e-6  # s per byte before the first pass (~0.12 s for the 3,000-line bench file)
LEADING_S = 0.0     # shortest wait (one turn of the event loop); also for a lone edit after a pause
IDLE_S = 0.4        # ... where a pause is this long without edits
COST_FACTOR = 1.0
IMMEDIATE_COST_S = 0.3  # passes this cheap are not debounced (about 8,000 lines here)
MAX_DEBOUNCE_S = 1.5
# A pass over the part of a file that a code edit can change (nntutor.scoped) is published at
# once; a whole-file pass confirms it once edits pause this long, and is published if it differs.
# The whole text's facts (for hovers; the scoped pass computes only its slice's) come first,
# once edits pause FACTS_S: that step cannot stop half-way, so not in a burst of typing.
CONFIRM_S = 1.0
FACTS_S = 0.5
# A scoped pass expected to take at most this long runs on the event loop itself, when no
# analysis is queued or running: handing it to the analysis thread and the result back wakes two
# idle threads, each maybe on a core that idled since the last keystroke (a small gain, measured
# in docs/design.md). A hover or edit arriving meanwhile waits at most about this long.
INLINE_SCOPED_S = 0.02
SWITCH_INTERVAL_S = 0.0005  # GIL hand-over to the event loop while a pass runs (start_io)
INDEX_FILES = 3000  # files of the workspace folders parsed for model classes, at most
WATCH_REGISTRATION_S = 10.0  # how long `initialized` waits for the client to accept file watchers
CONCEPTS_REQUEST = "nntutor/concepts"
QUIZ_ITEMS_REQUEST = "nntutor/quizItems"


PYTHON_CELL_LANGUAGES = {"python", "python3", "ipython", "py"}


class _CountingPool(ThreadPoolExecutor):
    """A thread pool that knows how many of its jobs are queued or running (`jobs`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.jobs = 0
        self._jobs_lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        with self._jobs_lock:
            self.jobs += 1

        def run():
            try:
                return fn(*args, **kwargs)
            finally:
                with self._jobs_lock:
                    self.jobs -= 1
        try:
            return super().submit(run)
        except BaseException:   # shut down: never queued
            with self._jobs_lock:
                self.jobs -= 1
            raise


class _Unreadable:
    """A message whose params did not fit the method's type (pygls raises while decoding it)."""

    def __init__(self, data: dict, error: Exception):
        self.id, self.method, self.error = data.get("id"), data.get("method"), error


class _Protocol(LanguageServerProtocol):
    """pygls' protocol with the few places where it trusts the client too much made robust."""

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            # pygls would log it and pop up "Error in server" but never answer the request, so
            # the client would wait for ever. Answer it (InvalidParams) or drop the notification.
            if isinstance(data, dict) and isinstance(data.get("method"), str):
                return _Unreadable(data, exc)
            raise

    def handle_message(self, message):
        if isinstance(message, _Unreadable):
            if message.id is not None:
                error = message.error if isinstance(message.error, JsonRpcInvalidParams) else \
                    JsonRpcInvalidParams(f"invalid params for {message.method}")
                self._send_response(message.id, None, error.to_response_error())
            else:
                log.warning("ignored %s notification with invalid params", message.method)
            return
        if type(message) in _request_classes() and message.jsonrpc == JsonRPCProtocol.VERSION \
                and not self._shutdown:
            # What pygls does with a request, less its runtime-checkable Protocol isinstance
            # test (RPCRequest), which walks the Protocol's attributes on every message: ~20 us
            # of the ~150 us of CPU a hover took in handle_message here. An lsprotocol request
            # class has the fields RPCRequest asks for on every instance, so its class decides.
            contextvars.copy_context().run(self._handle_request, message.id, message.method, message.params)
            return None
        return super().handle_message(message)

    @lsp_method(lsp.INITIALIZE)
    def lsp_initialize(self, params: lsp.InitializeParams):
        # Every position this server computes is UTF-16 (LSP's mandatory encoding). pygls would
        # otherwise pick the client's first preference (Neovim >= 0.10 offers utf-8 first) and
        # advertise it, and every column after a non-ASCII character would be off.
        general = params.capabilities.general if params.capabilities is not None else None
        if general is not None and general.position_encodings:
            general.position_encodings = [lsp.PositionEncodingKind.Utf16]
        return (yield from super().lsp_initialize(params))

    # Text documents are kept by the server itself (`NNTutorServer.docs`), not in pygls'
    # workspace: pygls' incremental update does not clamp a character past the line's end (it
    # runs on into the next line, against the LSP spec) and rewrites the change's range in place,
    # so the server's own copy would see a different edit. Notebook cells stay in the workspace
    # (with their notebook), updated by `_apply_to_workspace` below.
    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams):
        # A cell edited with plain didChange (outside notebook sync) updates its workspace copy.
        self._apply_to_workspace(params.text_document, params.content_changes)
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    def _apply_to_workspace(self, ident: lsp.VersionedTextDocumentIdentifier, changes) -> bool:
        ws = self.workspace
        td = ws.text_documents.get(_unquote(ident.uri))
        if td is None:
            return False
        text = apply_changes(td.source, changes)
        # (put keeps the cell's link to its notebook)
        ws.put_text_document(lsp.TextDocumentItem(uri=ident.uri, language_id=td.language_id or "python",
                                                  version=ident.version, text=text))
        return True

    @lsp_method(lsp.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def lsp_notebook_document__did_change(self, params: lsp.DidChangeNotebookDocumentParams):
        """pygls' update, but a change naming an unknown notebook or cell cannot abort the rest."""
        ws = self.workspace
        notebook = ws.notebook_documents.get(_unquote(params.notebook_document.uri))
        if notebook is None:
            log.warning("didChange for notebook %s, which is not open: ignored", params.notebook_document.uri)
            return
        notebook.version = params.notebook_document.version
        change = params.change
        if change.metadata:
            notebook.metadata = change.metadata
        cells = change.cells
        if cells is not None:
            by_uri = {c.document: c for c in notebook.cells}
            for data in cells.data or []:
                cell = by_uri.get(data.document)
                if cell is not None:
                    cell.kind, cell.metadata, cell.execution_summary = (
                        data.kind, data.metadata, data.execution_summary)
            if cells.structure:
                array = cells.structure.array
                start = max(0, min(array.start, len(notebook.cells)))
                notebook.cells = [*notebook.cells[:start], *(array.cells or []),
                                  *notebook.cells[start + max(0, array.delete_count):]]
                for item in cells.structure.did_open or []:
                    ws.put_text_document(item, notebook_uri=notebook.uri)
                for gone in cells.structure.did_close or []:
                    ws.remove_text_document(gone.uri)
            for content in cells.text_content or []:
                if not self._apply_to_workspace(content.document, content.changes):
                    log.warning("notebook change for unknown cell %s: ignored", content.document.uri)
        if (handler := self.fm.features.get(lsp.NOTEBOOK_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    early = None  # lsp/early.py, until pygls' answer to `initialize` is settled with it

    def _send_data(self, data):
        early = self.early
        if early is not None and early.request_id is not None \
                and getattr(data, "id", None) == early.request_id and not hasattr(data, "method"):
            # pygls' answer to `initialize`: the client may have it already (lsp/early.py)
            self.early = None
            response = json.loads(json.dumps(data, default=self._serialize_message))
            if not early.settle(response):
                super()._send_data(data)
            for problem in early.problems:
                log.warning("%s", problem)
            if early.stale:  # written after the answer is out, off the event loop
                asyncio.get_running_loop().run_in_executor(None, early.remember, response)
            return
        super()._send_data(data)

    def _send_response(self, msg_id, result=None, error=None):
        # A plain result (None, or the dicts hover and the nntutor/* requests build): the very
        # bytes pygls would write, without its detour through a JsonRPCResponseMessage that
        # cattrs then copies, dict by dict, back into a plain dict (~20 us per hover here).
        if error is None and (result is None or type(result) is dict) and msg_id not in self._result_types:
            self._send_data({"id": msg_id, "jsonrpc": JsonRPCProtocol.VERSION, "result": result})
            return
        super()._send_response(msg_id, result, error)

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):
        # pygls files the future of every generator/async *notification* (didOpen, didChange ...)
        # in `_request_futures` under a fresh uuid and never removes it: one leaked entry per
        # keystroke. Drop it once the notification is handled.
        if getattr(callback, "__func__", None) is JsonRPCProtocol._check_handler_result:
            check = callback

            def callback(future, msg_id=msg_id):
                if not future.cancelled():  # cancelled: by shutdown, which iterates the dict
                    self._request_futures.pop(msg_id, None)
                check(future)
        return super()._execute_handler(msg_id, handler, callback, args, kwargs)


@functools.cache
def _request_classes() -> frozenset:
    """lsprotocol's request message classes (id, method, jsonrpc and params fields)."""
    return frozenset(types[0] for types in lsp.METHOD_TO_TYPES.values()
                     if attrs.has(types[0]) and {"id", "method", "jsonrpc", "params"} <= set(attrs.fields_dict(types[0])))


def _unquote(uri: str) -> str:
    return unquote(uri)



def apply_changes(text: str, changes) -> str:
    """Apply LSP content changes (ranged or full) to a text, in order."""
    for change in changes:
        if isinstance(change, lsp.TextDocumentContentChangePartial):
            r = change.range
            text = apply_utf16_change(text, (r.start.line, r.start.character),
                                      (r.end.line, r.end.character), change.text)
        else:
            text = change.text
    return text


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
            protocol_cls=_Protocol,
            converter_factory=startup.converter,
        )
        self.docs: dict[str, Document] = {}
        self.raw_texts: dict[str, str] = {}   # virtual notebooks: the text before IPython blanking
        self.notebooks: dict[str, OpenNotebook] = {}
        self.cell_owner: dict[str, str] = {}        # cell uri -> notebook uri
        self.results: dict[str, tuple[bytes, object]] = {}  # uri -> (analysed bytes, Analysis)
        # The last analysed version of each document, for the next pass to re-analyse only what
        # an edit can change: uri -> (generation, scoped.Version, its Analysis).
        self.priors: dict[str, tuple[int, scoped.Version, Analysis]] = {}
        self.unit_index = scoped.UnitIndex()
        self.scoped_passes = True   # setting `scopedAnalysis` (false: whole-file passes only)
        # uri -> the bytes whose cached analysis came from such a pass, still to be confirmed
        self.provisional: dict[str, bytes] = {}
        # seconds the last pass took, when it was scoped (none since): what the next edit is
        # expected to cost, for the debounce
        self.scoped_costs: dict[str, float] = {}
        self.confirming: dict[str, asyncio.Task] = {}
        # Bumped when settings or the model index change under running analyses: a result
        # computed before the bump is never cached (nor published).
        self.generation = 0
        # Each document's [tool.nntutor] (the nearest pyproject.toml with the table, as
        # `nntutor check` resolves it), read when first needed; the editor's settings on top.
        self.settings: dict = {}
        self.config_tree = ConfigTree()
        self.model_index = Workspace()
        self.pending: dict[str, asyncio.Task] = {}
        # Seconds per byte the last analysis of a document took (a finished pass), or at least
        # took (a pass cancelled by the next edit): `pass_cost` scales it to the current text,
        # so a paste that makes the file ten times longer is debounced at once.
        self.cost_rates: dict[str, float] = {}
        self.cost_floors: dict[str, float] = {}   # since the last finished pass, per byte
        self.last_change: dict[str, float] = {}  # monotonic time of the last edit per document
        # One analysis at a time, off the event loop (but see INLINE_SCOPED_S).
        self.analysis_pool = _CountingPool(max_workers=1, thread_name_prefix="nntutor-analysis")
        # Hovers wait here for the facts of a version (computed once, shared with the analysis).
        self.facts_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nntutor-facts")
        self.push_diagnostics = True
        self.root: Path | None = None          # the first workspace folder
        self.folders: list[Path] = []          # every workspace folder (model classes are indexed in all)
        self.indexed_paths: set[str] = set()   # open documents whose model classes are indexed
        # Start-up measures (see `run` and cli._lsp), ended once `initialize` is answered.
        self.code_cache = None
        self.early = None   # lsp/early.py: the first message, read (and maybe answered) already

    def end_startup(self) -> None:
        """Restore `compile` (saving the code cache) and freeze everything allocated so far: the
        ~570 lsprotocol classes and the rest of start-up live as long as the server, so later
        collections need not scan them."""
        cache, self.code_cache = self.code_cache, None
        if cache is not None:
            cache.close()
            log.info("code cache: %d hits, %d misses%s%s", cache.hits, cache.misses,
                     ", saved" if cache.saved else "",
                     f"; {cache.load_error or cache.save_error}" if cache.load_error or cache.save_error else "")
        gc.freeze()  # start-up objects live as long as the server: later collections skip them

    def start_io(self, stdin=None, stdout=None):
        """pygls' stdio server, reading stdin on the event loop where it can (lsp/stdio.py)."""
        stdin = stdin or sys.stdin.buffer
        stdout = stdout or sys.stdout.buffer
        # The analysis thread holds the GIL for hundreds of ms on a big file. A hover that
        # arrives meanwhile needs the GIL several times (read, decode, answer, write), each
        # time waiting out the switch interval (5 ms by default): 6-25 ms per hover. A short
        # interval costs nothing while only one thread runs (no switch is requested then).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        early, self.early = self.early, None
        prefix = early.handover() if early is not None else b""
        if early is not None:
            self.protocol.early = early
            for problem in early.problems:
                log.warning("%s", problem)
            log.info("initialize %s", "answered early" if early.sent is not None else
                     "read early (no remembered answer)" if early.request_id is not None else "not read early")
            early.problems.clear()
        if IS_WASM or not stdio.loop_readable(stdin, stdout):
            log.info("stdin: read by pygls' reader thread")
            if prefix:  # (early.start only reads where loop_readable holds: never the case)
                raise RuntimeError("stdin was read early but cannot be read on the event loop")
            return super().start_io(stdin, stdout)
        log.info("stdin: read on the event loop")
        # pygls.server.JsonRPCServer._start_io_async, with the reader swapped
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout))
        try:
            asyncio.run(run_async(stop_event=self._stop_event, reader=stdio.PipeReader(stdin, prefix=prefix),
                                  protocol=self.protocol, logger=logging.getLogger("pygls.server"),
                                  error_handler=self.report_server_error))
        except BrokenPipeError:
            log.error("Connection to the client is lost! Shutting down the server.")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    # -- configuration ------------------------------------------------------------------
    def apply_settings(self, settings) -> None:
        if isinstance(settings, dict) and isinstance(settings.get("nntutor"), dict):
            settings = settings["nntutor"]
        elif isinstance(settings, dict) and any(str(k).startswith("nntutor.") for k in settings):
            # flat, as a settings editor stores them (`"nntutor.select": [...]`)
            settings = {k[len("nntutor."):]: v for k, v in settings.items() if str(k).startswith("nntutor.")}
        if not isinstance(settings, dict):
            settings = {}
        # An empty list or table means "not set": editors send their settings' defaults (VS Code:
        # `{"select": [], "ignore": [], "severity": {}}`), and `select = []` would turn every
        # rule off. (To run nothing, a user can ignore ["ALL"].)
        self.settings = {k: v for k, v in settings.items()
                         if k in ("select", "ignore", "severity", "exclude") and v not in ([], {}, None, "")}
        self.scoped_passes = settings.get("scopedAnalysis") is not False
        self.config_tree = ConfigTree(self.settings)
        for problem in self.config_for(None).problems:
            log.warning("settings: %s", problem)

    def config_for(self, path: str | Path | None) -> Config:
        """The config a document is analysed with: the [tool.nntutor] nearest to it, as
        `nntutor check` would use, with the editor's settings on top (an untitled buffer gets
        the root folder's)."""
        if path is None or not Path(path).is_absolute():
            path = self.root
        return self.config_tree.for_path(path if path is not None else Path.cwd())

    def reload_configs(self) -> bool:
        """Read the pyproject.toml files again (one changed on disk); True if a document already
        analysed would now get other settings."""
        fresh = ConfigTree(self.settings)
        changed = self.config_tree.differs(fresh)
        self.config_tree = fresh
        return changed

    # -- documents -------------------------------------------------------------------------
    def analysis(self, uri: str):
        doc = self.doc_for(uri)
        if doc is None:
            return None, None
        key = self.owner(uri)
        cached = self.results.get(key)
        if cached is not None and cached[0] is doc.data:  # same bytes object = same version
            return doc, cached[1]
        result = self.analyze(doc)
        self.results[key] = (doc.data, result)
        return doc, result

    def analyze(self, doc: Document, cancelled=None):
        """Index this version's model classes first (so the workspace never answers for this
        document with classes of an older version of it), then analyse; no findings for a
        document the settings exclude or for library code. `cancelled`: see engine.analyze."""
        self.index_models(doc)
        if self.excluded(doc.path):
            return Analysis(doc.path)
        return analyze(doc, self.config_for(doc.path), self.model_index, cancelled)

    def excluded(self, path: str) -> bool:
        """`exclude` (settings, [tool.nntutor]) matched against the path relative to the workspace
        root, as `nntutor check .` would (its default folders, .venv, build ..., too); and any
        installed package (site-packages): library code opened by "go to definition" is not the
        user's to fix."""
        p = Path(path)
        if not p.is_absolute():
            return False  # an untitled buffer
        if "site-packages" in p.parts or "dist-packages" in p.parts:
            return True
        folder = self.folder_of(p)
        if folder is None:
            return False  # outside the workspace: its patterns say nothing about it
        config = self.config_for(p)
        base = config.folder if config.folder is not None and p.is_relative_to(config.folder) else folder
        # The editor's patterns are the workspace's: matched from the workspace folder, while a
        # pyproject.toml's own patterns are matched from that file's folder (as `nntutor check`).
        editor = set(self.editor_exclude())
        own = Config(exclude=[x for x in config.exclude if x not in editor])
        return own.excluded(p.relative_to(base)) or matches_patterns(sorted(editor), p.relative_to(folder))

    def editor_exclude(self) -> list[str]:
        if "exclude" not in self.settings:
            return []
        return Config().merged({"exclude": self.settings["exclude"]}).exclude

    def folder_of(self, path: Path) -> Path | None:
        """The innermost workspace folder holding `path`, or None."""
        holders = [f for f in self.folders or ([self.root] if self.root else []) if path.is_relative_to(f)]
        return max(holders, key=lambda f: len(f.parts)) if holders else None

    async def analysis_async(self, uri: str):
        """(snapshot, analysis of that snapshot) computed off the event loop. For a notebook
        cell, also the cell URIs the snapshot's cell indices refer to."""
        for _ in range(3):
            doc = self.doc_for(uri)
            if doc is None:
                return None, None, []
            key = self.owner(uri)
            cells = list(self.notebooks[key].cell_uris) if key in self.notebooks else []
            cached = self.results.get(key)
            if cached is not None and cached[0] is doc.data:
                return doc.snapshot(), cached[1], cells
            snap, generation = doc.snapshot(), self.generation
            result = await asyncio.get_running_loop().run_in_executor(
                self.analysis_pool, self.analyze, snap)
            if self.generation != generation:
                continue  # settings changed meanwhile: again, with the new ones
            if self.doc_for(uri) is doc and doc.data is snap.data:
                doc.adopt(snap)
                self.results[key] = (doc.data, result)
                return snap, result, cells
            if key not in self.notebooks:
                return snap, result, cells  # the version the request was made against
            # a notebook changed meanwhile (cells may have moved): try again on the new one
        doc, result = self.analysis(uri)
        key = self.owner(uri)
        return doc, result, list(self.notebooks[key].cell_uris) if key in self.notebooks else []

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
        texts = self.workspace.text_documents
        for cell in notebook.cells:
            if cell.kind != lsp.NotebookCellKind.Code:
                continue
            # Only cells whose text the client sent (not `get_text_document`, which would read
            # the cell URI's path from disk: the .ipynb JSON itself) and that are Python.
            td = texts.get(_unquote(cell.document))
            if td is None:
                log.warning("notebook %s: cell %s has no text document: skipped", nb_uri, cell.document)
                continue
            if td.language_id and td.language_id.lower() not in PYTHON_CELL_LANGUAGES:
                continue
            cells.append(Cell(index=len(uris), source=td.source))
            uris.append(cell.document)
        for u in nb.cell_uris:
            self.cell_owner.pop(u, None)
        nb.cell_uris = uris
        for u in uris:
            self.cell_owner[u] = nb_uri
        version = (nb.doc.version + 1) if nb.doc is not None else 0
        old = nb.doc
        nb.doc = Document.from_cells(cells, path=_path_of(nb_uri), version=version, previous=old)
        if old is not None:
            self.carry_over(nb_uri, old, nb.doc)

    def carry_over(self, key: str, before: Document, after: Document) -> None:
        """`after` is `before` edited. If the analysis of `before` is cached and the edit only
        touched comments or blank space (nntutor.incremental decides, soundly), cache that
        analysis moved onto `after`: no pass is needed for this version."""
        cached = self.results.get(key)
        if cached is None or cached[0] is not before.data:
            return
        from ..incremental import reuse

        # Its model classes, indexed for other documents, have their locations moved with the
        # analysis (re-indexing them from scratch took ~20 ms at 3,000 lines, holding the GIL
        # while the event loop sent the diagnostics of this very edit).
        classes = [c for found in self.model_index.by_name.values() for c in found if c.path == after.path] \
            if after.path in self.indexed_paths else []
        try:
            moved = reuse(before, after, cached[1], classes)
        except Exception:  # a bug here must not cost more than the full pass it would save
            log.exception("reusing the analysis of %s failed", key)
            return
        if moved is None:
            return
        self.results[key] = (after.data, moved)

    def schedule(self, uri: str, delay: float | None = None) -> None:
        """Debounced diagnostics: the latest version wins, stale results are never published.
        The pause waited for grows with what the last pass on this document cost, so typing in
        a huge file does not start a pass per keystroke only to throw it away."""
        key = self.owner(uri)
        if delay is None:
            now = time.monotonic()
            idle = now - self.last_change.get(key, float("-inf")) > IDLE_S
            self.last_change[key] = now
            doc, cached = self.doc_for(key), self.results.get(key)
            if doc is not None and cached is not None and cached[0] is doc.data:
                delay = 0  # carried over from the previous version (`carry_over`): just send it
            elif idle and key not in self.pending:
                delay = LEADING_S  # first edit after a pause: answer at once (leading edge)
            else:
                cost = self.pass_cost(key, doc)
                if self.scoped_costs.get(key, float("inf")) <= IMMEDIATE_COST_S:
                    # the last pass re-analysed only what its edit could reach: the next edit,
                    # most likely in the same function, is as cheap (if not, the pass it starts
                    # stops at its next rule when yet another edit comes)
                    cost = self.scoped_costs[key]
                if cost <= IMMEDIATE_COST_S:
                    # a pass still running for an older version stops at its next rule, and
                    # one queued behind it stops before it starts (`_analyze_snapshot`)
                    delay = LEADING_S
                else:
                    delay = min(MAX_DEBOUNCE_S, max(LEADING_S, COST_FACTOR * cost))
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
        try:
            await self.publish_async(key)
        except Exception:  # an engine failure must not take the server down
            log.exception("diagnostics for %s failed", key)

    async def publish_async(self, key: str) -> None:
        """Analyse a snapshot off the event loop (hovers and edits stay responsive on big files),
        then publish if the document is still at that version; otherwise drop the result: the
        change that made it stale has scheduled a newer pass."""
        if not self.push_diagnostics:
            return
        doc = self.doc_for(key)
        if doc is None:
            return
        cached = self.results.get(key)
        if cached is not None and cached[0] is doc.data:
            result = cached[1]
        else:
            snap, generation = doc.snapshot(), self.generation
            result, scope = self._inline_scoped_pass(key, snap)
            if result is None:
                result = await asyncio.get_running_loop().run_in_executor(
                    self.analysis_pool, self._analyze_snapshot, key, snap, scope)
            if (result is None or self.doc_for(key) is not doc or doc.data is not snap.data
                    or self.generation != generation):
                return  # changed while we worked: a newer pass is scheduled
            doc.adopt(snap)
            self.results[key] = (doc.data, result)
        self._send(key, doc, result)
        if self.provisional.get(key) is doc.data:
            self._confirm_later(key)

    def _analyze_snapshot(self, key: str, snap: Document, scope: bool = True):
        """Runs in the analysis thread; None as soon as the document has moved on (checked
        before and after computing the facts, the two big steps). `scope`: re-analyse only the
        part of the file that the edits since the last pass can change, where nntutor.scoped
        can show which part that is (the result is then provisional: `_confirm_later`)."""
        def stale():
            live = self.doc_for(key)
            return live is None or live.data is not snap.data

        if stale():
            return None
        if scope:
            try:
                result = self._scoped_pass(key, snap, stale)
            except Cancelled:
                return None
            if result is not None:
                return result
        generation = self.generation
        started = time.perf_counter()
        _ = snap.facts  # computed here, shared with hovers waiting for this version
        if stale():
            self._cost_at_least(key, snap, started)
            return None
        try:
            # Stops between two rules once the document has moved on: the pass for the newer
            # version then starts at most one rule later, not one whole pass later.
            result = self.analyze(snap, stale)
        except Cancelled:
            self._cost_at_least(key, snap, started)
            return None
        self.cost_rates[key] = (time.perf_counter() - started) / max(1, len(snap.data))
        self.cost_floors.pop(key, None)
        if key not in self.notebooks:
            self.priors[key] = (generation, scoped.Version.of(snap, self.unit_index), result)
        if self.provisional.get(key) is snap.data:
            del self.provisional[key]
        self.scoped_costs.pop(key, None)   # edits are debounced by this pass's cost again
        return result

    def _inline_scoped_pass(self, key: str, snap: Document) -> tuple[Analysis | None, bool]:
        """(the scoped pass over `snap` run here, on the event loop, or None; whether the
        analysis thread should still try one): see INLINE_SCOPED_S. Its budget in bytes comes
        from the rate of the document's last whole-file pass; no rate yet, no inline pass."""
        rate = self.cost_rates.get(key)
        if rate is None or self.analysis_pool.jobs:
            return None, True
        try:
            return self._scoped_pass(key, snap, lambda: False, budget=int(INLINE_SCOPED_S / rate)), False
        except scoped.OverBudget:
            return None, True
        except Cancelled:   # (only the analysis thread's passes are cancelled)
            return None, True

    def _scoped_pass(self, key: str, snap: Document, stale, budget: int | None = None):
        """The analysis of `snap` from the document's last analysed version and a pass over
        what the edit can change (nntutor.scoped), or None where that does not apply.
        `budget`: see scoped.plan (OverBudget is raised, not answered with None)."""
        prior = self.priors.get(key)
        generation = self.generation
        if not self.scoped_passes or prior is None or prior[0] != generation or key in self.notebooks:
            return None
        if self.excluded(snap.path):
            return None
        config = self.config_for(snap.path)

        def analyze_slice(part: Document):
            return analyze(part, config, self.model_index, stale)

        started = time.perf_counter()
        try:
            result, version = scoped.reanalyze(prior[1], snap, prior[2], analyze_slice, self.unit_index, budget)
        except scoped.OverBudget:
            raise
        except scoped.NotScoped as exc:
            log.debug("whole-file pass for %s: %s", key, exc)
            return None
        except Cancelled:
            raise
        except Exception:  # a bug here must cost no more than the whole pass it would save
            log.exception("scoped pass over %s failed", key)
            return None
        self.priors[key] = (generation, version, result)
        self.provisional[key] = snap.data
        self.scoped_costs[key] = time.perf_counter() - started
        return result

    def _confirm_later(self, key: str) -> None:
        """Once edits pause, a whole-file pass over the version whose diagnostics came from a
        scoped pass; its result replaces the cached one, and is published if it differs."""
        task = self.confirming.pop(key, None)
        if task is not None:
            task.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.confirming[key] = loop.create_task(self._confirm(key))

    async def _confirm(self, key: str) -> None:
        try:
            # A scoped pass computes no facts for the whole text, which hovers need: compute
            # them after a short pause (a hover then finds them ready, and the confirming pass
            # has only its rules left, which stop at the next edit).
            await asyncio.sleep(FACTS_S)
            doc = self.doc_for(key)
            if doc is None or self.provisional.get(key) is not doc.data:
                self.confirming.pop(key, None)
                return
            snap = doc.snapshot()
            await asyncio.get_running_loop().run_in_executor(self.facts_pool, lambda: snap.facts)
            await asyncio.sleep(max(0.0, CONFIRM_S - FACTS_S))
        except asyncio.CancelledError:
            return
        self.confirming.pop(key, None)
        doc = self.doc_for(key)
        if doc is None or self.provisional.get(key) is not doc.data:
            return   # edited since (its own pass confirms), or confirmed already
        snap, generation = doc.snapshot(), self.generation
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                self.analysis_pool, self._analyze_snapshot, key, snap, False)
        except Exception:
            log.exception("confirming the diagnostics of %s failed", key)
            return
        if (result is None or self.doc_for(key) is not doc or doc.data is not snap.data
                or self.generation != generation):
            return
        cached = self.results.get(key)
        self.results[key] = (doc.data, result)
        if cached is not None and cached[0] is doc.data and cached[1].findings == result.findings \
                and cached[1].notices == result.notices:
            return
        if cached is not None and cached[0] is doc.data:
            log.warning("the scoped pass over %s differed from the whole-file pass; "
                        "publishing the latter", key)
        if self.push_diagnostics:
            self._send(key, doc, result)

    def _cost_at_least(self, key: str, snap: Document, started: float) -> None:
        """A pass stopped for a newer version: what it took so far is a lower bound of what a
        pass costs. Without it a document whose passes are all stopped would never leave the
        immediate mode, and typing in a big file would start (and stop) a pass per keystroke."""
        rate = (time.perf_counter() - started) / max(1, len(snap.data))
        self.cost_floors[key] = max(rate, self.cost_floors.get(key, 0.0))

    def pass_cost(self, key: str, doc: Document | None) -> float:
        """Seconds a pass over `doc` is expected to take: the rate of the document's last
        finished pass (else DEFAULT_COST_RATE), or what stopped passes took since, if more,
        times its length now."""
        size = len(doc.data) if doc is not None else 0
        rate = max(self.cost_rates.get(key, DEFAULT_COST_RATE), self.cost_floors.get(key, 0.0))
        return rate * size

    def publish(self, key: str) -> None:
        """Synchronous variant (no event loop running)."""
        if not self.push_diagnostics:
            return
        doc = self.doc_for(key)
        if doc is None:
            return
        _, result = self.analysis(key)
        self._send(key, doc, result)

    def _send(self, key: str, doc: Document, result) -> None:
        if key in self.notebooks:
            for cell_uri, diags in self.cell_diagnostics(key, result, as_json=True).items():
                self._publish_json(cell_uri, diags)
        else:
            self._publish_json(key, self.diagnostics(key, result, as_json=True),
                               doc.version if key in self.docs else None)

    def _publish_json(self, uri: str, diagnostics: list[dict], version: int | None = None) -> None:
        """A publishDiagnostics notification of plain dicts (convert.diagnostic_json): the
        bytes pygls would write for the lsprotocol objects, without building them first."""
        params = {"uri": uri, "diagnostics": diagnostics}
        if version is not None:
            params["version"] = version
        self.protocol._send_data({"jsonrpc": JsonRPCProtocol.VERSION,
                                  "method": lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, "params": params})

    def diagnostics(self, uri: str, result, as_json: bool = False) -> list:
        """lsp.Diagnostic objects (pull model, code actions), or their plain dicts (push)."""
        def uri_of(loc):
            return uri if loc.path == result.path else Path(loc.path).resolve().as_uri()

        convert = diagnostic_json if as_json else diagnostic
        return [convert(f, uri_of) for f in result.findings]

    def cell_diagnostics(self, nb_uri: str, result, cell_uris: list[str] | None = None,
                         as_json: bool = False) -> dict[str, list[lsp.Diagnostic]]:
        """Diagnostics per cell URI; `cell_uris` are the cells `result` was computed with."""
        uris = cell_uris if cell_uris is not None else self.notebooks[nb_uri].cell_uris
        out: dict[str, list] = {u: [] for u in uris}

        def uri_of(loc):
            if loc.path == result.path and loc.cell is not None and loc.cell < len(uris):
                return uris[loc.cell]
            return Path(loc.path).resolve().as_uri()

        for f in result.findings:
            if f.location.cell is not None and f.location.cell < len(uris):
                out[uris[f.location.cell]].append((diagnostic_json if as_json else diagnostic)(f, uri_of, in_cell=True))
        return out

    def unindex(self, path: str) -> None:
        """A document was closed: its unsaved classes go; what is on disk (if any) is back."""
        self.indexed_paths.discard(path)
        classes, summary = {}, None
        try:
            if Path(path).suffix == ".py" and Path(path).is_file():
                doc = Document.from_path(path)
                classes = {k: v.summary() for k, v in index_classes(doc.facts).items()}
                summary = file_summary(doc)
        except Exception as exc:  # unreadable: forget it
            log.info("index: %s: %s", path, exc)
        self.model_index.add_file(path, classes, summary)

    def reanalyze_all(self, delay: float | None = None) -> None:
        """What every analysis sees changed (settings, the workspace's model classes): no cached
        or running result counts any more; push clients get fresh diagnostics, pull clients a
        `workspace/diagnostic/refresh` where they support it."""
        self.generation += 1
        self.results.clear()
        self.priors.clear()
        self.provisional.clear()
        for uri in list(self.docs) + list(self.notebooks):
            self.schedule(uri, delay)
        if not self.push_diagnostics:
            caps = self.client_capabilities.workspace if self.client_capabilities is not None else None
            diagnostics = caps.diagnostics if caps is not None else None
            if diagnostics is not None and diagnostics.refresh_support:
                self.workspace_diagnostic_refresh(None)

    def open_paths(self) -> set[str]:
        """Paths of the open documents and notebooks: the editor's version of them counts, not the disk's."""
        return {doc.path for doc in self.docs.values()} | {nb.doc.path for nb in self.notebooks.values() if nb.doc}

    def reindex_from_disk(self, path: str, deleted: bool) -> bool:
        """The model classes of a file that is not open, as it is on disk now (none when deleted
        or unreadable); whether that changed the index."""
        from ..project import _worth_indexing

        classes, summary = {}, None
        if not deleted:
            try:
                # (a checkout can report thousands of files: most cannot define a model class,
                # which a byte search tells without parsing them)
                if Path(path).is_file() and _worth_indexing(Path(path)):
                    doc = Document.from_path(path)
                    classes = {k: v.summary() for k, v in index_classes(doc.facts).items()}
                    summary = file_summary(doc)
            except Exception as exc:  # unreadable: as if gone
                log.info("index: %s: %s", path, exc)
        before = self._indexed_state(path)
        self.model_index.add_file(path, classes, summary)
        return before != self._indexed_state(path)

    def _indexed_state(self, path: str) -> list:
        """What the cross-file index holds of `path`, comparable between two moments."""
        return sorted((c.name, repr(c)) for found in self.model_index.by_name.values() for c in found
                      if c.path == path) + [repr(self.model_index.summaries.get(path))]

    def index_models(self, doc: Document) -> None:
        # Re-index when the text defines classes, and also when it no longer does, so a class
        # deleted in the editor does not linger in the cross-file index.
        if b"class " in doc.data or b"def " in doc.data:
            self.model_index.add_file(doc.path, index_classes(doc.facts), file_summary(doc))
            self.indexed_paths.add(doc.path)
        elif doc.path in self.indexed_paths:
            self.model_index.add_file(doc.path, {})
            self.indexed_paths.discard(doc.path)

    def index_workspace(self, folders: list[Path] | None = None) -> None:
        """Index model classes of the workspace folders' files (cross-file facts), bounded and
        safe: at most INDEX_FILES files in all."""
        from ..project import _worth_indexing, discover

        folders = [f for f in (self.folders if folders is None else folders) if f.is_dir()]
        if not folders:
            return
        files: list[Path] = []
        for folder in folders:  # each with its own exclude
            files += discover([str(folder)], self.config_tree).files
        for path in list(dict.fromkeys(files))[:INDEX_FILES]:
            if path.suffix != ".py" or not _worth_indexing(path):
                continue
            try:
                doc = Document.from_path(path)
                self.model_index.add_file(doc.path, {k: v.summary() for k, v in index_classes(doc.facts).items()},
                                          file_summary(doc))
            except Exception as exc:  # unreadable file: skip it, keep indexing
                log.info("index: skipped %s: %s", path, exc)


def _path_of(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def _is_virtual_notebook(uri: str) -> bool:
    return uri.endswith(".ipynb") or ".virtual_documents" in uri or ".ipynb." in uri


def _prepare(uri: str, text: str) -> bytes:
    data = text.encode("utf-8", errors="surrogatepass")
    return blank_ipython(data, joined=True) if _is_virtual_notebook(uri) else data


server = NNTutorServer()


@server.feature(lsp.INITIALIZE)
def initialize(ls: NNTutorServer, params: lsp.InitializeParams):
    # pygls sends the response (or the error, should this raise) right after this returns, in
    # the same callback chain: the start-up measures end just after it.
    asyncio.get_running_loop().call_soon(ls.end_startup)
    caps = params.capabilities.text_document
    # Clients that pull diagnostics (textDocument/diagnostic) get them that way only, so they
    # are not shown twice.
    ls.push_diagnostics = not (caps is not None and caps.diagnostic is not None)
    root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
    if root:
        ls.root = Path(_path_of(root))
    ls.folders = list(dict.fromkeys([Path(_path_of(f.uri)) for f in params.workspace_folders or []]
                                    or ([ls.root] if ls.root else [])))
    ls.apply_settings(params.initialization_options or {})   # (reads the root's config)


@server.feature(lsp.INITIALIZED)
async def initialized(ls: NNTutorServer, params):
    loop = asyncio.get_running_loop()
    # Warm the catalog and index models off the event loop: the first hover is then a lookup.
    from ..content import catalog

    await loop.run_in_executor(None, catalog)
    # (and the module that carries an analysis across a comment edit: not on the first edit)
    await loop.run_in_executor(None, importlib.import_module, "nntutor.incremental")
    before = sum(len(v) for v in ls.model_index.by_name.values())
    await loop.run_in_executor(None, ls.index_workspace)
    if sum(len(v) for v in ls.model_index.by_name.values()) != before:
        # Documents opened while indexing ran were analysed without the workspace's classes.
        ls.reanalyze_all()
    await _watch_files(ls)


async def _watch_files(ls: NNTutorServer) -> None:
    """Ask the client to report changes on disk to Python files (a model class edited in another
    tool, a `git checkout`) and to pyproject.toml (the [tool.nntutor] settings), where it can
    register watchers dynamically. Clients that cannot simply keep what was indexed at start."""
    caps = ls.client_capabilities.workspace if ls.client_capabilities is not None else None
    watched = caps.did_change_watched_files if caps is not None else None
    if ls.root is None or watched is None or not watched.dynamic_registration:
        return
    options = lsp.DidChangeWatchedFilesRegistrationOptions(watchers=[
        lsp.FileSystemWatcher(glob_pattern="**/*.py"),
        lsp.FileSystemWatcher(glob_pattern="**/pyproject.toml")])
    try:
        await asyncio.wait_for(ls.client_register_capability_async(lsp.RegistrationParams(registrations=[
            lsp.Registration(id="nntutor-watched-files", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                             register_options=options)])), WATCH_REGISTRATION_S)
    except Exception as exc:  # the client said no, or never answered: nothing is watched
        log.info("file watchers not registered: %r", exc)


@server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
async def did_change_workspace_folders(ls: NNTutorServer, params: lsp.DidChangeWorkspaceFoldersParams):
    """Folders added to the workspace have their model classes indexed (and their documents their
    own config); those of removed folders go (unless open, or also inside a folder that stays).
    The root is the first folder left."""
    removed = [Path(_path_of(f.uri)) for f in params.event.removed or []]
    added = [Path(_path_of(f.uri)) for f in params.event.added or []]
    ls.folders = [f for f in ls.folders if f not in removed] + [f for f in added if f not in ls.folders]
    if ls.root in removed or ls.root is None:
        ls.root = ls.folders[0] if ls.folders else None
    open_paths = ls.open_paths()
    gone = {c.path for found in ls.model_index.by_name.values() for c in found
            if any(Path(c.path).is_relative_to(f) for f in removed) and c.path not in open_paths
            and ls.folder_of(Path(c.path)) is None}
    for path in gone:
        ls.model_index.add_file(path, {})
    if added:
        await asyncio.get_running_loop().run_in_executor(None, ls.index_workspace, added)
    if gone or added or removed:
        ls.reanalyze_all()


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(ls: NNTutorServer, params: lsp.DidChangeWatchedFilesParams):
    """Files changed on disk. A Python file that is not open is re-indexed from disk (or dropped,
    when deleted), and the folders' pyproject.toml files re-read; open documents are analysed
    again when either changed what their analysis sees. Open files are the editor's business
    (didChange)."""
    open_paths = ls.open_paths()
    changed = False
    configs_read = False
    for event in params.changes or []:
        path = _path_of(event.uri)
        if path.endswith("pyproject.toml"):
            if not configs_read:
                configs_read = True
                changed |= await asyncio.get_running_loop().run_in_executor(None, ls.reload_configs)
        elif path.endswith(".py") and path not in open_paths:
            deleted = event.type == lsp.FileChangeType.Deleted
            changed |= await asyncio.get_running_loop().run_in_executor(None, ls.reindex_from_disk, path, deleted)
    if changed:
        ls.reanalyze_all()


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: NNTutorServer, params: lsp.DidChangeConfigurationParams):
    ls.apply_settings(params.settings or {})
    ls.reanalyze_all(0)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: NNTutorServer, params: lsp.DidOpenTextDocumentParams):
    item = params.text_document
    if item.uri in ls.cell_owner:
        return
    if _is_virtual_notebook(item.uri):
        ls.raw_texts[item.uri] = item.text
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
    if uri in ls.raw_texts:
        # A virtual notebook: IPython blanking works on whole lines, so apply the edits to the
        # text as the client has it, then re-blank (`replace` still re-parses incrementally).
        text = apply_changes(ls.raw_texts[uri], params.content_changes)
        ls.raw_texts[uri] = text
        before = doc.snapshot()
        doc.replace(_prepare(uri, text))
        ls.carry_over(uri, before, doc)
    else:
        for change in params.content_changes:
            before = doc.snapshot()  # each change on its own: a cached analysis follows them
            if isinstance(change, lsp.TextDocumentContentChangePartial):
                idx = doc.index
                start = idx.offset_of_utf16(change.range.start.line, change.range.start.character)
                end = idx.offset_of_utf16(change.range.end.line, change.range.end.character)
                if end < start:
                    start, end = end, start
                doc.edit(start, end, change.text.encode("utf-8", errors="surrogatepass"))
            else:
                doc.replace(change.text.encode("utf-8", errors="surrogatepass"))
            ls.carry_over(uri, before, doc)
    doc.version = params.text_document.version
    ls.schedule(uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: NNTutorServer, params: lsp.DidCloseTextDocumentParams):
    uri = params.text_document.uri
    if uri in ls.cell_owner:
        return
    doc = ls.docs.pop(uri, None)
    ls.raw_texts.pop(uri, None)
    ls.results.pop(uri, None)
    ls.priors.pop(uri, None)
    ls.provisional.pop(uri, None)
    ls.scoped_costs.pop(uri, None)
    confirm = ls.confirming.pop(uri, None)
    if confirm is not None:
        confirm.cancel()
    ls.cost_rates.pop(uri, None)
    ls.cost_floors.pop(uri, None)
    if doc is not None:
        ls.unindex(doc.path)
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
    ls.cost_rates.pop(params.notebook_document.uri, None)
    ls.cost_floors.pop(params.notebook_document.uri, None)
    if nb is not None and nb.doc is not None:
        ls.unindex(nb.doc.path)
    if nb is not None:
        for u in nb.cell_uris:
            ls.cell_owner.pop(u, None)
            if ls.push_diagnostics:
                ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(u, []))


@server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC,
                lsp.DiagnosticOptions(identifier="nntutor", inter_file_dependencies=True,
                                      workspace_diagnostics=False))
async def pull_diagnostics(ls: NNTutorServer, params: lsp.DocumentDiagnosticParams):
    uri = params.text_document.uri
    doc, result, cells = await ls.analysis_async(uri)
    if doc is None:
        return lsp.RelatedFullDocumentDiagnosticReport(items=[])
    if cells:
        items = ls.cell_diagnostics(ls.owner(uri), result, cells).get(uri, [])
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
        if vline is None:  # past the end of the cell: never answer from the next one
            return None, None
        line = vline
    if line >= doc.index.line_count:  # past the end of the text
        return None, None
    return doc, doc.index.offset_of_utf16(line, pos.character)


async def _compute_facts(ls: NNTutorServer, snap: Document) -> None:
    # Off the event loop; when the analysis thread is computing these very facts, this waits
    # for them instead of computing them a second time.
    await asyncio.get_running_loop().run_in_executor(ls.facts_pool, lambda: snap.facts)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: NNTutorServer, params: lsp.HoverParams):
    """A generator handler (pygls runs it synchronously until it yields): the usual case, facts
    already computed by the diagnostics pass, answers without a trip through the event loop."""
    from ..content import catalog
    from ..hover import hover_view, render, suppression_hover, target_at
    from .convert import byte_range_to_lsp

    doc, offset = _offset(ls, params.text_document.uri, params.position)
    if doc is None:
        return None
    in_cell = params.text_document.uri in ls.cell_owner
    snap = doc.snapshot()  # the version the position refers to, whatever arrives meanwhile
    if not snap.facts_ready:
        yield _compute_facts, (ls, snap), {}
    view = hover_view(snap, offset)
    if not view.facts_ready:   # on a statement being typed, which the analysis leaves out
        yield _compute_facts, (ls, view), {}
    cat = catalog()
    target = target_at(view, cat, offset, ls.model_index)
    if target is None:
        found = suppression_hover(view, cat, offset, DOCS_BASE)
        if found is None:
            return None
        start, end, text = found
        _, rng = byte_range_to_lsp(snap, start, end, in_cell)
        return {"contents": {"kind": "markdown", "value": text},
                "range": {"start": {"line": rng.start.line, "character": rng.start.character},
                          "end": {"line": rng.end.line, "character": rng.end.character}}}
    _, rng = byte_range_to_lsp(snap, target.node.start_byte, target.node.end_byte, in_cell)
    # A plain dict: the same JSON as lsp.Hover, without a trip through the attrs converter
    # (about half of a hover's time at the client).
    return {"contents": {"kind": "markdown", "value": render(cat, target, view, DOCS_BASE)},
            "range": {"start": {"line": rng.start.line, "character": rng.start.character},
                      "end": {"line": rng.end.line, "character": rng.end.character}}}


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, actions.FIX_ALL]))
async def code_action(ls: NNTutorServer, params: lsp.CodeActionParams):
    uri = params.text_document.uri
    doc, result, cells = await ls.analysis_async(uri)
    if doc is None:
        return []
    only = params.context.only
    found = [a for a in actions.code_actions(params, doc, result, cells)
             if actions.kind_wanted(a.kind, only)]
    # "Fix all" (also on save: `"editor.codeActionsOnSave": {"source.fixAll.nntutor": "explicit"}`):
    # asked for by kind, or next to the quick fixes when the user opened the menu and there is
    # more than one fix to apply. Not for the light bulb's automatic requests (every cursor move
    # in VS Code): computing it re-analyses the file once per round of fixes.
    # A notebook (notebook sync): the fixes land in its cells (nntutor.nbfix), one edit per cell.
    # Not for jupyterlab-lsp's joined notebook: its analysed text has IPython lines blanked.
    fixable = sum(1 for f in result.findings if f.fix is not None)
    asked = only is not None and actions.kind_wanted(actions.FIX_ALL, only)
    invoked = params.context.trigger_kind != lsp.CodeActionTriggerKind.Automatic
    if fixable and uri not in ls.raw_texts and (asked or (only is None and invoked and fixable > 1)):
        loop = asyncio.get_running_loop()
        if cells:
            from ..nbfix import fix_cells

            before = list(doc.cell_map.cells)
            fixed, after = await loop.run_in_executor(
                ls.analysis_pool, fix_cells, before, doc.path, ls.config_for(doc.path), ls.model_index)
        else:
            from ..fixall import fix_document

            fixed = await loop.run_in_executor(
                ls.analysis_pool, fix_document, doc.raw, doc.path, ls.config_for(doc.path), ls.model_index)
        if fixed.applied and ls.doc_for(uri) is not None and ls.doc_for(uri).data is doc.data:
            found.append(actions.fix_all_cells_action(cells, before, after, fixed.applied) if cells
                         else actions.fix_all_action(uri, doc, fixed.data, fixed.applied))
    return found


@server.feature(CONCEPTS_REQUEST)
def concepts_request(ls: NNTutorServer, params):
    from ..content import catalog
    from ..hover import concepts_in

    uri = _get(_get(params, "textDocument") or {}, "uri") or _get(params, "uri")
    doc, result = ls.analysis(uri) if uri else (None, None)
    if doc is None:
        # Not open (yet): a client may ask before its didOpen arrives, and should ask again.
        return {"concepts": [], "rules": [], "pending": True} if uri else {"concepts": [], "rules": []}
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


def run(log_file: Path | None = None, code_cache=None, started_by: str | None = None, early=None) -> None:
    """Serve over stdio. `code_cache` (lsp/codecache.py) is the start-up measure `nntutor lsp`
    took before importing this module; ended after `initialize`. `started_by` is logged (the
    daemon that forked this server, lsp/daemon.py)."""
    server.code_cache = code_cache
    server.early = early
    logging.basicConfig(filename=str(log_file) if log_file else None,
                        level=logging.INFO if log_file else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if started_by:
        log.info("%s", started_by)
    # pygls logs every message body it sends at INFO: never wanted, even with a log file (a
    # publishDiagnostics of a big file is hundreds of kB).
    logging.getLogger("pygls").setLevel(logging.WARNING)
    try:
        server.start_io()
    finally:
        server.end_startup()  # the client left before initialize
    server.analysis_pool.shutdown(wait=False, cancel_futures=True)
    server.facts_pool.shutdown(wait=False, cancel_futures=True)
    if not server.protocol._shutdown:
        # `exit` without `shutdown` first (or the client vanished): exit code 1, as LSP says.
        # pygls swallows the SystemExit(1) it raises for this.
        sys.exit(1)
