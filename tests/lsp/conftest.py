"""pytest-lsp fixtures: the real server over real stdio."""
import sys

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = [sys.executable, "-m", "nntutor", "lsp"]


def _caps(pull: bool = False) -> lsp.ClientCapabilities:
    return lsp.ClientCapabilities(
        text_document=lsp.TextDocumentClientCapabilities(
            hover=lsp.HoverClientCapabilities(content_format=[lsp.MarkupKind.Markdown]),
            publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(related_information=True),
            diagnostic=lsp.DiagnosticClientCapabilities() if pull else None,
        ),
        notebook_document=lsp.NotebookDocumentClientCapabilities(
            synchronization=lsp.NotebookDocumentSyncClientCapabilities()),
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, tmp_path):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=_caps(), root_uri=tmp_path.as_uri(),
        initialization_options={"severity": {"missing-no-grad": "info"}}))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def pull_client(lsp_client: LanguageClient, tmp_path):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=_caps(pull=True),
                                                             root_uri=tmp_path.as_uri()))
    yield
    await lsp_client.shutdown_session()
