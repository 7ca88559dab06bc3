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


# -- a client that also records every publishDiagnostics (with its version) -----------------
def _recording_client() -> LanguageClient:
    from pygls.protocol import default_converter
    from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

    def publish(client: LanguageClient, params: lsp.PublishDiagnosticsParams):
        client.diagnostics[params.uri] = params.diagnostics
        client.published.append(params)

    client = LanguageClient(converter_factory=default_converter)
    client.published = []
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: publish})
    return client


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, client_factory=_recording_client))
async def rclient(lsp_client: LanguageClient, tmp_path):
    """Push diagnostics, default settings, every publish recorded in `rclient.published`."""
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=_caps(), root_uri=tmp_path.as_uri()))
    yield
    await lsp_client.shutdown_session()


# -- one server per test module (each start costs seconds on a busy machine) ----------------
# Modules using these need `pytestmark = pytest.mark.asyncio(loop_scope="module")`; their tests
# must use their own document URIs (each test's tmp_path) as they share the server.
@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, client_factory=_recording_client),
                    scope="module")
async def mclient(lsp_client: LanguageClient, tmp_path_factory):
    """Module-wide push client, default settings, publishes recorded in `mclient.published`."""
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=_caps(), root_uri=tmp_path_factory.mktemp("ws").as_uri()))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def mpull_client(lsp_client: LanguageClient, tmp_path_factory):
    """Module-wide client that pulls diagnostics."""
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=_caps(pull=True), root_uri=tmp_path_factory.mktemp("ws").as_uri()))
    yield
    await lsp_client.shutdown_session()
