"""Models whose predictions a per-feature affine scaler cannot change.

A StandardScaler / MinMaxScaler / MaxAbsScaler / RobustScaler maps each feature through
x -> (x - a) / b with b > 0. Tree learners split on thresholds between sorted values, and this
map keeps the order of every feature (and the thresholds move with it), so a tree, a forest or a
gradient-boosted ensemble trained and applied on scaled data predicts exactly what it predicts on
raw data; ordinary least squares with an intercept spans the same column space and absorbs the
shift. For them, where the scaler's statistics came from does not change a score. This module
says which models of a file train on given data and whether every one of them is such a model.
"""
from __future__ import annotations

from ..values import args_of, method_call, strip
from ._splits import CV_FUNCS, SEARCH_CLASSES, short

AFFINE_SCALERS = frozenset({"StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler"})

_TREES = frozenset({
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
})
_BOOSTERS = {  # module -> classes; their linear modes are not scale-free (checked below)
    "xgboost": frozenset({"XGBClassifier", "XGBRegressor", "XGBRFClassifier", "XGBRFRegressor"}),
    "lightgbm": frozenset({"LGBMClassifier", "LGBMRegressor"}),
    "catboost": frozenset({"CatBoostClassifier", "CatBoostRegressor"}),
}
# Keyword arguments that keep a model scale-free (anything else: not known to).
_HARMLESS_OLS_KWARGS = frozenset({"n_jobs", "copy_X"})


def scale_free_name(fl, ctor) -> str | None:
    """The class name when the constructor call `ctor` builds a scale-free model, else None."""
    qual, _ = fl.instance(ctor)
    if qual is None:
        return None
    name, module = short(qual), qual.split(".", 1)[0]
    pos, kw = args_of(ctor) if ctor is not None and ctor.type == "call" else ([], {})
    if module == "sklearn" and name in _TREES:
        return name
    if module in _BOOSTERS and name in _BOOSTERS[module]:
        linear = {"booster": ("gblinear",), "linear_tree": ("True",)}
        for key, bad in linear.items():
            if key in kw and fl.text(kw[key]).strip("'\"") in bad:
                return None
        return name
    if qual == "sklearn.linear_model.LinearRegression" and not pos and set(kw) <= _HARMLESS_OLS_KWARGS:
        return name
    return None


def models_trained_on(fl, data_keys: set, skip) -> list | None:
    """The constructor calls of every model that trains on data derived from `data_keys` (a
    `.fit(X, ...)`, a search's `.fit`, `cross_val_score(model, X, ...)`), or None when some
    consumer of that data is not a model whose constructor can be seen. `skip`: the scaler's own
    fit call."""
    found = []
    for call in fl.calls_named({"fit"} | CV_FUNCS):
        if call is skip:
            continue
        recv, method = method_call(call)
        pos, kw = args_of(call)
        if method == "fit":
            data = pos[0] if pos else kw.get("X")
        else:
            data = pos[1] if len(pos) > 1 else kw.get("X")
        if data is None or not (fl.sources(data) & data_keys):
            continue
        estimator = recv if method == "fit" else (pos[0] if pos else kw.get("estimator"))
        ctors = _constructors(fl, estimator)
        if ctors is None:
            return None
        found.extend(ctors)
    return found


def estimators_of(fl, call) -> list | None:
    """The constructor calls of the model a cross-validation call (`cross_val_score(model, X,
    y)`) or a search's `.fit` (`GridSearchCV(model, grid).fit(X, y)`) evaluates, or None."""
    recv, method = method_call(call)
    if method == "fit":
        return _constructors(fl, recv)
    pos, kw = args_of(call)
    estimator = pos[0] if pos else kw.get("estimator")
    return _constructors(fl, estimator) if estimator is not None else None


def _constructors(fl, expr) -> list | None:
    """The constructor calls `expr` may hold: one, the elements of the list a `for` loop walks
    (`for model in [LinearRegression(), RandomForestRegressor()]`), or a search's estimator."""
    expr = strip(expr)
    if expr is None:
        return None
    if expr.type == "identifier":
        b = fl.binding_of(expr)
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
    qual, ctor = fl.instance(expr)
    if qual is None or ctor is None or ctor.type != "call":
        return None
    if short(qual) in SEARCH_CLASSES:
        pos, kw = args_of(ctor)
        inner = pos[0] if pos else kw.get("estimator")
        return _constructors(fl, inner) if inner is not None else None
    return [ctor]

