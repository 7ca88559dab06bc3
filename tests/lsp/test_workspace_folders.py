"""Multi-root workspaces: model classes are indexed in every workspace folder, folders added and
removed later (workspace/didChangeWorkspaceFolders) are followed, and `exclude` is matched
relative to the folder a document is in."""
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


async def test_exclude_is_relative_to_the_documents_folder(mclient, tmp_path):
    scratch = (tmp_path / "app" / "scratch" / "try.py").as_uri()
    other = (tmp_path / "lib" / "scratch" / "try.py").as_uri()   # `scratch/*` relative to lib/ too
    kept = (tmp_path / "lib" / "train.py").as_uri()
    for uri in (scratch, other, kept):
        open_doc(mclient, uri, TRAIN)
    await wait_diags(mclient, kept, lambda d: "double-softmax" in codes(d))
    await asyncio.sleep(0.3)
    for uri in (scratch, other):
        await wait_diags(mclient, uri, lambda d: len(d) == 0)
    assert not server_errors(mclient)
