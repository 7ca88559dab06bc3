"""What editors send when the user set nothing: VS Code's extension sends the defaults of its
`nntutor.*` settings, `{"select": [], "ignore": [], "severity": {}}`, as initializationOptions and
in didChangeConfiguration. Empty means "not set" (every rule), not "select no rule"."""
import sys

import pytest_lsp
from lsp_util import codes, open_doc, server_errors, wait_diags
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = [sys.executable, "-m", "nntutor", "lsp"]  # (conftest is ambiguous across test folders)
VSCODE_DEFAULTS = {"select": [], "ignore": [], "severity": {}}
SRC = ("import torch.nn as nn\nimport torch.nn.functional as F\n\n"
       "loss = nn.CrossEntropyLoss()(F.softmax(x, dim=1), y)\ndevice = 'cuda'\nnet = Net().to(device)\n")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def vclient(lsp_client: LanguageClient, tmp_path):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), root_uri=tmp_path.as_uri(),
        initialization_options=VSCODE_DEFAULTS))
    yield
    await lsp_client.shutdown_session()


async def test_editor_defaults_keep_every_rule(vclient, tmp_path):
    uri = (tmp_path / "t.py").as_uri()
    open_doc(vclient, uri, SRC)
    await wait_diags(vclient, uri, lambda d: {"double-softmax", "hardcoded-cuda"} <= codes(d))
    vclient.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"nntutor": {"select": ["double-softmax"], "ignore": [], "severity": {}}}))
    await wait_diags(vclient, uri, lambda d: codes(d) == {"double-softmax"})
    vclient.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"nntutor": dict(VSCODE_DEFAULTS)}))                 # the user cleared it again
    await wait_diags(vclient, uri, lambda d: {"double-softmax", "hardcoded-cuda"} <= codes(d))
    vclient.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"nntutor": {"ignore": ["ALL"]}}))                   # how to turn everything off
    await wait_diags(vclient, uri, lambda d: len(d) == 0)
    assert not server_errors(vclient)


async def test_jupyterlab_lsp_shapes(vclient, tmp_path):
    """jupyterlab-lsp sends its schema's defaults (`select: null`) nested under `nntutor`; a flat
    `{"nntutor.ignore": [...]}` (as settings editors store them) works too."""
    uri = (tmp_path / "j.py").as_uri()
    open_doc(vclient, uri, SRC)
    vclient.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"nntutor": {"select": None, "ignore": [], "severity": {}, "exclude": []}}))
    await wait_diags(vclient, uri, lambda d: {"double-softmax", "hardcoded-cuda"} <= codes(d))
    vclient.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"nntutor.ignore": ["hardcoded-cuda"], "nntutor.select": None, "other.key": 1}))
    await wait_diags(vclient, uri, lambda d: codes(d) == {"double-softmax"})
    assert not server_errors(vclient)
