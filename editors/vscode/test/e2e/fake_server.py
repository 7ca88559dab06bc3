"""A stand-in for `nntutor lsp` (pygls), used by the e2e test until the real server exists.

It answers hover on `Dropout` with a fixed card, publishes one diagnostic on the line with
`Dropout`, answers nntutor/concepts and nntutor/quizItems, and appends what the client sent
(initializationOptions, didChangeConfiguration) as JSON lines to $NNTUTOR_FAKE_RECORD.
"""

import json
import os
import re
import sys

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("fake-nntutor", "0.0.1")


def record(kind, value):
    path = os.environ.get("NNTUTOR_FAKE_RECORD")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, "value": value}) + "\n")


def plain(value):
    """pygls hands custom/untyped params over as namedtuples; make them JSON again."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@server.feature(types.INITIALIZE)
def initialize(ls, params: types.InitializeParams):
    record("initializationOptions", plain(params.initialization_options))


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls, params: types.DidChangeConfigurationParams):
    record("didChangeConfiguration", plain(params.settings))


def dropout_lines(uri):
    doc = server.workspace.get_text_document(uri)
    return [i for i, line in enumerate(doc.lines) if "Dropout" in line]


def publish(uri):
    diagnostics = [
        types.Diagnostic(
            range=types.Range(types.Position(line, 0), types.Position(line, 80)),
            message="missing-eval-mode: fake diagnostic from the stand-in server",
            severity=types.DiagnosticSeverity.Warning,
            code="missing-eval-mode",
            source="nntutor",
        )
        for line in dropout_lines(uri)[:1]
    ]
    server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls, params: types.DidOpenTextDocumentParams):
    publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls, params: types.DidChangeTextDocumentParams):
    publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls, params: types.HoverParams):
    doc = ls.workspace.get_text_document(params.text_document.uri)
    line = doc.lines[params.position.line] if params.position.line < len(doc.lines) else ""
    for m in re.finditer(r"Dropout", line):
        if m.start() <= params.position.character <= m.end():
            return types.Hover(
                contents=types.MarkupContent(
                    kind=types.MarkupKind.Markdown,
                    value="**Dropout** (stand-in server): zeroes activations at random while training.\n\n"
                    "[Quiz me](command:nntutor.quiz?%5B%22dropout%22%5D)",
                )
            )
    return None


ITEMS = [
    {
        "id": "dropout-1", "concept": "dropout", "type": "single", "seed": "000#16", "difficulty": 1,
        "question": "What does `nn.Dropout(p=0.5)` do to activations during training?",
        "options": ["Zeroes each with probability 0.5 and scales survivors by 2", "Zeroes exactly half, no scaling"],
        "answer": 0,
        "explanations": ["Right: inverted dropout keeps the expected activation.", "Wrong: the count varies and survivors are rescaled."],
    },
    {
        "id": "dropout-2", "concept": "dropout", "type": "true-false", "seed": "003#10", "difficulty": 1,
        "question": "Dropout is active when you call model(x) after model.eval().",
        "answer": False,
        "explanations": ["Wrong: eval() makes dropout the identity.", "Right: eval() sets training=False."],
    },
    {
        "id": "dropout-3", "concept": "dropout", "type": "spot-the-bug", "seed": "003#10", "difficulty": 2,
        "question": "Which line makes the reported accuracy noisy?",
        "code": "model.train()\nfor x, y in loader:\n    ...\nacc = (model(x_val).argmax(1) == y_val).float().mean()\n",
        "answer": 4,
        "explanations": {"4": "Right: still in training mode.", "1": "Wrong: train mode is right for training."},
        "rule": "missing-eval-mode",
    },
]


@server.feature("nntutor/concepts")
def concepts(ls, params):
    uri = params.textDocument.uri
    return {
        "concepts": [
            {"id": "dropout", "title": "Dropout", "summary": "Randomly zeroes activations while training.",
             "quiz": [i["id"] for i in ITEMS], "lines": dropout_lines(uri)}
        ],
        "rules": ["missing-eval-mode"],
    }


@server.feature("nntutor/quizItems")
def quiz_items(ls, params):
    wanted = set(params.ids)
    return {"items": [i for i in ITEMS if i["id"] in wanted]}


if __name__ == "__main__":
    if sys.argv[1:] != ["lsp"]:
        sys.exit("usage: fake_server.py lsp")
    server.start_io()
