"""accelerator-check-not-called: `torch.cuda.is_available` without parentheses, tested as a truth value.

A function object is always true, so `if torch.cuda.is_available:`, `"cuda" if
torch.cuda.is_available else "cpu"`, `not args.no_cuda and torch.cuda.is_available`, `assert
...`, `bool(...)` or `... == True` give the same answer on every machine: the GPU path is taken
where there is no GPU, and `not torch.cuda.is_available` never fires. The same holds for torch's
other boolean checks (`torch.backends.mps.is_available` / `is_built`, `torch.backends.cudnn.
is_available`, `torch.cuda.is_bf16_supported`, `torch.distributed.is_available` /
`is_initialized`, `torch.xpu` / `torch.accelerator.is_available`) and TensorFlow's
`tf.test.is_gpu_available` / `is_built_with_cuda`, in any spelling the imports allow
(`from torch.cuda import is_available`, `import torch.cuda as tcuda`). A plain name assigned the
bare function and then tested (`use_gpu = torch.cuda.is_available`, `if use_gpu:`) is reported
where it is tested.

Left alone: the call; a reference kept or passed as a callable (`check = torch.cuda.is_available`
called later, a list of checks, `callable(...)`, `functools.partial(...)`, `mock.patch.object`,
`x or torch.cuda.is_available` stored as a fallback callable); an attribute of some other object
that happens to share the name (`self.is_available`, `slot.is_initialized`): only names that
resolve through the file's imports count, and not where the file rebinds them; and comments and
strings (the text is searched outside comments, and only identifier nodes count).

hardcoded-cuda still counts `if torch.cuda.is_available:` as an availability check for its own
purpose; this rule reports the missing call itself.
"""
from __future__ import annotations

import re

from ..findings import Severity
from ..parsing import F_ATTRIBUTE, F_CONDITION, F_FUNCTION, F_LEFT, F_OBJECT
from ..values import assigned_name, strip
from . import Rule
from ._bare import call_fix

_GPU = 'on a machine without {what} the code still takes the {where} path and fails at the first ' \
       'tensor moved there (`.to("{device}")`)'
_TF_GPU = "on a machine without a GPU the code still takes its GPU path"
# qualified name -> what a true answer would wrongly claim happened
CHECKS = {
    "torch.cuda.is_available": _GPU.format(what="a GPU", where="GPU", device="cuda"),
    "torch.backends.cuda.is_built": _GPU.format(what="a GPU", where="GPU", device="cuda"),
    "torch.backends.mps.is_available": _GPU.format(what="an Apple GPU", where="MPS", device="mps"),
    "torch.backends.mps.is_built": _GPU.format(what="an Apple GPU", where="MPS", device="mps"),
    "torch.xpu.is_available": _GPU.format(what="an Intel GPU", where="XPU", device="xpu"),
    "torch.accelerator.is_available": "on a machine without an accelerator the code still takes the "
                                      "accelerator path and fails at the first tensor moved there",
    "torch.backends.cudnn.is_available": "the code takes its cuDNN path on every machine, also with "
                                         "a build of PyTorch that has no cuDNN (a CPU-only build)",
    "torch.cuda.is_bf16_supported": "bfloat16 is chosen on every machine, whatever the GPU supports "
                                    "(and where there is no GPU at all)",
    "torch.distributed.is_available": "the code takes its distributed path also on a PyTorch build "
                                      "without distributed support",
    "torch.distributed.is_initialized": "the code takes its distributed path in a plain single-process "
                                        "run too, where calls such as `dist.get_rank()` fail because no "
                                        "process group was initialised",
    "tensorflow.test.is_gpu_available": _TF_GPU,
    "tensorflow.compat.v1.test.is_gpu_available": _TF_GPU,
    "tensorflow.test.is_built_with_cuda": _TF_GPU,
}
# The checks' last names not followed by `(`, searched outside comments (a match counts only on
# an identifier node, never in a string). The lookahead drops the calls, nearly every match,
# before the tree is asked; a call whose `(` is on the next line is still told apart on the tree.
_NAMES = re.compile(rb"\b(?:is_available|is_built|is_bf16_supported|is_initialized|is_gpu_available|"
                    rb"is_built_with_cuda)\b(?![ \t]*\()")
_BOOLS = frozenset({"true", "false"})
_TRUTH_STATEMENTS = frozenset({"if_statement", "elif_clause", "while_statement"})


def check(ctx):
    facts = ctx.facts
    root = ctx.doc.tree.root_node
    for m in facts.code_matches(_NAMES):
        ident = root.descendant_for_byte_range(m.start(), m.end())
        if ident is None or ident.type != "identifier" or ident.start_byte != m.start() \
                or ident.end_byte != m.end():
            continue
        parent = ident.parent
        ref = parent if parent is not None and parent.type == "attribute" \
            and parent.child_by_field_id(F_ATTRIBUTE) == ident else ident
        qual = _checked_function(ctx, ref)
        if qual is None:
            continue
        use = truth_use(ref)
        if use is not None:
            yield _finding(ctx, ref, ref, qual, use, stored=False)
            continue
        # `use_gpu = torch.cuda.is_available`, then `if use_gpu:`
        stmt, left = assigned_name(ref)
        if stmt is None:
            continue
        name = ctx.text(left)
        for other in facts.identifiers_named(name):
            if other.start_byte < stmt.end_byte:
                continue
            b = facts.binding(name, other.start_byte)
            if b is None or b.target != left:
                continue
            use = truth_use(other)
            if use is not None:
                yield _finding(ctx, other, ref, qual, use, stored=True)


def _checked_function(ctx, ref) -> str | None:
    """The qualified name of the availability check `ref` names (not calls), or None: a name
    the file rebinds (`is_initialized = ...`, a parameter `dist`) is not the imported one; an
    optional import's fallback (`except ImportError: torch = None`) leaves it the import."""
    if ref.parent is not None and ref.parent.type == "call" and ref.parent.child_by_field_id(F_FUNCTION) == ref:
        return None
    qual = ctx.facts.qual(ref)
    if qual not in CHECKS:
        return None
    head = ref
    while head.type == "attribute":
        head = head.child_by_field_id(F_OBJECT)
    name = ctx.text(head)
    b = ctx.facts.binding(name, head.start_byte)
    if b is not None and not (b.kind == "assign" and b.value is not None and b.value.type == "none"):
        return None
    if ctx.facts.functions_named(name):
        return None
    return qual


def truth_use(node) -> str | None:
    """How the value of `node` is used as a truth value, or None: "test" (a condition, an
    `and` / `or` operand, `assert`, `bool(...)`), "not", or the comparison node's operator
    (`==`, `is` ... with True or False)."""
    child, parent = node, node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        child, parent = parent, parent.parent
    if parent is None:
        return None
    kind = parent.type
    if kind in _TRUTH_STATEMENTS:
        return "test" if parent.child_by_field_id(F_CONDITION) == child else None
    if kind == "conditional_expression":
        parts = [c for c in parent.named_children if c.type not in ("line_continuation", "comment")]
        return "test" if len(parts) == 3 and parts[1] == child else None
    if kind == "not_operator":
        return "not"
    if kind == "boolean_operator":
        if parent.child_by_field_id(F_LEFT) == child or _boolean_operator(parent) == "and":
            return "test"
        # `custom_check or torch.cuda.is_available`: a fallback callable, unless the whole
        # expression is itself tested
        return "test" if truth_use(parent) is not None else None
    if kind in ("assert_statement", "if_clause"):
        first = next((c for c in parent.named_children if c.type != "comment"), None)
        return "test" if first == child or kind == "if_clause" else None
    if kind == "comparison_operator":
        operands = [c for c in parent.named_children if c.type != "comment"]
        if len(operands) == 2 and any(strip(o).type in _BOOLS for o in operands if o != child):
            return _operator(parent)
        return None
    if kind == "argument_list":
        call = parent.parent
        fn = call.child_by_field_id(F_FUNCTION) if call is not None else None
        args = [c for c in parent.named_children if c.type != "comment"]
        if fn is not None and fn.type == "identifier" and fn.text.decode() == "bool" and args == [child]:
            return "test"
    return None


def _boolean_operator(boolean) -> str:
    """`and` or `or`, the operator of a boolean_operator node."""
    for c in boolean.children:
        if c.type in ("and", "or"):
            return c.type
    return ""


def _operator(comparison) -> str:
    return " ".join(c.type for c in comparison.children if not c.is_named) or "=="


def _finding(ctx, node, ref, qual, use, stored):
    text = ctx.text(ref)
    consequence = CHECKS[qual]
    shown = ctx.text(node)
    if use == "test":
        outcome = f"a function is always true, so the check passes on every machine: {consequence}"
    elif use == "not":
        outcome = (f"a function is always true, so `not {shown}` is always False and the branch for "
                   f"when the check fails never runs")
    else:
        always = "False" if use in ("==", "is") else "True"
        outcome = (f"a function is never equal to True or False, so this comparison is always {always} "
                   f"on every machine")
    if not stored:
        start = f"`{text}` without parentheses is the function itself, not its answer: "
        fix = call_fix(ctx, ref)
        related = ()
    else:
        start = f"`{shown}` holds the function `{text}` itself, not its answer: "
        fix = None
        related = (ctx.related(ref, "assigned the function here, without calling it"),)
    return ctx.finding(node, f"{start}{outcome}. Call it: `{text}()`.", fix=fix, related=related)


RULE = Rule("accelerator-check-not-called", Severity.ERROR, "device-placement",
            "torch.cuda.is_available (or another availability check) tested without parentheses",
            check, needs=(b"is_available", b"is_built", b"is_bf16_supported", b"is_initialized",
                          b"is_gpu_available"))
