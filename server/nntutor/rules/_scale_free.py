"""Models whose predictions a per-feature affine scaler cannot change.

A StandardScaler / MinMaxScaler / MaxAbsScaler / RobustScaler maps each feature through
x -> (x - a) / b with b > 0. Tree learners split on thresholds between sorted values, and this
map keeps the order of every feature (and the thresholds move with it), so a tree, a forest or a
gradient-boosted ensemble trained and applied on scaled data predicts exactly what it predicts on
raw data; ordinary least squares with an intercept spans the same column space and absorbs the
shift. For them, where the scaler's statistics came from does not change a score.

Not LightGBM: its binning gives zero a bin of its own, so shifting a feature moves values across
that bin and changes the trees (checked: test predictions differ on every row).

The question asked here is closed-world: every use of the scaled pieces must be seen and be a
scale-free model's fit / predict / score (or a look at their shape). Any other use (a torch
tensor built from them, a helper they are handed to, a PCA fitted on them) leaves the answer
unknown, and the rule keeps its warning.
"""
from __future__ import annotations

import re

from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_OBJECT
from ..values import args_of, follow, has_splat, is_assignment_target, method_call, strip
from ._splits import CV_FUNCS, SEARCH_CLASSES, short

AFFINE_SCALERS = frozenset({"StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler"})

_TREES = frozenset({
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
})
_BOOSTERS = {  # module -> classes, in their default tree mode (a `booster=` other than a tree: no)
    "xgboost": frozenset({"XGBClassifier", "XGBRegressor", "XGBRFClassifier", "XGBRFRegressor"}),
    "catboost": frozenset({"CatBoostClassifier", "CatBoostRegressor"}),
}
_TREE_BOOSTERS = frozenset({"gbtree", "dart"})
# Ensembles of another model: scale-free when that model is (by default a decision tree).
_ENSEMBLES = frozenset({"BaggingClassifier", "BaggingRegressor", "AdaBoostClassifier", "AdaBoostRegressor"})
_HARMLESS_OLS_KWARGS = frozenset({"n_jobs", "copy_X"})
# Search grid keys that can turn a scale-free model into one that is not.
_MODE_KEYS = re.compile(r"""['"](?:booster|boosting_type|fit_intercept|linear_tree|estimator|base_estimator|init)['"]|__""")

# Uses of the scaled pieces that keep the question closed.
_MODEL_METHODS = frozenset({"fit", "predict", "predict_proba", "predict_log_proba",
                            "decision_function", "score", "staged_predict", "apply"})
_SHAPE_ATTRS = frozenset({"shape", "dtype", "dtypes", "columns", "index", "ndim", "size"})
_LOOKS = frozenset({"len", "print", "type", "display"})
_SCORES = ("_score", "_error", "_loss", "confusion_matrix", "classification_report", "_curve")


def scale_free_name(fl, ctor) -> str | None:
    """The class name when the constructor call `ctor` builds a scale-free model, else None."""
    if ctor is None or ctor.type != "call" or has_splat(ctor):
        return None   # `XGBRegressor(**params)`: its booster is not known
    qual, _ = fl.instance(ctor)
    if qual is None:
        return None
    name, module = short(qual), qual.split(".", 1)[0]
    pos, kw = args_of(ctor)
    if module == "sklearn" and name in _TREES:
        init = kw.get("init")
        if init is not None and fl.text(init).strip("'\"") not in ("None", "zero"):
            return None   # gradient boosting started from another model's predictions
        return name
    if module == "sklearn" and name in _ENSEMBLES:
        base = kw.get("estimator") or kw.get("base_estimator") or (pos[0] if pos else None)
        if base is None:
            return name   # their default base model is a decision tree
        _q, base_ctor = fl.instance(base)
        return name if scale_free_name(fl, base_ctor) is not None else None
    if module in _BOOSTERS and name in _BOOSTERS[module]:
        booster = kw.get("booster") or kw.get("boosting_type")
        if booster is not None and fl.text(booster).strip("'\"") not in _TREE_BOOSTERS:
            return None   # gblinear, or a name whose value is not known here
        return name
    if qual == "sklearn.linear_model.LinearRegression" and not pos and set(kw) <= _HARMLESS_OLS_KWARGS:
        return name
    if module == "sklearn" and name in _PIPELINES:
        first = _restandardising_first_step(fl, ctor)
        if first is not None:
            return f"a {name} that starts with {first[1]}"
    return None


def models_using_split(fl, split, scaled_calls) -> list | None:
    """The constructor calls of the models the scaled pieces of `split` go to, when every use of
    those pieces is seen and is a model's fit / predict / score or a look at their shape; None
    otherwise. `scaled_calls`: the calls whose result is the scaled data (fit_transform,
    transform); the split must take that result directly (no other step in between), and the
    scaled matrix must have no other reader (`X_scaled[:n]` fed to a k-NN elsewhere).

    Closed world by name: every occurrence of a piece's name anywhere in the file counts, not
    only the reads that data flow ties to this binding (a closure, a helper reading the global,
    the right side of `X_train = torch.tensor(X_train)` all read these rows)."""
    pieces = _scaled_pieces(fl, split, scaled_calls)
    if not pieces or not _only_split_reads_scaled(fl, split, scaled_calls):
        return None
    ctors = []
    for name in dict.fromkeys(b.name for b in pieces):
        for ident in _occurrences(fl, name):
            found = _model_use(fl, ident)
            if found is None:
                return None
            ctors.extend(found)
    return ctors


def _only_split_reads_scaled(fl, split, scaled_calls) -> bool:
    """The scaled matrix goes to the split and nowhere else: the split takes the scaling call
    itself, or a name bound to it that no other code reads, also through names and frames in
    between (`X_df = pd.DataFrame(X_scaled, columns=cols)`: X_scaled read there only, X_df by the
    split only)."""
    for x in split.inputs:
        node = strip(x)
        if node is None or not _is_scaled(fl, node, scaled_calls):
            continue
        reader = split.call
        for _ in range(6):
            inner = _same_values(fl, node)
            if inner is not None:
                node = strip(inner)   # `pd.DataFrame(X_scaled)`: the same rows, read here
                continue
            if node is None or node.type != "identifier":
                break
            b = fl.binding_of(node)
            for ident in _reads_by_binding(fl, fl.text(node)).get(id(b), ()):
                if not reader.start_byte <= ident.start_byte < reader.end_byte:
                    return False   # another reader of the scaled rows themselves
            if b is None or b.kind != "assign" or b.index is not None or b.value is None:
                break
            node = reader = strip(b.value)
    return True


def _same_values(fl, node):
    """The data `node` wraps without changing a value: `pd.DataFrame(X_scaled, columns=cols)`
    (also `index=`, `dtype=`, `copy=`), else None."""
    if node is None or node.type != "call":
        return None
    pos, kw = args_of(node)
    data = kw.pop("data", None)
    if data is not None:
        pos = [data] + pos
    if len(pos) != 1 or set(kw) - {"columns", "index", "dtype", "copy"} or has_splat(node):
        return None
    return pos[0] if fl.facts.callee_qual(node) == "pandas.DataFrame" else None


def _reads_by_binding(fl, name: str) -> dict:
    """id(binding) -> the reads of `name` that see it (memoised per analysis and name)."""
    memo = fl.__dict__.setdefault("_reads_by_binding", {})
    found = memo.get(name)
    if found is None:
        found = memo[name] = {}
        for ident in _occurrences(fl, name):
            found.setdefault(id(fl.reaching(name, ident.start_byte)), []).append(ident)
    return found


def estimators_of(fl, call, scaled_calls) -> list | None:
    """The constructor calls of the model a cross-validation call (`cross_val_score(model, X,
    y)`) or a search's `.fit` (`GridSearchCV(model, grid).fit(X, y)`) evaluates on the scaled
    data itself (no other step in between), or None."""
    recv, method = method_call(call)
    pos, kw = args_of(call)
    if method == "fit":
        data, estimator = (pos[0] if pos else kw.get("X")), recv
    else:
        data, estimator = (pos[1] if len(pos) > 1 else kw.get("X")), (pos[0] if pos else kw.get("estimator"))
    if data is None or estimator is None or not _is_scaled(fl, data, scaled_calls):
        return None
    return _constructors(fl, estimator)


def _is_scaled(fl, expr, scaled_calls, depth: int = 0) -> bool:
    """`expr` is the scaler's output itself (the call, or a name bound to it), or rows of it: a
    piece of `train_test_split` over it, a positional cut `X[:n]`."""
    node = strip(expr)
    if node is None or depth > 4:
        return False
    if node.type == "subscript":
        return _is_scaled(fl, node.named_children[0] if node.named_children else None, scaled_calls, depth + 1)
    inner = _same_values(fl, node)
    if inner is not None:
        return _is_scaled(fl, inner, scaled_calls, depth + 1)
    if node.type == "identifier":
        b = fl.binding_of(node)
        if b is None or b.kind != "assign" or b.value is None:
            return False
        value = strip(b.value)
        if b.index is not None:
            if value is None or value.type != "call" or not fl.is_train_test_split(value):
                return False
            inputs = args_of(value)[0]
            j = b.index // 2
            return b.count == 2 * len(inputs) and j < len(inputs) \
                and _is_scaled(fl, inputs[j], scaled_calls, depth + 1)
        node = value
        if node is not None and (node.type in ("subscript", "identifier") or _same_values(fl, node) is not None):
            return _is_scaled(fl, node, scaled_calls, depth + 1)   # `X = X_scaled`, `pd.DataFrame(X_scaled)`
    return node is not None and any(node.start_byte == c.start_byte and node.end_byte == c.end_byte
                                    for c in scaled_calls)


def _scaled_pieces(fl, split, scaled_calls) -> list:
    """The bindings of the pieces of `split` that hold scaled rows (`X_train`, `X_test` of
    `train_test_split(X_scaled, y)`; both halves of a positional cut)."""
    facts = fl.facts
    scaled_inputs = [j for j, x in enumerate(split.inputs) if _is_scaled(fl, x, scaled_calls)]
    if not scaled_inputs:
        return []
    root = facts.doc.tree.root_node
    pieces = []
    for key in split.outputs:   # ("b", start of the target identifier)
        if key[0] != "b":
            continue
        ident = root.descendant_for_byte_range(key[1], key[1])
        if ident is None or ident.type != "identifier":
            continue
        b = next((x for x in facts.bindings.get(fl.text(ident), ()) if x.target.start_byte == key[1]), None)
        if b is None:
            continue
        # train_test_split(a, b): a_train, a_test, b_train, b_test; only a's pieces are scaled
        if split.kind == "split" and (b.index is None or b.count != 2 * len(split.inputs)
                                      or b.index // 2 not in scaled_inputs):
            continue
        pieces.append(b)
    pieces.sort(key=lambda b: b.pos)
    return pieces


def _occurrences(fl, name: str) -> list:
    """Every identifier `name` of the file outside comments and strings that is not assigned
    to: the reads of that name, whatever binding they see (memoised per analysis)."""
    memo = fl.__dict__.setdefault("_name_reads", {})
    found = memo.get(name)
    if found is None:
        found = memo[name] = [n for n in fl.facts.identifiers_named(name) if not is_assignment_target(n)]
    return found




def _model_use(fl, ident) -> list | None:
    """[] for a look at the data, the model constructors for a model's fit / predict / score on
    it, None for any other use."""
    parent = ident.parent
    if parent is None:
        return None
    if parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == ident:
        attr = parent.child_by_field_id(F_ATTRIBUTE)
        return [] if attr is not None and fl.text(attr) in _SHAPE_ATTRS else None
    if parent.type == "keyword_argument":
        parent = parent.parent
    if parent is None or parent.type != "argument_list" or parent.parent is None:
        return None
    call = parent.parent
    fn = strip(call.child_by_field_id(F_FUNCTION))
    if fn is not None and fn.type == "identifier" and fl.text(fn) in _LOOKS:
        return []
    recv, method = method_call(call)
    if recv is not None and method in _MODEL_METHODS:
        ctors = _constructors(fl, recv)
        return ctors if ctors and all(scale_free_name(fl, c) for c in ctors) else None
    qual = fl.facts.callee_qual(call) or ""
    if qual.startswith("sklearn.metrics.") and not qual.startswith("sklearn.metrics.pairwise") \
            and short(qual).endswith(_SCORES):
        return []   # a score of labels; not `rbf_kernel(X_train)`, a model's input
    if short(qual) in CV_FUNCS:
        pos, kw = args_of(call)
        ctors = _constructors(fl, pos[0] if pos else kw.get("estimator"))
        return ctors if ctors and all(scale_free_name(fl, c) for c in ctors) else None
    return None


def _rebound_or_reconfigured(fl, b) -> bool:
    """The name of model binding `b` is bound more than once in its scope (branches, a loop that
    swaps models: which one a use sees is not known here), or reconfigured with `set_params`."""
    facts = fl.facts
    same = [x for x in facts.bindings.get(b.name, ()) if x.scope == b.scope]
    if len(same) > 1 and not all(
            x.kind == "assign" and x.index is None and x.value is not None
            and scale_free_name(fl, strip(x.value)) is not None for x in same):
        return True   # (`model = RandomForestClassifier()` then `model = XGBClassifier()`: both trees)
    if b.name in fl.mutations():
        return True   # `clf.estimator = SVC()`, `xgb.booster = "gblinear"`
    return any(recv is not None and recv.type == "identifier" and fl.text(recv) == b.name
               for _call, recv in facts.method_calls("set_params"))


_PIPELINES = frozenset({"Pipeline", "make_pipeline"})
# Fitted on each training fold, these undo any positive per-feature shift and scale made before:
# standardising a standardised column gives the fold's own standardisation of the raw one.
_RESTANDARDISERS = frozenset({"StandardScaler", "MinMaxScaler", "RobustScaler"})


def _search_first_step(fl, inner) -> str | None:
    """The name of the first step of the named Pipeline a search tunes, when that step
    re-standardises (see `_restandardising_first_step`), else None."""
    _q, pipe = fl.instance(inner) if inner is not None else (None, None)
    first = _restandardising_first_step(fl, pipe) if pipe is not None and pipe.type == "call" else None
    return first[0] if first is not None else None


def _grid_leaves_step(fl, step: str, grid) -> bool:
    """No key of the grid names the step."""
    name = re.escape(step)
    # `{"scaler__with_std": ...}`, `{"scaler": [..., "passthrough"]}`, `dict(scaler=...)`
    return re.search(r"""['"]""" + name + r"""(?:__|['"])|(?<![\w'"])""" + name + r"""(?:__\w*)?\s*=(?!=)""",
                     fl.text(grid)) is None


def _restandardising_first_step(fl, pipe) -> tuple | None:
    """(step name or None, class name) when the pipeline built by `pipe` starts with a scaler
    that refits a full shift and scale (`StandardScaler()`, `MinMaxScaler()`, `RobustScaler()`
    with their defaults), else None."""
    qual, _ = fl.instance(pipe)
    pos, kw = args_of(pipe)
    step_name, step = None, None
    if short(qual) == "make_pipeline":
        step = pos[0] if pos else None
    else:
        steps = strip(follow(fl.facts, pos[0] if pos else kw.get("steps")))
        if steps is None or steps.type != "list" or not steps.named_children:
            return None
        first = strip(steps.named_children[0])
        if first is None or first.type != "tuple" or len(first.named_children) != 2:
            return None
        step_name = fl.text(first.named_children[0]).strip("'\"")
        step = first.named_children[1]
    q, ctor = fl.instance(step) if step is not None else (None, None)
    if q is None or ctor is None or not q.startswith("sklearn.") or short(q) not in _RESTANDARDISERS:
        return None
    p, k = args_of(ctor)
    if p or set(k) - {"copy"}:
        return None   # `StandardScaler(with_std=False)` keeps the earlier scale
    return step_name, short(q)


def _constructors(fl, expr) -> list | None:
    """The constructor calls `expr` may hold: one, the elements of the list a `for` loop walks
    (`for model in [LinearRegression(), RandomForestRegressor()]`), or a search's estimator."""
    expr = strip(expr)
    if expr is None:
        return None
    if expr.type == "identifier":
        b = fl.binding_of(expr)
        if b is not None and _rebound_or_reconfigured(fl, b):
            return None   # `if svm: model = SVC() else: model = RandomForest()`; `set_params(...)`
        value = strip(b.value) if b is not None and b.kind == "assign" and b.index is None else None
        if value is not None and value.type == "call" and method_call(value)[1] == "fit":
            return _constructors(fl, value)   # `rf = RandomForestRegressor().fit(X, y)`
        if b is not None and b.kind == "for":
            items = strip(b.value)
            if items is None or items.type not in ("list", "tuple") or b.index is not None:
                return None
            out = []
            for item in items.named_children:
                sub = _constructors(fl, item)
                if sub is None:
                    return None
                out.extend(sub)
            return out
    if expr.type == "call" and method_call(expr)[1] == "fit":
        return _constructors(fl, method_call(expr)[0])   # `Model().fit(X, y).score(...)`
    qual, ctor = fl.instance(expr)
    if qual is None or ctor is None or ctor.type != "call":
        return None
    if short(qual) in SEARCH_CLASSES:
        pos, kw = args_of(ctor)
        grid = pos[1] if len(pos) > 1 else kw.get("param_grid") or kw.get("param_distributions")
        if grid is not None and strip(grid).type == "identifier" and fl.text(strip(grid)) in fl.mutations():
            return None   # `param_grid["booster"] = [...]` after the literal
        grid = follow(fl.facts, grid) if grid is not None else None
        inner = pos[0] if pos else kw.get("estimator")
        first = _search_first_step(fl, inner)
        if first is not None and grid is not None:
            # a pipeline that re-standardises: the grid may tune what comes after that step
            # (`knn__n_neighbors`), never the step itself (`scaler__with_std`, `scaler=[...]`)
            return _constructors(fl, inner) if _grid_leaves_step(fl, first, grid) else None
        if grid is None or _MODE_KEYS.search(fl.text(grid)):
            return None   # the grid may turn the booster linear: not known to be scale-free
        return _constructors(fl, inner) if inner is not None else None
    return [ctor]
