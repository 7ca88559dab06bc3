"""Code actions: the engine's fixes as quick fixes, and "suppress on this line" for every rule
(where a directive can go on the finding's line)."""
from __future__ import annotations

from lsprotocol import types as lsp

from ..findings import Location
from ..suppressions import directive_edit
from .convert import lsp_range


def code_actions(params: lsp.CodeActionParams, doc, result, cell_uris: list[str]) -> list[lsp.CodeAction]:
    """Quick fixes for the findings of `result` (an analysis of `doc`) in the requested range.
    `cell_uris`: for a notebook, the URI of each code cell of `doc`, else empty."""
    uri = params.text_document.uri
    in_cell = bool(cell_uris)
    if in_cell and uri not in cell_uris:
        return []
    cell_index = cell_uris.index(uri) if in_cell else None
    want = params.range
    actions = []
    for f in result.findings:
        loc = f.location
        if in_cell and loc.cell != cell_index:
            continue
        rng = lsp_range(loc, in_cell)
        if rng.end.line < want.start.line or rng.start.line > want.end.line:
            continue
        diag = next((d for d in params.context.diagnostics if d.code == f.rule
                     and d.range.start.line == rng.start.line), None)
        if f.fix is not None:
            changes: dict[str, list[lsp.TextEdit]] = {}
            for e in f.fix.edits:
                el = Location.of(doc, e.start, e.end)
                # In a notebook an edit may belong to another cell than the one asked about.
                target = uri
                if in_cell and el.cell is not None and el.cell < len(cell_uris):
                    target = cell_uris[el.cell]
                changes.setdefault(target, []).append(lsp.TextEdit(lsp_range(el, in_cell), e.new_text))
            actions.append(lsp.CodeAction(
                title=f"nntutor: {f.fix.title}", kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[diag] if diag else None, is_preferred=True,
                edit=lsp.WorkspaceEdit(changes=changes)))
        action = _suppress_action(doc, f, uri, in_cell, diag)
        if action is not None:
            actions.append(action)
    return actions


def _suppress_action(doc, f, uri, in_cell, diag) -> lsp.CodeAction | None:
    """Extend the line's `# nntutor: ignore[...]` or add one (suppressions.directive_edit);
    None where no directive can go (the line ends inside a multi-line string ...)."""
    found = directive_edit(doc, f.location.line, [f.rule])
    if found is None:
        return None
    start, end, text = found
    edit = lsp.TextEdit(lsp_range(Location.of(doc, start, end), in_cell), text)
    return lsp.CodeAction(title=f"nntutor: Suppress {f.rule} on this line", kind=lsp.CodeActionKind.QuickFix,
                          diagnostics=[diag] if diag else None,
                          edit=lsp.WorkspaceEdit(changes={uri: [edit]}))


# -- fix all ---------------------------------------------------------------------------------------
FIX_ALL = "source.fixAll.nntutor"


def kind_wanted(kind: str, only) -> bool:
    """Does a request's `context.only` (kinds or their prefixes, None: anything) take `kind`?"""
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)


def fix_all_action(uri: str, doc, new_data: bytes, applied: int) -> lsp.CodeAction:
    """"Fix all" as one edit: the span between what the old and the new text share at both ends."""
    def position(i: int) -> lsp.Position:
        return lsp_range(Location.of(doc, i, i)).start

    return lsp.CodeAction(title=_fix_all_title(applied), kind=FIX_ALL, edit=lsp.WorkspaceEdit(
        changes={uri: [_edit_between(doc.raw, new_data, position)]}))


def fix_all_cells_action(cell_uris: list[str], before: list, after: list, applied: int) -> lsp.CodeAction:
    """"Fix all" for a notebook: one edit in each cell the fixes changed (`before` / `after`:
    the code cells, nntutor.notebook.Cell, in the order of `cell_uris`)."""
    from ..source import LineIndex

    changes = {}
    for uri, old, new in zip(cell_uris, before, after):
        if old.source == new.source:
            continue
        data = old.source.encode("utf-8")
        index = LineIndex(data)
        changes[uri] = [_edit_between(data, new.source.encode("utf-8"),
                                      lambda i, index=index: lsp.Position(*index.utf16_position(i)))]
    return lsp.CodeAction(title=_fix_all_title(applied), kind=FIX_ALL, edit=lsp.WorkspaceEdit(changes=changes))


def _fix_all_title(applied: int) -> str:
    return f"nntutor: apply all {applied} certain fixes" if applied != 1 else "nntutor: apply the certain fix"


def _edit_between(old: bytes, new: bytes, position) -> lsp.TextEdit:
    """The one edit from `old` to `new`: the span between what they share at both ends, on
    whole characters (never splitting a UTF-8 sequence). `position(offset)`: its LSP position
    in `old`."""
    from ..incremental import diff

    span = diff(old, new)
    start, end_old, end_new = span.start, span.old_end, span.new_end

    def continues(i: int) -> bool:  # a byte 10xxxxxx continues a UTF-8 sequence
        return i < len(old) and (old[i] & 0xC0) == 0x80

    while start > 0 and continues(start):
        start -= 1
    while continues(end_old):
        end_old, end_new = end_old + 1, end_new + 1
    text = new[start:end_new].decode("utf-8", errors="replace")
    return lsp.TextEdit(lsp.Range(position(start), position(end_old)), text)
