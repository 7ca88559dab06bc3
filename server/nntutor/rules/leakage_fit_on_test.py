"""leakage-fit-on-test: a transformer or a model fitted on the test split."""
from __future__ import annotations

import re

from ..findings import Fix, Severity
from ..parsing import (
    F_ATTRIBUTE,
    F_BODY,
    F_DEFINITION,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_PARAMETERS,
    F_RIGHT,
    F_VALUE,
)
from ..values import args_of, follow, method_call, strip
from . import Rule
from ._splits import _root_identifier, callee_name, flow, short, tokens

_FIT_METHODS = ("fit", "fit_transform", "adapt")
# Receivers that are library namespaces, not estimators: `scipy.stats.norm.fit(sample)` fits a
# distribution for analysis, which is fine on any data.
_NOT_ESTIMATORS = ("scipy", "numpy", "statsmodels", "pandas", "math", "statistics")
# Clusterers that cannot label new rows (no predict): fitting on the rows to cluster is their
# only use, and no labels are involved (DBSCAN on the test rows). Not embeddings such as TSNE:
# `tsne.fit_transform(X_test)` puts the test rows in a space of their own, which a model trained
# on the training rows' embedding cannot read (amueller's t-SNE exercise shows exactly that).
_TRANSDUCTIVE = frozenset({"DBSCAN", "OPTICS", "HDBSCAN", "AgglomerativeClustering", "SpectralClustering"})
# Transformers whose fit learns nothing from the values of the rows (PolynomialFeatures only
# counts the columns): fitting them on the test rows gives what `transform` would.
_STATELESS = frozenset({"Normalizer", "FunctionTransformer", "PolynomialFeatures", "Binarizer",
                        "HashingVectorizer"})
# tslearn's scalers normalise each series along its own time axis; their fit only records the
# input's shape ("completely stateless", says its docstring).
_PER_SERIES = frozenset({"tslearn.preprocessing.TimeSeriesScalerMeanVariance",
                         "tslearn.preprocessing.TimeSeriesScalerMinMax",
                         "tslearn.preprocessing.preprocessing.TimeSeriesScalerMeanVariance",
                         "tslearn.preprocessing.preprocessing.TimeSeriesScalerMinMax"})
# Embeddings that are as often fitted to look at the data (a 2-D or 3-D scatter of the test rows)
# as to feed a model: fitted on test rows they are reported only when their output reaches one.
_EMBEDDINGS = frozenset({"PCA", "TSNE", "UMAP", "Isomap", "MDS", "LocallyLinearEmbedding",
                         "SpectralEmbedding", "TruncatedSVD", "KernelPCA", "IncrementalPCA"})
# Libraries whose objects explain or audit a trained model (counterfactuals, SHAP, LIME): their
# `fit` builds a background set or a k-d tree from the rows to explain, not a model.
# (Not eli5's PermutationImportance: with cv=5 it refits the model on the rows; see below.)
_EXPLAINERS = ("alibi.", "shap.", "lime.", "dice_ml.")   # (not InterpretML: it has glass-box models too)


def check(ctx):
    fl = flow(ctx)
    facts = ctx.facts
    for call in fl.calls_named(_FIT_METHODS):
        recv, m = method_call(call)
        if recv is None:
            continue
        recv = strip(recv)
        rq = facts.qual(recv) if recv is not None and recv.type in ("identifier", "attribute") else None
        if rq is not None and rq.split(".", 1)[0] in _NOT_ESTIMATORS:
            continue
        pos, kw = args_of(call)
        data = _data_of(call)
        if data is None:
            continue
        side, by_flow, _keys = fl.origin(data)
        part = None   # the held-out part of a loop over the parts (`for df in [train, test]:`)
        if side not in ("test", "val"):
            side, by_flow, part = _loop_over_parts(fl, data) or (side, by_flow, None)
            if side not in ("test", "val"):
                continue
        cq, ctor = ctx.values.instance(recv)
        if _scores_a_prefit_model(ctx, cq, ctor):
            continue
        if cq is not None and cq.startswith("sklearn.") and short(cq) in _TRANSDUCTIVE | _STATELESS:
            continue
        if cq in _PER_SERIES:
            continue   # each test series scaled by its own statistics, as transform would
        if cq is None and _learns_nothing(ctx, recv):
            continue   # a transformer class of the file whose fit() only returns self
        if short(cq) in _CATEGORY_CODERS and _categories_given(ctx, ctor):
            continue   # `OrdinalEncoder(categories=[["low", "mid", "high"]])` learns nothing
        if cq is not None and cq.startswith(_EXPLAINERS):
            continue   # an explainer fitted on the rows it explains: no model learns them
        if m == "fit" and _truth_against_predictions(ctx, data, pos[1] if len(pos) > 1 else kw.get("y")):
            continue   # a line through the actual-vs-predicted scatter: a diagnostic, not a model
        # (an estimator looked up in a table of embeddings, `methods[name]["method"]`, is one too)
        if (short(cq) in _EMBEDDINGS or cq is None and _table_of_embeddings(ctx, recv)) \
                and _only_looked_at(ctx, fl, call, recv):
            continue   # a PCA / t-SNE of the test rows drawn in a plot, read by no model
        transformer = m in ("fit_transform", "adapt") or _is_transformer(cq)
        if part is not None and not transformer:
            continue  # a model fitted on each part in turn: a comparison, not an evaluation
        named = ctx.text(part if part is not None else data)
        if side == "val" and (not transformer or _names_a(_JOB_TOKENS, named)
                              or not _names_a(_VALIDATION_TOKENS, named)
                              or short(cq) in _LABEL_CODERS):
            # A model fitted on validation data: stacking, blending, calibration. And only data
            # named so: the rows of a cross-validation fold (`X.loc[train_index]` in a loop over
            # `split.split(X)`, a one-split StratifiedShuffleSplit) read as "val" either way.
            continue
        if not transformer and _next_use_is_on_train(fl, call, recv):
            continue  # two-fold by hand: the half fitted here predicts the other half
        if transformer and not by_flow and not _test_labels(ctx) \
                and _next_use_is_on_train(fl, call, recv, also_unknown=True):
            # `X_test = sc.fit_transform(X_test); X = sc.transform(X)`: a competition's unlabelled
            # test file, and both sides get the same transformation (transductive preprocessing,
            # as fitting on train and test joined, which leakage-preprocessing accepts for it);
            # not when the file has test labels to score against (`y_test`)
            continue
        if transformer and not by_flow and _refitted_per_item(ctx, fl, call, recv):
            continue  # a per-image normalisation, tried out on a sample named `test_image`
        name = ctx.text(recv)
        if len(name) > 30:
            name = short(cq) or "estimator"   # `estimator.fit`: a name, never a phrase in backticks
        arg = ctx.text(data)
        if part is not None:
            where = f"`{ctx.text(part)}` (the loop over the parts refits it on each part alone)"
        elif side == "val":
            where = "the validation split" if by_flow else f"`{arg}`, which looks like validation data"
        else:
            where = "the test split" if by_flow else f"`{arg}`, which looks like test data"
        if side == "val":
            msg = (f"`{name}.{m}` learns from {where}: the validation rows are then transformed with "
                   "their own statistics instead of the ones the model was trained with, so the "
                   "validation score, and every choice made on it, is off. Fit on the training "
                   f"data and only call `{name}.transform(...)` on the validation data.")
        elif transformer and short(cq) in _CATEGORY_CODERS:
            msg = (f"`{name}.{m}` learns the categories of {where}: codes are assigned by what "
                   "the test rows contain, so the same category can get another code (or column) "
                   "than in training, and the model reads the wrong values. Fit on the training "
                   f"data and only call `{name}.transform(...)` on the test data (with "
                   "`handle_unknown` for categories training never saw).")
        elif transformer:
            msg = (f"`{name}.{m}` learns from {where}: the test rows are then transformed with "
                   "their own statistics (means, components, vocabulary...) instead of the ones "
                   "the model was trained with, and the test distribution leaks into the "
                   "evaluation. Fit on the training data and only call "
                   f"`{name}.transform(...)` on the test data.")
        else:
            msg = (f"`{name}.fit` trains on {where}: the model learns the rows it is evaluated on, "
                   "so the test score measures memory, not generalisation. Fit on the training "
                   "split.")
        fix, related = None, []
        prior = _prior_train_fit(fl, call, recv)
        if prior is not None:
            related.append(ctx.related(prior, "already fitted on the training data here"))
            if m == "fit_transform" and _has_transform(ctx, cq, recv) and _transform_is_certain(fl, call, recv):
                attr = call.child_by_field_id(F_FUNCTION).child_by_field_id(F_ATTRIBUTE)
                fix = Fix(f"Use `{name}.transform` (statistics from the training data)",
                          (ctx.edit(attr, "transform"),))
        yield ctx.finding(call, msg, related=related, fix=fix, confidence=1.0 if by_flow else 0.6)


# Held-out parts that have a job of their own (`X_blend`, `X_cal`, `meta_train`): a pipeline
# fitted on them is the meta-model's or the calibrator's, fitted there on purpose.
_JOB_TOKENS = frozenset({"cal", "calib", "calibration", "blend", "blending", "meta", "stack",
                         "tune", "tuning", "es", "oof"})


# Label codings learn the set of classes, no statistic of the rows (`LabelEncoder().fit(y_valid)`
# codes them as the training one does whenever both see every class).
_LABEL_CODERS = frozenset({"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer"})
# Encoders whose fit only learns the categories (no statistic of the values).
_CATEGORY_CODERS = _LABEL_CODERS | {"OrdinalEncoder", "OneHotEncoder"}
_VALIDATION_TOKENS = frozenset({"val", "valid", "validation", "dev", "vl", "va"})


_FOLD_LOOP = re.compile(r"(?i)split|fold|\bkf\b|\bcv\b")


def _refitted_per_item(ctx, fl, call, recv) -> bool:
    """The same transformer is fitted again in a loop over items (files, images, volumes), not
    over the folds of a split: it normalises each item on its own (BraTS volumes scaled to [0, 1]
    one by one), so fitting it on one more item, named `test_...`, learns nothing shared."""
    name = ctx.text(recv)
    for other in fl.calls_named(_FIT_METHODS):
        if other.start_byte == call.start_byte:
            continue
        orecv, _m = method_call(other)
        loop = ctx.facts.innermost_loop(other.start_byte)
        if orecv is None or ctx.text(strip(orecv)) != name or loop is None or loop.type != "for_statement":
            continue
        header = loop.child_by_field_id(F_RIGHT)
        if header is None or _FOLD_LOOP.search(ctx.text(header)):
            continue
        pos, kw = args_of(other)
        data = pos[0] if pos else kw.get("X")
        if data is not None and _made_in(ctx, data, loop) and _loop_over_parts(fl, data) is None:
            return True   # fitted on the loop's own item (`temp_image` loaded from `path`)
    return False


def _loop_over_parts(fl, data):
    """(side, by_flow, part) when the data is read from the target of a loop over the parts of
    the data (`for df in [train, test]: le.fit_transform(df[col])`, `sets = [train, test]; for
    s in sets:`, through `enumerate` too) and one of those parts is held out: that pass fits on
    it. None otherwise (a loop over the training parts only, over files, over folds)."""
    root = _root_identifier(data)
    b = fl.binding_of(root) if root is not None else None
    if b is None or b.kind != "for" or b.value is None:
        return None
    items = strip(b.value)
    if b.index is not None:   # `for i, df in enumerate([train, test])`
        if b.index != 1 or b.count != 2 or items is None or items.type != "call" \
                or callee_name(items) != "enumerate":
            return None
        pos, _kw = args_of(items)
        items = strip(pos[0]) if len(pos) == 1 else None
    items = strip(follow(fl.facts, items)) if items is not None else None
    if items is None or items.type not in ("list", "tuple"):
        return None
    found = None
    for item in items.named_children:
        if item.type in ("list_splat", "comment"):
            return None
        side, by_flow, _keys = fl.origin(item)
        if side == "test" or (side == "val" and found is None):
            found = (side, by_flow, item)
    return found


def _made_in(ctx, data, loop) -> bool:
    """The data's root name is bound inside `loop` (its target, or an assignment in its body)."""
    node = strip(data)
    while node is not None and node.type in ("attribute", "subscript", "call"):
        if node.type == "call":
            recv, _m = method_call(node)
            node = strip(recv) if recv is not None else None
        else:
            node = strip(node.child_by_field_id(F_OBJECT if node.type == "attribute" else F_VALUE))
    if node is None or node.type != "identifier":
        return False
    b = ctx.facts.binding(ctx.text(node), node.start_byte)
    return b is not None and loop.start_byte <= b.pos < loop.end_byte


def _names_a(wanted: frozenset, text: str) -> bool:
    """A name in `text` has one of the `wanted` tokens (`X_val_scaled`: x, val, scaled)."""
    return any(t in wanted for name in re.findall(r"[A-Za-z_]\w*", text) for t in tokens(name))


_USES = ("predict", "predict_proba", "predict_log_proba", "decision_function", "score",
         "evaluate", "transform")


def _next_use_is_on_train(fl, call, recv, also_unknown: bool = False) -> bool:
    """The model fitted on the test half is next used on the training half (`model.fit(X2, y2)
    .predict(X1)`, or the next `model.score(X_train, ...)` before any refit): swapped halves,
    cross-validation written out by hand, not a test score of a model that saw the test rows."""
    use = None
    parent = call.parent
    if parent is not None and parent.type == "attribute" and parent.parent is not None \
            and parent.parent.type == "call":
        use = parent.parent  # chained: model.fit(...).predict(...)
    elif recv.type == "identifier":
        name, key = fl.text(recv), fl.key_of(recv)
        scope = fl.facts.scope_id(call.start_byte)
        for other in fl.facts.calls:
            if other.start_byte <= call.start_byte:
                continue
            orecv, om = method_call(other)
            orecv = strip(orecv)
            if om is None or orecv is None or orecv.type != "identifier" or fl.text(orecv) != name:
                continue
            if fl.facts.scope_id(other.start_byte) != scope or fl.key_of(orecv) != key:
                continue
            if om in _FIT_METHODS:
                return False
            if om in _USES:
                use = other
                break
    if use is None:
        return False
    _recv, um = method_call(use)
    if um not in _USES:
        return False
    data = _data_of(use)
    if data is None:
        return False
    side = fl.origin(data)[0]
    if side == "train":
        return True
    fitted = _data_of(call)
    # (with `also_unknown`: data of unknown side, other than what was fitted: `X` after `X_test`)
    return also_unknown and side not in ("test", "val") and fitted is not None \
        and fl.text(strip(data)) != fl.text(strip(fitted))


_TEST_LABELS = re.compile(rb"\b(?:y_?(?:test|tst)|(?:test|tst)_?(?:y|labels?|targets?))\b", re.IGNORECASE)


def _test_labels(ctx) -> bool:
    """The file names test labels (`y_test`, `test_labels`): a test set that gets scored."""
    return bool(ctx.facts.code_matches(_TEST_LABELS))


def _data_of(call):
    """The data argument of a fit / transform / predict call."""
    pos, kw = args_of(call)
    return pos[0] if pos else kw.get("X") or kw.get("x")


def _is_transformer(qual) -> bool:
    if not qual or not qual.startswith("sklearn."):
        return False
    mod = qual.split(".")[1] if qual.count(".") >= 2 else ""
    return mod in ("preprocessing", "impute", "decomposition", "feature_selection",
                   "feature_extraction", "compose", "random_projection", "kernel_approximation",
                   "manifold")


_TARGET_NAME = re.compile(r"(?i)^(?:y|labels?|targets?)(?:_|$)|(?:^|_)(?:true|actual|truth)(?:_|$)")
_PREDICTING = frozenset({"predict", "predict_proba"})


def _learns_nothing(ctx, recv) -> bool:
    """`recv` is built from a class of the file whose `fit` stores nothing (`def fit(self, X,
    y=None): return self`, the usual stateless custom transformer)."""
    made = strip(follow(ctx.facts, recv)) if recv is not None and recv.type == "identifier" else None
    fn = made.child_by_field_id(F_FUNCTION) if made is not None and made.type == "call" else None
    if fn is None or fn.type != "identifier":
        return False
    for node in ctx.facts.classes_nodes:
        name = node.child_by_field_id(F_NAME)
        if name is None or ctx.text(name) != ctx.text(fn):
            continue
        body = node.child_by_field_id(F_BODY)
        for d in body.named_children if body is not None else ():
            d = d.child_by_field_id(F_DEFINITION) if d.type == "decorated_definition" else d
            dname = d.child_by_field_id(F_NAME) if d is not None and d.type == "function_definition" else None
            if dname is None or ctx.text(dname) != "fit":
                continue
            stmts = [c for c in d.child_by_field_id(F_BODY).named_children if c.type != "comment"]
            # a docstring, `pass`, then `return self`
            return bool(stmts) and ctx.text(stmts[-1]).replace(" ", "") == "returnself" and all(
                c.type == "pass_statement" or (c.type == "expression_statement" and c.named_children
                                               and c.named_children[0].type == "string")
                for c in stmts[:-1])
    return False


def _categories_given(ctx, ctor) -> bool:
    """An encoder built with its categories written out (not `categories="auto"`)."""
    if ctor is None:
        return False
    _pos, kw = args_of(ctor)
    given = kw.get("categories") or kw.get("classes")
    if any(k in kw and ctx.text(kw[k]) != "None" for k in ("min_frequency", "max_categories")):
        return False   # infrequent categories are still counted on the rows
    return given is not None and ctx.text(given).strip("'\"") != "auto"


def _truth_against_predictions(ctx, x, y) -> bool:
    """`LinearRegression().fit(y_test.values.reshape(-1, 1), y_pred)`: the true targets as the
    only feature and another model's predictions as the target (an R^2 of the actual-vs-
    predicted scatter)."""
    if x is None or y is None:
        return False
    root = strip(x)
    while root is not None and root.type in ("call", "attribute", "subscript"):
        root = strip(root.child_by_field_id(F_FUNCTION) if root.type == "call"
                     else root.child_by_field_id(F_OBJECT) if root.type == "attribute"
                     else root.child_by_field_id(F_VALUE))
    if root is None or root.type != "identifier" or not _TARGET_NAME.search(ctx.text(root)):
        return False
    made = strip(follow(ctx.facts, y))
    return made is not None and made.type == "call" and method_call(made)[1] in _PREDICTING


# Calls that show data: plotting (matplotlib, seaborn, plotly) and printing.
_LOOKING = frozenset({"scatter", "plot", "imshow", "hist", "bar", "annotate", "text", "scatter3D",
                      "plot_surface", "print", "display", "scatterplot", "lineplot", "kdeplot",
                      "jointplot", "pairplot", "heatmap", "scatter_3d", "line"})
_SHAPES = frozenset({"shape", "ndim", "size", "dtype"})


def _only_looked_at(ctx, fl, call, recv) -> bool:
    """Closed world: every output of the embedding fitted by `call` (this `fit_transform`, later
    `recv.transform(...)` calls) is only drawn, printed, looked at for its shape or kept in a
    dict; any other use (a model, a DataFrame's columns, a tensor, `validation_data=`) may
    feed a model."""
    outputs = [call] if method_call(call)[1] == "fit_transform" else []
    if recv.type == "identifier":
        key = fl.key_of(recv)
        outputs += [c for c, r in fl.facts.method_calls("transform")
                    if c.start_byte > call.start_byte and r is not None and strip(r) is not None
                    and strip(r).type == "identifier" and fl.text(strip(r)) == fl.text(recv)
                    and fl.key_of(strip(r)) == key]
    return all(_looked_at(ctx, out, 0) for out in outputs)


def _looked_at(ctx, node, depth: int) -> bool:
    parent = node.parent
    while parent is not None and (
            parent.type == "subscript" and parent.child_by_field_id(F_VALUE) == node        # `low[:, 0]`
            or parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == node
            and ctx.text(parent.child_by_field_id(F_ATTRIBUTE)) == "T"                     # `*low.T`
            or parent.type in ("list_splat", "keyword_argument")):                         # `x=low[:, 0]`
        node, parent = parent, parent.parent
    if parent is None or depth > 3:
        return False
    if parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == node:
        return ctx.text(parent.child_by_field_id(F_ATTRIBUTE)) in _SHAPES
    if parent.type == "argument_list":
        fn = parent.parent.child_by_field_id(F_FUNCTION)
        if fn is not None and fn.type == "identifier":
            helper = ctx.facts.definition_in_effect(ctx.text(fn), parent.start_byte)
            if helper is not None:
                return _helper_only_looks(ctx, helper, parent.parent, node, depth)
        return fn is not None and ctx.text(fn).rsplit(".", 1)[-1] in _LOOKING
    if parent.type == "assignment" and parent.child_by_field_id(F_RIGHT) == node:
        left = parent.child_by_field_id(F_LEFT)
        if left is not None and left.type == "subscript":
            return _a_dict(ctx, left.child_by_field_id(F_VALUE))   # `results[name] = low`
        if left is not None and left.type in ("pattern_list", "tuple_pattern", "list_pattern"):
            # `x, y = low[idx].T`: the columns unpacked into names, each only looked at
            names = [n for n in left.named_children if n.type != "comment"]
            return bool(names) and all(n.type == "identifier" and _reads_looked_at(ctx, n, parent, depth)
                                       for n in names)
        if left is None or left.type != "identifier":
            return False
        return _reads_looked_at(ctx, left, parent, depth)
    return False


def _reads_looked_at(ctx, left, assignment, depth: int) -> bool:
    """Every later read of the name `left` bound by `assignment` is looked at."""
    facts, name = ctx.facts, ctx.text(left)
    mine = facts.binding(name, assignment.end_byte)
    reads = [i for i in facts.identifiers_named(name)
             if i.start_byte > assignment.end_byte and facts.binding(name, i.start_byte) is mine
             and not (i.parent.type == "assignment" and i.parent.child_by_field_id(F_LEFT) == i)]
    return all(_looked_at(ctx, r, depth + 1) for r in reads)


def _helper_only_looks(ctx, helper, call, arg, depth: int) -> bool:
    """`scatter_plot(proj, y_test)` where `def scatter_plot(x, colors)` of the file only draws
    its `x` (`ax.scatter(x[:, 0], x[:, 1], c=colors)`): every read of the parameter `arg` is
    given to is looked at. Unknown (False) when `arg` cannot be matched to one parameter."""
    facts = ctx.facts
    if arg.type == "keyword_argument":
        key = arg.child_by_field_id(F_NAME)
        name = ctx.text(key) if key is not None else None
    else:
        pos, _kw = args_of(call)
        at = [i for i, a in enumerate(pos) if a.start_byte == arg.start_byte]
        if not at or any(a.type in ("list_splat", "dictionary_splat") for a in pos[:at[0] + 1]):
            return False
        name = _positional_parameter(facts, helper, at[0])
    if name is None:
        return False
    body = helper.child_by_field_id(F_BODY)
    if body is None:
        return False
    reads = []
    for i in facts.identifiers_named(name):
        if not body.start_byte <= i.start_byte < body.end_byte:
            continue
        inner = facts.function_at(i.start_byte)
        if inner is None or inner.start_byte != helper.start_byte:
            return False   # read by a function nested in the helper: not followed
        b = facts.binding(name, i.start_byte)
        if b is not None and b.kind == "param" and b.scope == helper.start_byte:
            reads.append(i)
    return all(_looked_at(ctx, r, depth + 1) for r in reads)


def _positional_parameter(facts, func, index: int) -> str | None:
    """The name of `func`'s positional parameter number `index` (None past a `*args`)."""
    params = func.child_by_field_id(F_PARAMETERS)
    for p in (params.named_children if params is not None else ()):
        if p.type in ("list_splat_pattern", "keyword_separator", "dictionary_splat_pattern"):
            return None
        if p.type == "positional_separator":
            continue
        ident = p if p.type == "identifier" else (p.child_by_field_id(F_NAME) or
                                                  (p.named_children[0] if p.named_children else None))
        if index == 0:
            return facts.text(ident) if ident is not None and ident.type == "identifier" else None
        index -= 1
    return None


def _a_dict(ctx, node) -> bool:
    """`node` (through subscripts) is a name bound to a dict literal or `dict()`."""
    while node is not None and node.type == "subscript":
        node = node.child_by_field_id(F_VALUE)
    made = strip(follow(ctx.facts, node)) if node is not None and node.type == "identifier" else None
    return made is not None and (made.type == "dictionary" or (
        made.type == "call" and ctx.text(made.child_by_field_id(F_FUNCTION)) == "dict"))


def _table_of_embeddings(ctx, recv) -> bool:
    """`methods[name]["method"]` where `methods` is a dict literal whose estimators (its values,
    nested dicts' values) are all embeddings."""
    if recv.type != "subscript" or not _a_dict(ctx, recv):
        return False
    node = recv
    while node.type == "subscript":
        node = node.child_by_field_id(F_VALUE)
    table = strip(follow(ctx.facts, node))
    if table is None or table.type != "dictionary":
        return False
    ctors = [c for c in ctx.facts.calls_in(table) if c.parent is not None and c.parent.type == "pair"]
    return bool(ctors) and all(short(ctx.values.instance(c)[0]) in _EMBEDDINGS for c in ctors)


def _prior_train_fit(fl, call, recv):
    """An earlier fit of the same object on non-test data (the call), else None."""
    fits = _train_fits_before(fl, call, recv)
    return fits[0] if fits else None


# Libraries whose transformers all have a `transform` that applies what `fit` learned (not
# aif360's DisparateImpactRemover, which only has fit_transform; not a class of the file).
_TRANSFORM_LIBRARIES = ("sklearn.", "category_encoders.", "keras.", "tensorflow.keras.")
_NO_TRANSFORM = frozenset({"TSNE", "MDS", "SpectralEmbedding", "LocallyLinearEmbedding"})


def _has_transform(ctx, qual, recv) -> bool:
    """The object's class is one of those libraries' transformers (through `scaler =
    RobustScaler().fit(X_train)` too)."""
    if qual is None and recv is not None and recv.type == "identifier":
        made = strip(follow(ctx.facts, recv))
        inner, method = method_call(made) if made is not None and made.type == "call" else (None, None)
        if method in ("fit", "partial_fit") and inner is not None:
            qual, _ctor = ctx.values.instance(inner)
    return bool(qual) and qual.startswith(_TRANSFORM_LIBRARIES) and short(qual) not in _NO_TRANSFORM


def _transform_is_certain(fl, call, recv) -> bool:
    """`fit_transform` -> `transform` keeps the statistics the model was trained with only
    when the object's state at `call` is the one from the training data of the same feature:
    it was fitted on training data once, in the same loop as `call` (or both outside loops), or
    last in the same loop iteration (`for col in cols: le.fit(train[col]); ...
    le.fit_transform(test[col])`). One encoder refitted column after column (`for fea in cols:
    le.fit_transform(train[fea])`, then the test columns in another loop) would transform each
    test column with the last training column's classes."""
    fits = _train_fits_before(fl, call, recv)
    if not fits:
        return False
    facts = fl.facts
    here = facts.innermost_loop(call.start_byte)
    last = facts.innermost_loop(fits[-1].start_byte)
    if len(fits) == 1:
        return last == here
    return here is not None and last == here


def _train_fits_before(fl, call, recv) -> list:
    """The earlier fits of the same object on non-test data, in text order."""
    if recv is None or recv.type != "identifier":
        return []
    found = []
    key = fl.key_of(recv)
    name = fl.text(recv)
    b = fl.binding_of(recv)
    made = strip(b.value) if b is not None and b.kind == "assign" and b.index is None else None
    if made is not None and made.type == "call" and method_call(made)[1] in ("fit", "fit_transform"):
        # scaler = StandardScaler().fit(X_train)
        pos, kw = args_of(made)
        data = pos[0] if pos else kw.get("X")
        if data is not None and fl.origin(data)[0] not in ("test", "val"):
            found.append(made)
    for other in fl.facts.calls:
        if other.start_byte >= call.start_byte:
            break
        orecv, om = method_call(other)
        orecv = strip(orecv)
        if om not in _FIT_METHODS or orecv is None or orecv.type != "identifier" or fl.text(orecv) != name:
            continue
        if fl.key_of(orecv) != key:
            continue
        pos, kw = args_of(other)
        data = pos[0] if pos else kw.get("X")
        if data is None:
            continue
        side, _f, _k = fl.origin(data)
        if side not in ("test", "val") and _loop_over_parts(fl, data) is None:
            found.append(other)   # (not a pass of a loop over the parts: the test part's too)
    return found


def _scores_a_prefit_model(ctx, qual, ctor) -> bool:
    """eli5's `PermutationImportance(model)` (cv="prefit", its default): `.fit(X_test, y_test)`
    only scores the model already trained on permuted held-out rows, which is the intended use.
    With another `cv` it trains copies of the model, on those rows."""
    if qual is None or not qual.startswith("eli5.") or not qual.endswith("PermutationImportance"):
        return False
    if ctor is None:
        return False
    _, kw = args_of(ctor)
    cv = kw.get("cv")
    return cv is None or ctx.text(cv).strip("'\"") == "prefit"


RULE = Rule("leakage-fit-on-test", Severity.ERROR, "data-normalization",
            "A transformer or model fitted on the test data", check,
            needs=(b"fit", b"adapt"))
