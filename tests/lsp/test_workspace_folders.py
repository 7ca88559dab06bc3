"""Multi-root workspaces: model classes are indexed in every workspace folder, folders added and
removed later (workspace/didChangeWorkspaceFolders) are followed, and each document is analysed
with the [tool.nntutor] of its own folder (`exclude` matched relative to that folder)."""
import asyncio
import sys

import pytest_lsp
from lsp_util import MODELS_SOFTMAX, TRAIN_WITH_NET, codes, open_doc, server_errors, wait_diags
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = [sys.executable, "-m", "nntutor", "lsp"]  # (conftest is ambiguous across test folders)
MODELS, TRAIN = MODELS_SOFTMAX, TRAIN_WITH_NET


def folder(path):
    return lsp.WorkspaceFolder(uri=path.as_uri(), name=path.name)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def mclient(lsp_client: LanguageClient, tmp_path):
    app, lib, extra = tmp_path / "app", tmp_path / "lib", tmp_path / "extra"
    for d in (app, lib, extra):
        d.mkdir()
    (lib / "models.py").write_text(MODELS)
    (extra / "models.py").write_text(MODELS)
    (app / "pyproject.toml").write_text('[tool.nntutor]\nexclude = ["scratch/*"]\n')
    (lib / "pyproject.toml").write_text('[tool.nntutor]\nseverity = { double-softmax = "hint" }\n')
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(workspace=lsp.WorkspaceClientCapabilities(workspace_folders=True)),
        root_uri=app.as_uri(), workspace_folders=[folder(app), folder(lib)]))
    yield
    await lsp_client.shutdown_session()


async def test_model_classes_from_every_folder_and_folder_changes(mclient, tmp_path):
    uri = (tmp_path / "app" / "train.py").as_uri()
    open_doc(mclient, uri, TRAIN)
    await wait_diags(mclient, uri, lambda d: "double-softmax" in codes(d))       # Net from lib/
    mclient.workspace_did_change_workspace_folders(lsp.DidChangeWorkspaceFoldersParams(
        event=lsp.WorkspaceFoldersChangeEvent(added=[], removed=[folder(tmp_path / "lib")])))
    await wait_diags(mclient, uri, lambda d: "double-softmax" not in codes(d))   # lib/ is gone
    mclient.workspace_did_change_workspace_folders(lsp.DidChangeWorkspaceFoldersParams(
        event=lsp.WorkspaceFoldersChangeEvent(added=[folder(tmp_path / "extra")], removed=[])))
    await wait_diags(mclient, uri, lambda d: "double-softmax" in codes(d))       # Net from extra/
    assert not server_errors(mclient)


def severity_of(diags, rule):
    return next((d.severity for d in diags if d.code == rule), None)


async def test_each_folder_has_its_own_config(mclient, tmp_path):
    scratch = (tmp_path / "app" / "scratch" / "try.py").as_uri()   # excluded by app's config
    app_train = (tmp_path / "app" / "train.py").as_uri()
    lib_scratch = (tmp_path / "lib" / "scratch" / "try.py").as_uri()   # lib's config: no exclude
    lib_train = (tmp_path / "lib" / "train.py").as_uri()
    for uri in (scratch, app_train, lib_scratch, lib_train):
        open_doc(mclient, uri, TRAIN)
    app_diags = await wait_diags(mclient, app_train, lambda d: "double-softmax" in codes(d))
    lib_diags = await wait_diags(mclient, lib_train, lambda d: "double-softmax" in codes(d))
    await wait_diags(mclient, lib_scratch, lambda d: "double-softmax" in codes(d))
    assert severity_of(app_diags, "double-softmax") == lsp.DiagnosticSeverity.Error
    assert severity_of(lib_diags, "double-softmax") == lsp.DiagnosticSeverity.Hint   # lib's severity
    await asyncio.sleep(0.3)
    await wait_diags(mclient, scratch, lambda d: len(d) == 0)
    # lib's pyproject.toml changes on disk: only lib's documents follow it
    (tmp_path / "lib" / "pyproject.toml").write_text('[tool.nntutor]\nignore = ["double-softmax"]\n')
    mclient.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[lsp.FileEvent(
        uri=(tmp_path / "lib" / "pyproject.toml").as_uri(), type=lsp.FileChangeType.Changed)]))
    await wait_diags(mclient, lib_train, lambda d: "double-softmax" not in codes(d))
    await asyncio.sleep(0.3)
    assert "double-softmax" in codes(mclient.diagnostics[app_train])
    assert not server_errors(mclient)


async def test_hover_on_a_method_of_a_model_class_from_another_folder(mclient, tmp_path):
    """`model.eval()` on a `Net` defined in lib/models.py: the card, and what the mode changes in
    that very class (it has no dropout or batch norm), read from the workspace index."""
    uri = (tmp_path / "app" / "evaluate.py").as_uri()
    src = TRAIN + "model.eval()\n"
    open_doc(mclient, uri, src)
    await wait_diags(mclient, uri, lambda d: "double-softmax" in codes(d))       # lib/ is indexed
    line = src.splitlines().index("model.eval()")
    result = await mclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(line, 7)))
    assert result is not None
    text = result.contents.value
    assert "Training vs evaluation mode" in text and "evaluation mode (same as `.train(False)`)" in text
    assert "`Net` has no dropout or batch-norm layer" in text
    assert not server_errors(mclient)
