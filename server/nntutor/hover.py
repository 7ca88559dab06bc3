"""What is under the cursor, and what to teach about it.

Position -> node -> qualified name (or Keras string argument) -> concept card, plus facts
computed from this very call's arguments (Dropout p, LSTM shapes, Conv2d output size ...)."""
from __future__ import annotations

from dataclasses import dataclass

from .callfacts import call_facts
from .parsing import F_ATTRIBUTE, F_FUNCTION, F_NAME, F_OBJECT
from .values import args_of, string_value

KEYWORDS = ("activation", "loss", "optimizer")
# Methods that, called on a value whose type is unknown, are PyTorch tensor methods in any file
# that imports torch (no other common Python type has them).
TENSOR_ONLY_METHODS = frozenset({"backward", "detach", "detach_", "requires_grad_", "retain_grad"})
# ... and the device moves that tensors and modules share (`batch.to(device)`, `net.cuda()`).
DEVICE_MOVES = frozenset({"to", "cuda", "cpu"})


@dataclass
class HoverTarget:
    concept_id: str
    node: object          # the node to highlight (the name or the string)
    call: object | None   # the call expression, when the name is being called
    qual: str
    workspace: object = None   # models.Workspace: model classes of other files (call facts)


def hover_view(doc, offset: int):
    """The version of `doc` a hover at byte `offset` reads: the text the rules read
    (`Document.analysable`), except on a statement that leaves out, which is read as written
    (with facts of its own)."""
    view = doc.analysable()
    if any(s.start <= offset <= s.end for s in view.left_out):
        return doc.as_written()
    return view


def target_at(doc, catalog, offset: int, workspace=None) -> HoverTarget | None:
    """The taught thing at byte `offset`, or None. `workspace`: the model classes of the other
    files (models.Workspace), so `model.eval()` on a model class defined elsewhere resolves."""
    node = doc.tree.root_node.named_descendant_for_byte_range(offset, offset)
    if node is None:
        return None
    facts = doc.facts
    # Keras string arguments: activation="softmax"
    if node.type in ("string_content", "string", "string_start", "string_end"):
        s = node if node.type == "string" else node.parent
        kw = s.parent if s is not None else None
        if kw is not None and kw.type == "keyword_argument":
            name = kw.child_by_field_id(F_NAME)
            value = string_value(s)
            if name is not None and value is not None and doc.text(name) in KEYWORDS:
                concept = catalog.concept_for_keyword(doc.text(name), value)
                if concept is not None:
                    return HoverTarget(concept.id, s, None, f'{doc.text(name)}="{value}"')
        return None
    if node.type != "identifier":
        return None
    # Climb to the full attribute chain the identifier ends: nn.Dropout, torch.nn.functional.dropout
    expr = node
    while expr.parent is not None and expr.parent.type == "attribute" and \
            expr.parent.child_by_field_id(F_ATTRIBUTE) == expr:
        expr = expr.parent
    qual = facts.qual(expr)
    call = expr.parent if expr.parent is not None and expr.parent.type == "call" and \
        expr.parent.child_by_field_id(F_FUNCTION) == expr else None
    if qual is None and expr.type == "attribute":
        # Method on an object: criterion(...)? model.eval() -> torch.nn.Module.eval
        from .values import Values

        obj = expr.child_by_field_id(F_OBJECT)
        values = Values(facts, workspace)
        cls_qual, _ = values.instance(obj)
        if cls_qual is not None:
            attr = doc.text(expr.child_by_field_id(F_ATTRIBUTE))
            module = torch_module_class(values, cls_qual)
            for candidate in (f"{cls_qual}.{attr}", f"torch.nn.Module.{attr}" if module else None,
                              f"torch.optim.Optimizer.{attr}" if cls_qual.startswith("torch.optim.") else None):
                if candidate and catalog.concept_for(candidate) is not None:
                    qual = candidate
                    break
    if qual is None and expr.type == "attribute" and call is not None and _imports_torch(facts):
        # `loss.backward()` on a value of unknown type: these method names are tensor methods.
        attr = doc.text(expr.child_by_field_id(F_ATTRIBUTE))
        if attr in TENSOR_ONLY_METHODS or attr in DEVICE_MOVES:
            qual = f"torch.Tensor.{attr}"   # (a move's facts say module or tensor: devicefacts.py)
    if qual is None and expr.type == "identifier":
        # A variable holding a taught object: hovering `criterion` shows CrossEntropyLoss.
        from .values import Values

        cls_qual, ctor = Values(facts).instance(expr)
        if cls_qual is not None and catalog.concept_for(cls_qual) is not None:
            qual, call = cls_qual, ctor
    if qual is None:
        return None
    concept = catalog.concept_for(qual)
    if concept is None:
        return None
    return HoverTarget(concept.id, expr, call, qual, workspace)


def torch_module_class(values, qual: str) -> bool:
    """Objects of `qual` are torch modules (rules._training.torch_module_qual), and certainly
    so: of `torch.nn` only its classes (not a function of torch.nn.functional / init / utils,
    nor nn.Parameter, a tensor), of transformers not its TF / JAX models."""
    from .models import is_model_factory
    from .rules._training import torch_module_qual

    last = qual.rsplit(".", 1)[-1]
    if qual.startswith("torch.nn.") and not (last[:1].isupper() and qual.count(".") == 2
                                             and last not in ("Parameter", "Buffer")):
        return False
    if is_model_factory(qual) and last.startswith(("TF", "Flax")):
        return False
    return torch_module_qual(values, qual)


def _imports_torch(facts) -> bool:
    return any(v == "torch" or v.startswith("torch.") for v in facts.imports.values())

def render(catalog, target: HoverTarget, doc, docs_base: str | None = None) -> str:
    """Markdown for a tooltip: title, summary, this call's facts, pitfalls, interview question."""
    c = catalog.concepts[target.concept_id]
    parts = [f"**{c.title}** — {c.summary}"]
    facts = call_facts(doc, target)
    if facts:
        parts.append("\n".join(f"- {f}" for f in facts))
    if c.pitfalls:
        parts.append("**Pitfalls**\n" + "\n".join(f"- {p}" for p in c.pitfalls[:3]))
    questions = [f"*{catalog.questions[s]}* ({s})" for s in c.seeds[:2] if s in catalog.questions]
    if questions:
        parts.append("**Interview:** " + " · ".join(questions))
    links = []
    if docs_base:
        links.append(f"[Full card]({docs_base}/concepts/{c.id}.md)")
        links += [f"[{r}]({docs_base}/rules/{r}.md)" for r in c.rules[:3]]
    if c.quiz:
        links.append(f"{len(c.quiz)} quiz items")
    if links:
        parts.append(" · ".join(links))
    return "\n\n".join(parts)


def concepts_in(doc, catalog) -> dict[str, list[int]]:
    """Concept id -> 0-based virtual lines where it appears (calls/names that trigger cards, and
    Keras string arguments). Used by the quiz views."""
    found: dict[str, list[int]] = {}
    facts = doc.facts
    index = doc.index
    for call in facts.calls:
        q = facts.callee_qual(call)
        concept = catalog.concept_for(q) if q else None
        if concept is not None:
            found.setdefault(concept.id, []).append(index.line_of(call.start_byte))
        _, kw = args_of(call)
        for key in KEYWORDS:
            if key in kw:
                value = string_value(kw[key])
                c2 = catalog.concept_for_keyword(key, value) if value else None
                if c2 is not None:
                    found.setdefault(c2.id, []).append(index.line_of(kw[key].start_byte))
    return found


def suppression_hover(doc, catalog, offset: int, docs_base: str | None = None):
    """(start byte, end byte, markdown) when `offset` is on a rule id of a `# nntutor: ignore[...]`
    directive: what that rule reports, so a reader sees what the line is excused from."""
    from .suppressions import directives

    facts = doc.facts
    if not facts.in_comment(offset) and not (offset > 0 and facts.in_comment(offset - 1)):
        return None
    for s in directives(facts):
        if not s.start <= offset <= s.end:
            continue
        for rid in s.ids:
            if rid.start <= offset <= rid.end:
                rule = catalog.rules.get(rid.name)
                if rule is None:
                    return None   # not a rule: the unused-suppression diagnostic says so
                scope = "in this whole file" if s.file_wide else "on this line"
                parts = [f"**{rule.title}** (`{rule.id}`, {rule.severity}) — silenced {scope}",
                         rule.summary]
                if docs_base:
                    parts.append(f"[Rule doc]({docs_base}/rules/{rule.id}.md) · `nntutor explain {rule.id}`")
                return rid.start, rid.end, "\n\n".join(parts)
    return None
