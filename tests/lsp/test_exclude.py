"""`exclude` (settings and [tool.nntutor]) in the language server: no diagnostics for excluded
documents, as `nntutor check .` skips them; nor for installed packages opened from the editor."""
import sys

import pytest_lsp
from lsp_util import cleared, codes, open_doc, pos_of, server_errors, wait_diags
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = [sys.executable, "-m", "nntutor", "lsp"]  # (conftest is ambiguous across test folders)
BUG = "import torch.nn as nn\nimport torch.nn.functional as F\n\nloss = nn.CrossEntropyLoss()(F.softmax(x, dim=1), y)\n"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def xclient(lsp_client: LanguageClient, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.nntutor]\nexclude = ["legacy/*"]\n')
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(text_document=lsp.TextDocumentClientCapabilities(
            hover=lsp.HoverClientCapabilities(content_format=[lsp.MarkupKind.Markdown]))), root_uri=tmp_path.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def test_excluded_documents_get_no_diagnostics_but_still_hovers(xclient, tmp_path):
    kept = (tmp_path / "src" / "train.py").as_uri()
    skipped = [(tmp_path / "legacy" / "old.py").as_uri(),          # [tool.nntutor] exclude
               (tmp_path / ".venv" / "lib" / "x.py").as_uri(),      # a default folder
               "file:///usr/lib/python3/dist-packages/torch_helpers/loss.py"]  # installed code
    for uri in [kept, *skipped]:
        open_doc(xclient, uri, BUG)
    await wait_diags(xclient, kept, lambda d: "double-softmax" in codes(d))
    for uri in skipped:
        try:
            await wait_diags(xclient, uri, lambda d: len(d) == 0)
        except TimeoutError:
            raise AssertionError(f"{uri}: {xclient.diagnostics.get(uri)}") from None
    hover = await xclient.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(skipped[0]), pos_of(BUG, "CrossEntropyLoss", delta=2)))
    assert hover is not None and "CrossEntropyLoss" in hover.contents.value
    assert not server_errors(xclient)


async def test_settings_exclude_adds_to_the_pyproject_one(xclient, tmp_path):
    scratch, legacy = (tmp_path / "scratch_2.py").as_uri(), (tmp_path / "legacy" / "old.py").as_uri()
    xclient.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"nntutor": {"exclude": ["scratch_*.py"]}}))
    open_doc(xclient, scratch, BUG)
    open_doc(xclient, legacy, BUG)
    await wait_diags(xclient, scratch, lambda d: len(d) == 0)
    await wait_diags(xclient, legacy, lambda d: len(d) == 0)            # (as `ignore` adds up)
    assert cleared(xclient, scratch) and cleared(xclient, legacy)
    xclient.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings={"nntutor": {}}))
    await wait_diags(xclient, scratch, lambda d: "double-softmax" in codes(d))
    await wait_diags(xclient, legacy, lambda d: len(d) == 0)
    assert not server_errors(xclient)


async def test_a_sub_project_keeps_its_own_config(xclient, tmp_path):
    """As `nntutor check` resolves it: the nearest pyproject.toml with [tool.nntutor], whose
    `exclude` is relative to its own folder; a pyproject.toml without the table is skipped."""
    sub = tmp_path / "apps" / "vision"
    sub.mkdir(parents=True)
    (sub / "pyproject.toml").write_text('[tool.nntutor]\nseverity = { double-softmax = "hint" }\nexclude = ["gen/*"]\n')
    build_only = tmp_path / "libs" / "core"
    build_only.mkdir(parents=True)
    (build_only / "pyproject.toml").write_text('[project]\nname = "core"\n')
    in_sub, generated = (sub / "train.py").as_uri(), (sub / "gen" / "out.py").as_uri()
    in_lib, lib_legacy = (build_only / "loss.py").as_uri(), (tmp_path / "legacy" / "x.py").as_uri()
    for uri in (in_sub, generated, in_lib, lib_legacy):
        open_doc(xclient, uri, BUG)
    diags = await wait_diags(xclient, in_sub, lambda d: "double-softmax" in codes(d))
    assert {d.severity for d in diags} == {lsp.DiagnosticSeverity.Hint}
    diags = await wait_diags(xclient, in_lib, lambda d: "double-softmax" in codes(d))
    assert {d.severity for d in diags} == {lsp.DiagnosticSeverity.Error}
    await wait_diags(xclient, generated, lambda d: len(d) == 0)
    await wait_diags(xclient, lib_legacy, lambda d: len(d) == 0)   # the root's exclude
    assert cleared(xclient, generated) and cleared(xclient, lib_legacy)
    assert not server_errors(xclient)


async def test_the_editors_patterns_are_matched_from_the_workspace_folder(xclient, tmp_path):
    """A setting such as `apps/vision/gen/*` names a path from the workspace folder, also for
    a document whose [tool.nntutor] lives in a sub-project's pyproject.toml (whose own patterns
    stay relative to that file's folder)."""
    sub = tmp_path / "apps" / "vision"
    sub.mkdir(parents=True)
    (sub / "pyproject.toml").write_text('[tool.nntutor]\nexclude = ["tmp/*"]\n')
    xclient.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"nntutor": {"exclude": ["apps/vision/gen/*"]}}))
    generated, own, kept = ((sub / "gen" / "out.py").as_uri(), (sub / "tmp" / "x.py").as_uri(),
                            (sub / "train.py").as_uri())
    for uri in (generated, own, kept):
        open_doc(xclient, uri, BUG)
    await wait_diags(xclient, kept, lambda d: "double-softmax" in codes(d))
    await wait_diags(xclient, generated, lambda d: len(d) == 0)   # the editor's pattern
    await wait_diags(xclient, own, lambda d: len(d) == 0)         # the sub-project's pattern
    assert cleared(xclient, generated) and cleared(xclient, own)
    assert not server_errors(xclient)
