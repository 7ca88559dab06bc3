"""End-to-end over stdio: hover, diagnostics (push and pull), code actions, settings."""
import asyncio

from lsp_util import apply_change, codes, expected_keys
from lsprotocol import types as lsp

SRC = """import torch
import torch.nn as nn
import torch.nn.functional as F

drop = nn.Dropout(0.5)
lstm = nn.LSTM(32, 64, num_layers=1, dropout=0.2, batch_first=True)
criterion = nn.CrossEntropyLoss()
probs = F.softmax(logits, dim=1)
loss = criterion(probs, y)
"""


def open_doc(client, uri, text, version=1):
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)))


async def wait_diags(client, uri, predicate=lambda d: True, timeout=10.0):
    async def poll():
        while True:
            diags = client.diagnostics.get(uri)
            if diags is not None and predicate(diags):
                return diags
            await asyncio.sleep(0.02)
    return await asyncio.wait_for(poll(), timeout)


async def test_hover_dropout_explains_this_call(client, tmp_path):
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, SRC)
    result = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(4, 11)))
    assert result is not None
    text = result.contents.value
    assert "Dropout" in text
    assert "50%" in text and "2" in text          # p=0.5: half zeroed, survivors scaled by 2
    assert "eval()" in text


async def test_hover_lstm_shapes_and_dropout_warning(client, tmp_path):
    uri = (tmp_path / "m.py").as_uri()
    open_doc(client, uri, SRC)
    result = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(5, 10)))
    text = result.contents.value
    assert "(N, L, 32)" in text and "(N, L, 64)" in text
    assert "no effect with num_layers=1" in text


async def test_hover_computes_pooling_attention_and_schedule_facts(client, tmp_path):
    """Facts computed from the literal arguments of the hovered call (callfacts.py), over stdio."""
    src = ("import torch.nn as nn\nfrom torch.optim import lr_scheduler\n"
           "pool = nn.MaxPool2d(2)\nattn = nn.MultiheadAttention(64, 8)\n"
           "sched = lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=1000)\n")
    uri = (tmp_path / "facts.py").as_uri()
    open_doc(client, uri, src)
    expected = {2: ["(e.g. 32 → 16)", "no parameters"], 3: ["8 heads of 8 dimensions", "**16,640 parameters**"],
                4: ["**after every batch**", "from 0.0004"]}
    for line, needles in expected.items():
        col = src.splitlines()[line].index("(") - 1
        result = await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(line, col)))
        assert result is not None
        for needle in needles:
            assert needle in result.contents.value, (needle, result.contents.value)


async def test_diagnostics_pushed_with_link_and_related(client, tmp_path):
    uri = (tmp_path / "t.py").as_uri()
    open_doc(client, uri, SRC)
    diags = await wait_diags(client, uri, lambda d: any(x.code == "double-softmax" for x in d))
    d = next(x for x in diags if x.code == "double-softmax")
    assert d.range.start.line == 7
    assert d.code_description.href.endswith("/rules/double-softmax.md")
    assert d.related_information and d.related_information[0].location.range.start.line == 8
    assert d.severity == lsp.DiagnosticSeverity.Error


async def test_change_updates_diagnostics(client, tmp_path):
    uri = (tmp_path / "c.py").as_uri()
    open_doc(client, uri, SRC)
    await wait_diags(client, uri, lambda d: len(d) > 0)
    # Replace `F.softmax(logits, dim=1)` with `logits` by an incremental edit.
    line = SRC.splitlines()[7]
    start = line.index("F.softmax")
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        [lsp.TextDocumentContentChangePartial(
            range=lsp.Range(lsp.Position(7, start), lsp.Position(7, len(line))), text="logits")]))
    await wait_diags(client, uri, lambda d: not any(x.code == "double-softmax" for x in d))


async def test_quick_fix_and_suppress(client, tmp_path):
    uri = (tmp_path / "q.py").as_uri()
    open_doc(client, uri, SRC)
    diags = await wait_diags(client, uri, lambda d: any(x.code == "double-softmax" for x in d))
    d = next(x for x in diags if x.code == "double-softmax")
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), d.range, lsp.CodeActionContext(diagnostics=[d])))
    titles = [a.title for a in actions]
    assert any("Remove" in t for t in titles)
    assert any("Suppress double-softmax" in t for t in titles)
    fix = next(a for a in actions if "Remove" in a.title)
    (edit,) = fix.edit.changes[uri]
    assert edit.new_text == "logits"


async def test_swapped_metric_diagnostic_fix_and_hover(client, tmp_path):
    """metric-args-swapped over stdio: the diagnostic, its quick fix (one edit per argument) and
    the hover on the call, which names both arguments and says they look swapped."""
    src = ("from sklearn.metrics import confusion_matrix\n"
           "y_pred = clf.predict(X_test)\n"
           "cm = confusion_matrix(y_pred, y_test)\n")
    uri = (tmp_path / "evaluate.py").as_uri()
    open_doc(client, uri, src)
    diags = await wait_diags(client, uri, lambda d: any(x.code == "metric-args-swapped" for x in d))
    d = next(x for x in diags if x.code == "metric-args-swapped")
    assert (d.range.start.line, d.range.start.character) == (2, 22)
    assert d.code_description.href.endswith("/rules/metric-args-swapped.md")
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), d.range, lsp.CodeActionContext(diagnostics=[d])))
    fix = next(a for a in actions if "Swap the arguments" in a.title)
    assert sorted(e.new_text for e in fix.edit.changes[uri]) == ["y_pred", "y_test"]
    result = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(2, 8)))
    text = result.contents.value
    assert "`y_true` = `y_pred`" in text and "look **swapped**" in text
    assert "Rows come from `y_true`" in text


async def test_pull_diagnostics(pull_client, tmp_path):
    uri = (tmp_path / "p.py").as_uri()
    open_doc(pull_client, uri, SRC)
    report = await pull_client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(lsp.TextDocumentIdentifier(uri)))
    assert any(i.code == "double-softmax" for i in report.items)
    await asyncio.sleep(0.3)
    assert uri not in pull_client.diagnostics  # pull clients are not also pushed to


async def test_settings_ignore_rule(client, tmp_path):
    uri = (tmp_path / "s.py").as_uri()
    open_doc(client, uri, SRC)
    await wait_diags(client, uri, lambda d: any(x.code == "double-softmax" for x in d))
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"nntutor": {"ignore": ["double-softmax"]}}))
    await wait_diags(client, uri, lambda d: not any(x.code == "double-softmax" for x in d))


async def test_concepts_request(client, tmp_path):
    uri = (tmp_path / "k.py").as_uri()
    open_doc(client, uri, SRC)
    await wait_diags(client, uri, lambda d: len(d) > 0)
    result = await client.protocol.send_request_async("nntutor/concepts", {"textDocument": {"uri": uri}})
    # pygls hands custom results back as named tuples
    ids = {c.id for c in result.concepts}
    assert {"dropout", "lstm", "softmax"} <= ids
    assert "double-softmax" in result.rules
    items = await client.protocol.send_request_async("nntutor/quizItems", {"ids": list(result.concepts[0].quiz[:2])})
    assert len(items.items) == 2 and items.items[0].question
    assert not getattr(result, "pending", False)


async def test_concepts_of_a_document_not_open_yet_say_pending(client, tmp_path):
    """A lens query can overtake its didOpen: the empty answer then says to ask again."""
    uri = (tmp_path / "not-open.py").as_uri()
    result = await client.protocol.send_request_async("nntutor/concepts", {"textDocument": {"uri": uri}})
    assert result.concepts == [] and result.pending is True


FIXABLE = """import torch
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
device = torch.device("cuda")
running_loss = 0.0
for x, y in loader:
    loss = criterion(model(x.to(device)), y)
    loss.backward()
    optimizer.step()
    running_loss += loss  # café
"""


async def test_fix_all_source_action(client, tmp_path):
    uri = (tmp_path / "fa.py").as_uri()
    open_doc(client, uri, FIXABLE)
    await wait_diags(client, uri, lambda d: {"missing-zero-grad", "hardcoded-cuda", "loss-accumulates-graph"} <= codes(d))
    whole = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    asked = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), whole, lsp.CodeActionContext(diagnostics=[], only=["source.fixAll"])))
    (action,) = asked                                                   # only the kind asked for
    assert action.kind == "source.fixAll.nntutor" and action.title == "nntutor: apply all 3 certain fixes"
    (edit,) = action.edit.changes[uri]
    r = edit.range
    fixed = apply_change(FIXABLE, r.start.line, r.start.character, r.end.line, r.end.character, edit.new_text)
    assert 'torch.device("cuda" if torch.cuda.is_available() else "cpu")' in fixed
    assert "optimizer.zero_grad()" in fixed and "running_loss += loss.item()  # café" in fixed
    assert expected_keys(fixed, uri) == []   # (the three were the file's only findings)
    # next to the quick fixes when nothing is asked for (the menu opened by the user); not for
    # the light bulb's automatic requests, nor when only quick fixes are asked for
    general = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), whole, lsp.CodeActionContext(
            diagnostics=[], trigger_kind=lsp.CodeActionTriggerKind.Invoked)))
    assert any(a.kind == "source.fixAll.nntutor" for a in general)
    automatic = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), whole, lsp.CodeActionContext(
            diagnostics=[], trigger_kind=lsp.CodeActionTriggerKind.Automatic)))
    assert not any(a.kind == "source.fixAll.nntutor" for a in automatic)
    quick = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), lsp.Range(lsp.Position(4, 0), lsp.Position(4, 30)),
        lsp.CodeActionContext(diagnostics=[], only=["quickfix"])))
    assert quick and all(a.kind == "quickfix" for a in quick)


async def test_unused_suppression_faded_fixed_and_hovered(client, tmp_path):
    """A directive that silences nothing: an Information diagnostic tagged Unnecessary (editors
    fade it) with a quick fix that removes it; hovering a used directive's id names the rule."""
    src = ("import torch.nn as nn\n"
           "import torch.nn.functional as F\n"
           "criterion = nn.CrossEntropyLoss()\n"
           "loss = criterion(F.softmax(logits, dim=1), y)  # nntutor: ignore[double-softmax]\n"
           "other = F.cross_entropy(logits, y)  # nntutor: ignore[double-softmax]\n")
    uri = (tmp_path / "s.py").as_uri()
    open_doc(client, uri, src)
    diags = await wait_diags(client, uri, lambda d: any(x.code == "unused-suppression" for x in d))
    assert [x.code for x in diags] == ["unused-suppression"]   # line 4's finding stays silenced
    (d,) = diags
    assert d.severity == lsp.DiagnosticSeverity.Information
    assert list(d.tags) == [lsp.DiagnosticTag.Unnecessary]
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (4, 54, 68)
    assert "concept:" not in d.message and "`nntutor explain unused-suppression`" in d.message
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), d.range, lsp.CodeActionContext(diagnostics=[d])))
    fix = next(a for a in actions if a.title == "nntutor: Remove the unused suppression")
    (edit,) = fix.edit.changes[uri]
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character, edit.new_text) == (4, 34, 69, "")
    keep = next(a for a in actions if a.title == "nntutor: Suppress unused-suppression on this line")
    (edit,) = keep.edit.changes[uri]
    assert edit.new_text == ", unused-suppression"
    assert (edit.range.start.line, edit.range.start.character) == (4, 68)   # after the last id
    result = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(3, 70)))
    assert result is not None and "`double-softmax`" in result.contents.value
    assert "silenced on this line" in result.contents.value
    assert (result.range.start.character, result.range.end.character) == (65, 79)


async def test_no_suppress_action_where_a_comment_would_land_in_a_string(client, tmp_path):
    """The finding's line ends inside a multi-line string: a `# nntutor: ignore` appended there
    would become part of the string, so only the fix is offered."""
    src = ("import torch\n"
           "device = torch.device('cuda'); HELP = '''\n"
           "text'''\n")
    uri = (tmp_path / "m.py").as_uri()
    open_doc(client, uri, src)
    diags = await wait_diags(client, uri, lambda d: any(x.code == "hardcoded-cuda" for x in d))
    d = next(x for x in diags if x.code == "hardcoded-cuda")
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), d.range, lsp.CodeActionContext(diagnostics=[d])))
    titles = [a.title for a in actions]
    assert titles and not any("Suppress" in t for t in titles), titles
