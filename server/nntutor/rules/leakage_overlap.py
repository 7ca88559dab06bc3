"""leakage-overlap: the same (or synthetic near-copies of the same) rows on both sides of an
evaluation: oversampling before the split, or validating on the training data."""
from __future__ import annotations

from ..findings import Severity
from ..values import args_of, follow, method_call, strip
from . import Rule
from ._splits import call_key, flow


def check(ctx):
    fl = flow(ctx)
    yield from _oversampling(ctx, fl)
    yield from _validate_on_train(ctx, fl)


def _oversampling(ctx, fl):
    splits = fl.split_events()
    if not splits:
        return
    # One finding per split: per-class `resample(...)` calls concatenated and then split are one
    # leak (the first call is reported, the others are related places).
    groups: dict = {}
    for call, what, confidence in fl.resample_events():
        key = call_key(call)
        hits = [s for s in splits if s.call.start_byte > call.start_byte
                and any(key in fl.sources(x) for x in s.inputs)]
        if hits:
            groups.setdefault(hits[0].call.start_byte, []).append((call, what, confidence, hits))
    for group in groups.values():
        group.sort(key=lambda g: -g[2])   # a certain resampler (SMOTE) before a guessed augmentation
        call, what, confidence, hits = group[0]
        others = [ctx.related(c, "more resampled rows of the same split") for c, *_rest in group[1:4]]
        first = hits[0]
        synthetic = ("synthetic neighbours of" if "SMOTE" in what or "ADASYN" in what
                     else "augmented copies of" if confidence < 1 else "duplicates of")
        kind = "Augmentation" if confidence < 1 else "Oversampling"
        later = ("split into train and test" if first.kind in ("split", "slice")
                 else f"used for {first.label}")
        yield ctx.finding(
            call,
            f"{kind} ({what}) happens before the data is {later}: {synthetic} training "
            "rows land on the evaluation side, so the model is scored on rows it has effectively "
            "seen. Split first "
            "and oversample the training part only (in cross-validation, use an imblearn "
            "Pipeline).",
            related=[ctx.related(s.call, f"the {s.label} of those rows") for s in hits[:3]] + others,
            confidence=confidence)


def _validate_on_train(ctx, fl):
    for call in fl.calls_named({"fit"}):
        recv, _m = method_call(call)
        if recv is None or fl.in_unit_test(call):   # framework unit tests do this on purpose
            continue
        pos, kw = args_of(call)
        x = pos[0] if pos else kw.get("x") or kw.get("X")
        if x is None:
            continue
        firsts = None
        if "validation_data" in kw:
            node = kw["validation_data"]
            pairs = [node]
            if len(pos) < 2 and "y" not in kw and _is_name(node) and _same_data(ctx, fl, node, x):
                firsts = [strip(node)]   # `fit(train_gen, validation_data=train_gen)`: one dataset
        elif "eval_set" in kw:
            node = kw["eval_set"]
            if _grown_before(ctx, node, call):
                continue   # `eval_set = [(X_train, y_train)]; eval_set.append((X_valid, y_valid))`
            ev = strip(follow(ctx.facts, node))
            pairs = list(ev.named_children) if ev is not None and ev.type in ("list", "tuple") else []
            if ev is not None and ev.type == "tuple" and pairs and strip(pairs[0]).type not in ("tuple", "list"):
                pairs = [ev]      # CatBoost: eval_set=(X_val, y_val)
        else:
            continue
        if firsts is None:
            if not pairs:
                continue
            firsts = [_first_of_pair(ctx, p) for p in pairs]
        if any(f is None for f in firsts):
            continue
        y = pos[1] if len(pos) > 1 else kw.get("y") or kw.get("Y")
        if y is not None and _same_data(ctx, fl, y, x) and len(firsts) == len(pairs) \
                and all(_other_targets(ctx, fl, _second_of_pair(ctx, p), y) for p in pairs):
            continue   # a reconstruction, `fit(m, m, validation_data=[m, heldout])`: held-out targets
        if all(_same_data(ctx, fl, f, x) for f in firsts):
            yield ctx.finding(
                node,
                f"The validation data is the training data (`{ctx.text(firsts[0])}`): validation "
                "scores then measure fit, not generalisation, and anything tuned or stopped on "
                "them (early stopping, checkpoints) is chosen on training rows. Validate on a "
                "held-out split.",
                related=[ctx.related(x, "the same rows used for training")])


def _grown_before(ctx, node, call) -> bool:
    """`node` names a list that gets more items (append / extend / insert / `+=`) between its
    assignment and `call`: its first pairs are not all it holds (nizamphoenix's DSBowl wrappers
    start it with the training rows, for a training curve, and add the validation fold)."""
    node = strip(node)
    if node is None or node.type != "identifier":
        return False
    facts, name = ctx.facts, ctx.text(node)
    b = facts.binding(name, call.start_byte)
    if b is None:
        return False
    for method in ("append", "extend", "insert"):
        for other, recv in facts.method_calls(method):
            recv = strip(recv)
            if recv is not None and recv.type == "identifier" and ctx.text(recv) == name \
                    and b.pos < other.start_byte < call.start_byte:
                return True
    return any(a.kind == "aug" and b.pos < a.pos < call.start_byte for a in facts.bindings.get(name, ()))


def _is_name(node) -> bool:
    node = strip(node)
    return node is not None and node.type == "identifier"


def _first_of_pair(ctx, pair):
    p = strip(follow(ctx.facts, pair))
    if p is None or p.type not in ("tuple", "list") or len(p.named_children) < 2:
        return None
    return strip(p.named_children[0])


def _second_of_pair(ctx, pair):
    p = strip(follow(ctx.facts, pair))
    if p is None or p.type not in ("tuple", "list") or len(p.named_children) < 2:
        return None
    return strip(p.named_children[1])


def _other_targets(ctx, fl, val_y, y) -> bool:
    """The validation targets are other data than the training targets: two names bound apart,
    neither computed from the other (autoencoder recommenders read the training ratings and
    are scored on held-out ones)."""
    val_y, y = strip(val_y), strip(y)
    if val_y is None or y is None or val_y.type != "identifier" or y.type != "identifier":
        return False
    if ctx.text(val_y) == ctx.text(y):
        return False
    k_val, k_y = fl.key_of(val_y), fl.key_of(y)
    return k_val != k_y and k_y not in fl.sources(val_y) and k_val not in fl.sources(y)


def _same_data(ctx, fl, a, b) -> bool:
    a, b = strip(a), strip(b)
    if a is None or b is None:
        return False
    if a.type == "identifier" and b.type == "identifier":
        return ctx.text(a) == ctx.text(b) and fl.key_of(a) == fl.key_of(b)
    return ctx.text(a) == ctx.text(b) and a.type != "call"


RULE = Rule("leakage-overlap", Severity.WARNING, "data-augmentation",
            "Oversampled rows or training rows on the evaluation side", check,
            needs=(b"fit_resample", b"fit_sample", b"resample", b"validation_data", b"eval_set",
                   b"augment", b"copies", b"upsample", b"oversample", b"duplicate"))
