"""Results thrown away: a call that is a statement of its own, and whether a notebook shows it
(shared by tensor-to-discarded and dataset-op-discarded)."""
from __future__ import annotations


def discarding_statement(call):
    """The expression statement whose value is `call` (alone or in a tuple of calls), else None."""
    node = call
    while node.parent is not None and node.parent.type == "parenthesized_expression":
        node = node.parent
    parent = node.parent
    if parent is not None and parent.type == "tuple":
        node, parent = parent, parent.parent
    if parent is not None and parent.type == "expression_statement":
        return parent
    return None


def shown_by_notebook(ctx, stmt) -> bool:
    """The last top-level statement of a notebook cell: Jupyter displays its value, so
    `x.float()` there may be a look at the data, not a forgotten assignment."""
    doc = ctx.doc
    if doc.cell_map is None or not doc.cell_map.cells or stmt.parent is None or stmt.parent.type != "module":
        return False
    if doc.data[stmt.end_byte:stmt.end_byte + 1] == b";" or (
            stmt.next_sibling is not None and stmt.next_sibling.type == ";"):
        return False   # `x.float();`: the semicolon hides the value
    after = stmt.next_named_sibling
    while after is not None and after.type == "comment":
        after = after.next_named_sibling
    return after is None or doc.location(after.start_byte)[0] != doc.location(stmt.start_byte)[0]
