"""Files changed on disk while the server runs (workspace/didChangeWatchedFiles): a model class in
a file that is not open, the root's pyproject.toml. Over real stdio with pytest-lsp's client,
which accepts the server's dynamic registration of file watchers."""
import asyncio
import sys

import pytest_lsp
from lsp_util import (
    MODELS_PLAIN,
    MODELS_SOFTMAX,
    TRAIN_WITH_NET,
    codes,
    open_doc,
    server_errors,
    wait_diags,
    wait_for,
)
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = [sys.executable, "-m", "nntutor", "lsp"]  # (conftest is ambiguous across test folders)
TRAIN = TRAIN_WITH_NET


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def wclient(lsp_client: LanguageClient, tmp_path):
    registrations = []

    @lsp_client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: lsp.RegistrationParams):
        registrations.extend(params.registrations)

    lsp_client.registrations = registrations
    (tmp_path / "models.py").write_text(MODELS_PLAIN)
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(
            workspace=lsp.WorkspaceClientCapabilities(
                did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)),
            text_document=lsp.TextDocumentClientCapabilities(
                publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(related_information=True))),
        root_uri=tmp_path.as_uri()))
    yield
    await lsp_client.shutdown_session()


def notify(client, *changes):
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        changes=[lsp.FileEvent(uri=path.as_uri(), type=kind) for path, kind in changes]))


async def test_watchers_are_registered_for_python_files_and_pyproject(wclient):
    [reg] = await wait_for(lambda: wclient.registrations or None)
    assert reg.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert sorted(w["globPattern"] for w in reg.register_options["watchers"]) == ["**/*.py", "**/pyproject.toml"]


async def test_a_model_class_changed_on_disk_reaches_open_documents(wclient, tmp_path):
    await wait_for(lambda: wclient.registrations or None)
    uri = (tmp_path / "train.py").as_uri()
    open_doc(wclient, uri, TRAIN)
    await wait_diags(wclient, uri)
    await asyncio.sleep(0.3)
    assert "double-softmax" not in codes(wclient.diagnostics[uri])
    (tmp_path / "models.py").write_text(MODELS_SOFTMAX)            # e.g. a git checkout
    notify(wclient, (tmp_path / "models.py", lsp.FileChangeType.Changed))
    diags = await wait_diags(wclient, uri, lambda d: "double-softmax" in codes(d))
    [d] = [d for d in diags if d.code == "double-softmax"]
    assert any(r.location.uri == (tmp_path / "models.py").as_uri() for r in d.related_information)
    (tmp_path / "models.py").unlink()
    notify(wclient, (tmp_path / "models.py", lsp.FileChangeType.Deleted))
    await wait_diags(wclient, uri, lambda d: "double-softmax" not in codes(d))
    assert not server_errors(wclient)


async def test_pyproject_settings_changed_on_disk_apply(wclient, tmp_path):
    await wait_for(lambda: wclient.registrations or None)
    (tmp_path / "models.py").write_text(MODELS_SOFTMAX)
    notify(wclient, (tmp_path / "models.py", lsp.FileChangeType.Changed))
    uri = (tmp_path / "train.py").as_uri()
    open_doc(wclient, uri, TRAIN)
    await wait_diags(wclient, uri, lambda d: "double-softmax" in codes(d))
    (tmp_path / "pyproject.toml").write_text('[tool.nntutor]\nignore = ["double-softmax"]\n')
    notify(wclient, (tmp_path / "pyproject.toml", lsp.FileChangeType.Created))
    await wait_diags(wclient, uri, lambda d: "double-softmax" not in codes(d))
    (tmp_path / "pyproject.toml").write_text("[tool.nntutor]\n")
    notify(wclient, (tmp_path / "pyproject.toml", lsp.FileChangeType.Changed))
    await wait_diags(wclient, uri, lambda d: "double-softmax" in codes(d))
    assert not server_errors(wclient)


async def test_an_open_file_follows_the_editor_not_the_disk(wclient, tmp_path):
    await wait_for(lambda: wclient.registrations or None)
    models_uri = (tmp_path / "models.py").as_uri()
    open_doc(wclient, models_uri, MODELS_SOFTMAX)                     # unsaved edit in the editor
    uri = (tmp_path / "train.py").as_uri()
    open_doc(wclient, uri, TRAIN)
    await wait_diags(wclient, uri, lambda d: "double-softmax" in codes(d))
    notify(wclient, (tmp_path / "models.py", lsp.FileChangeType.Changed))   # disk: still plain
    await asyncio.sleep(0.5)
    assert "double-softmax" in codes(wclient.diagnostics[uri])
    assert not server_errors(wclient)


async def test_unreadable_and_odd_events_are_harmless(wclient, tmp_path):
    await wait_for(lambda: wclient.registrations or None)
    (tmp_path / "broken.py").write_bytes(b"\xff\xfe\x00class Net(nn.Module:\n")
    (tmp_path / "folder.py").mkdir()
    notify(wclient, (tmp_path / "broken.py", lsp.FileChangeType.Created),
           (tmp_path / "folder.py", lsp.FileChangeType.Changed),
           (tmp_path / "missing.py", lsp.FileChangeType.Deleted),
           (tmp_path / "notes.txt", lsp.FileChangeType.Changed))
    uri = (tmp_path / "ok.py").as_uri()
    open_doc(wclient, uri, "import torch.nn as nn\nd = nn.Dropout(0.5)\n")
    await wait_diags(wclient, uri)
    assert not server_errors(wclient)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def pull_wclient(lsp_client: LanguageClient, tmp_path):
    @lsp_client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: lsp.RegistrationParams):
        return None

    (tmp_path / "models.py").write_text(MODELS_PLAIN)
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(
            workspace=lsp.WorkspaceClientCapabilities(
                did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True),
                diagnostics=lsp.DiagnosticWorkspaceClientCapabilities(refresh_support=True)),
            text_document=lsp.TextDocumentClientCapabilities(diagnostic=lsp.DiagnosticClientCapabilities())),
        root_uri=tmp_path.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def test_pull_clients_are_asked_to_pull_again(pull_wclient, tmp_path):
    uri = (tmp_path / "train.py").as_uri()
    open_doc(pull_wclient, uri, TRAIN)

    async def pulled():
        report = await pull_wclient.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri)))
        return codes(report.items)

    assert "double-softmax" not in await pulled()
    await asyncio.sleep(0.5)   # (`initialized` indexes the workspace and registers the watchers)
    asked = pull_wclient.diagnostic_refresh_count   # (pytest-lsp counts them)
    (tmp_path / "models.py").write_text(MODELS_SOFTMAX)
    notify(pull_wclient, (tmp_path / "models.py", lsp.FileChangeType.Changed))
    await wait_for(lambda: pull_wclient.diagnostic_refresh_count > asked)
    assert "double-softmax" in await pulled()
    assert uri not in pull_wclient.diagnostics   # never pushed


HELPERS = """import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return sum(float(model(x).mean()) for x, _ in loader)
"""
MAIN = """import torch.nn as nn
from helpers import evaluate

model = nn.Sequential(nn.Linear(10, 32), nn.Dropout(0.1), nn.Linear(32, 1))
for epoch in range(3):
    fit_one_epoch(model)
    score = evaluate(model, val_loader)
predictions = []
for x, _ in val_loader:
    predictions.append(model(x))
"""


async def test_a_helper_that_switches_modes_in_another_file_reaches_open_documents(wclient, tmp_path):
    """`evaluate` of helpers.py puts the model in eval mode: the prediction after it is fine;
    once the file on disk no longer calls model.eval(), the prediction runs in training mode."""
    await wait_for(lambda: wclient.registrations or None)
    (tmp_path / "helpers.py").write_text(HELPERS)
    notify(wclient, (tmp_path / "helpers.py", lsp.FileChangeType.Created))
    uri = (tmp_path / "main.py").as_uri()
    open_doc(wclient, uri, MAIN)
    await wait_diags(wclient, uri)
    await asyncio.sleep(0.3)
    assert "missing-eval-mode" not in codes(wclient.diagnostics[uri])
    (tmp_path / "helpers.py").write_text(HELPERS.replace("    model.eval()\n", ""))
    notify(wclient, (tmp_path / "helpers.py", lsp.FileChangeType.Changed))
    diags = await wait_diags(wclient, uri, lambda d: "missing-eval-mode" in codes(d))
    assert [d.range.start.line for d in diags if d.code == "missing-eval-mode"] == [9]
    assert not server_errors(wclient)
