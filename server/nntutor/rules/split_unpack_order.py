"""split-unpack-order: train_test_split's results unpacked in the wrong order."""
from __future__ import annotations

from ..findings import Fix, Severity
from ..parsing import F_LEFT, F_RIGHT
from ..values import args_of, strip
from . import Rule
from ._splits import flow, role_of_name, side_of_name

_PATTERNS = ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list")


def check(ctx):
    fl = flow(ctx)
    for call in fl.calls_named({"train_test_split"}):
        k = fl.split_array_count(call)
        if not k:
            continue
        parent = call.parent
        if parent is None or parent.type != "assignment" or parent.child_by_field_id(F_RIGHT) != call:
            continue
        left = parent.child_by_field_id(F_LEFT)
        if left is None or left.type not in _PATTERNS:
            continue
        items = left.named_children
        if len(items) != 2 * k or any(i.type != "identifier" for i in items):
            continue
        names = [ctx.text(i) for i in items]
        expected = _expected(ctx, call, names, k)
        if expected is None or expected == names:
            continue
        new = ", ".join(expected)
        if left.type in ("tuple_pattern", "tuple"):
            new = f"({new})"
        elif left.type in ("list_pattern", "list"):
            new = f"[{new}]"
        wrong = next(i for i, (a, b) in enumerate(zip(names, expected)) if a != b)
        what = ("the train part of each array, then its test part" if k > 1
                else "the train part first, then the test part")
        yield ctx.finding(
            left,
            f"Wrong unpacking order: train_test_split returns {what} "
            f"(`{', '.join(expected)}`). Here `{names[wrong]}` receives the data meant for "
            f"`{expected[wrong]}`, so the model trains or is scored on the wrong arrays.",
            fix=Fix(f"Unpack as `{', '.join(expected)}`", (ctx.edit(left, new),)))


def _expected(ctx, call, names, k):
    """The names in the order train_test_split fills them, or None when a name is unclear."""
    sides = [side_of_name(n) for n in names]
    if any(s is None for s in sides):
        return None
    sides = ["train" if s == "train" else "test" for s in sides]   # val is the held-out side
    if k == 1:
        roles = [role_of_name(n) for n in names]
        if roles[0] is None or roles[0] != roles[1] or sides[0] == sides[1]:
            return None
        return [names[sides.index("train")], names[sides.index("test")]]
    roles = [role_of_name(n) for n in names]
    if any(not r for r in roles):
        return None
    table: dict = {}
    for name, role, side in zip(names, roles, sides):
        if (role, side) in table:
            return None
        table[(role, side)] = name
    distinct = list(dict.fromkeys(roles))
    if len(distinct) != k or any((r, s) not in table for r in distinct for s in ("train", "test")):
        return None
    arg_roles = _arg_roles(ctx, call, k)
    if arg_roles is None or set(arg_roles) != set(distinct):
        # Arguments that do not name their role: assume the user's intended array order is the
        # order in which the roles first appear on the left.
        arg_roles = distinct
    return [table[(r, s)] for r in arg_roles for s in ("train", "test")]


def _arg_roles(ctx, call, k):
    pos, _kw = args_of(call)
    roles = []
    for a in pos[:k]:
        a = strip(a)
        if a is None or a.type != "identifier":
            return None
        r = role_of_name(ctx.text(a))
        if not r:
            return None
        roles.append(r)
    return roles if len(set(roles)) == k else None


RULE = Rule("split-unpack-order", Severity.ERROR, "data-leakage",
            "train_test_split results unpacked in the wrong order", check,
            needs=(b"train_test_split",))
