"""Facts about one scikit-learn preprocessing or splitting call, for the hover: what this
scaler computes with these arguments and where it is fitted; how `train_test_split` divides the
rows with these arguments and in which order it returns the parts.

Defaults are scikit-learn 1.x's; only literal arguments are read (callfacts._arg)."""
from __future__ import annotations

from .callfacts import _arg, _is_num, _node
from .parsing import F_LEFT, F_VALUE
from .values import args_of, literal_value, method_call, strip

_FITS = ("fit", "fit_transform", "partial_fit")


def scaler_facts(doc, call, q):
    short = q.rsplit(".", 1)[-1]
    lines = []
    if short == "StandardScaler":
        mean, _ = _arg(doc, call, None, "with_mean", True)
        std, _ = _arg(doc, call, None, "with_std", True)
        if mean is True and std is True:
            lines.append("`fit` learns each column's mean and standard deviation; `transform` "
                         "computes `(x - mean) / std` per column, so the rows it was fitted on get "
                         "mean 0 and standard deviation 1 (a constant column is only centred).")
        elif mean is False and std is True:
            lines.append("`with_mean=False`: each column is only divided by its standard deviation, "
                         "not centred (what sparse input needs: centring would make it dense).")
        elif mean is True and std is False:
            lines.append("`with_std=False`: each column is only centred (mean 0), not rescaled.")
    elif short == "MinMaxScaler":
        lo, hi = _feature_range(doc, call)
        clip, _ = _arg(doc, call, None, "clip", False)
        if lo is not None:
            lines.append(f"`fit` learns each column's minimum and maximum; `transform` maps them to "
                         f"{lo} and {hi} linearly. One outlier stretches the range and squeezes every "
                         "other value together.")
            lines.append("`clip=True`: new values beyond the fitted range are clipped to it." if clip is True else
                         f"Values beyond the fitted minimum or maximum land outside [{lo}, {hi}] "
                         "(`clip=False`, the default).")
    elif short == "RobustScaler":
        lines.append("`fit` learns each column's median and interquartile range (25th to 75th "
                     "percentile by default); `transform` computes `(x - median) / IQR`, so a few "
                     "outliers barely move the scaling (they stay outliers).")
    fitted = _fitted_on(doc, call)
    if fitted:
        lines.append(fitted)
    return lines


def _feature_range(doc, call):
    node = _node(call, 0, "feature_range")
    if node is None:
        return 0, 1
    node = strip(node)
    items = [c for c in node.named_children if c.type != "comment"] if node.type in ("tuple", "list") else []
    if len(items) != 2:
        return None, None
    lo, hi = (literal_value(i) for i in items)
    return (lo, hi) if _is_num(lo) and _is_num(hi) else (None, None)


def _fitted_on(doc, call) -> str | None:
    """Where the scaler built by `call` (`scaler = StandardScaler()`) is fitted in its scope:
    "Fitted on `X_train` (line 14)." (the first fit), or None."""
    assign = call.parent
    if assign is None or assign.type != "assignment":
        return None
    target = assign.child_by_field_id(F_LEFT)
    if target is None or target.type not in ("identifier", "attribute"):
        return None
    name = doc.text(target)
    facts = doc.facts
    scope = facts.scope_id(call.start_byte)
    fits = []
    for method in _FITS:
        for fit, recv in facts.method_calls(method):
            recv = strip(recv)
            if recv is None or doc.text(recv) != name or fit.start_byte < call.end_byte:
                continue
            if facts.scope_id(fit.start_byte) != scope and target.type == "identifier":
                continue
            fits.append(fit)
    if not fits:
        return None
    fit = min(fits, key=lambda f: f.start_byte)
    pos, kw = args_of(fit)
    data = pos[0] if pos else kw.get("X")
    if data is None:
        return None
    line = doc.index.line_of(fit.start_byte) + 1
    _, method = method_call(fit)
    return (f"Fitted on `{_short(doc.text(data))}` (`{method}`, line {line}): fit it on the training "
            "rows only, then `transform` the validation and test rows with what it learned there.")


def split_facts(doc, call, q):
    """`train_test_split(*arrays, test_size=..., shuffle=..., stratify=..., random_state=...)`."""
    pos, kw = args_of(call)
    arrays = [a for a in pos if a.type not in ("list_splat", "dictionary_splat")]
    lines = []
    test, test_given = _arg(doc, call, None, "test_size", None)
    train, train_given = _arg(doc, call, None, "train_size", None)
    if not test_given and not train_given:
        lines.append("No `test_size`: **25%** of the rows are held out as the test set (the default), 75% train.")
    elif test_given and isinstance(test, float) and 0 < test < 1:
        lines.append(f"`test_size={test}`: **{test:.0%}** of the rows held out as the test set, "
                     f"{1 - test:.0%} left to train.")
    elif test_given and isinstance(test, int) and not isinstance(test, bool):
        lines.append(f"`test_size={test}`: exactly {test} rows held out as the test set (an int counts "
                     "rows, a float is a share).")
    elif not test_given and isinstance(train, float) and 0 < train < 1:
        lines.append(f"`train_size={train}`: {train:.0%} of the rows train, the other {1 - train:.0%} "
                     "are the test set.")
    shuffle, _ = _arg(doc, call, None, "shuffle", True)
    stratify = _node(call, None, "stratify")
    if shuffle is False:
        lines.append("`shuffle=False`: the **last** rows become the test set, in their stored order "
                     "(right for time series; with rows sorted by class or date the two parts differ).")
    elif stratify is not None and doc.text(stratify) != "None":
        lines.append(f"`stratify={_short(doc.text(stratify))}`: each part keeps the class proportions "
                     "of those labels.")
    else:
        lines.append("Not stratified: with rare classes, the two parts can have quite different class "
                     "proportions; `stratify=y` keeps them equal.")
    if shuffle is not False and "random_state" not in kw:
        lines.append("No `random_state`: a different split on every run, so scores are not "
                     "reproducible.")
    if arrays:
        names = [_short(doc.text(a)) for a in arrays]
        order = ", ".join(f"`{n}` train, `{n}` test" for n in names)
        lines.append(f"Returns train then test for each array, in this order: {order}.")
    return lines


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def linear_model_facts(doc, call, q):
    """`LogisticRegression(C=...)`: regularised by default."""
    c, given = _arg(doc, call, None, "C", 1.0)
    if not _is_num(c):
        return []
    strength = "" if not given else (" (stronger than the default)" if c < 1 else " (weaker than the default)" if c > 1 else "")
    return [f"Regularised by default: an L2 penalty with **C = {c}**{strength}; C is the inverse of "
            "the strength, so a smaller C shrinks the weights more. Scale the features first: the "
            "penalty treats every coefficient alike, and the default solver (`lbfgs`, `max_iter=100`) "
            "often stops early with a ConvergenceWarning on unscaled data."]


def cross_validation_facts(doc, call, q):
    """`cross_val_score(estimator, X, y, cv=..., scoring=...)` and its siblings."""
    name = q.rsplit(".", 1)[-1]
    cv, given = _arg(doc, call, None, "cv", None)
    lines = []
    k = cv if isinstance(cv, int) and not isinstance(cv, bool) else (5 if not given or cv is None else None)
    if k is not None:
        default = "" if given else " (the default)"
        what = "predicts the held-out part" if name == "cross_val_predict" else "scores it on the held-out part"
        lines.append(f"**{k} folds**{default}: the estimator is cloned and fitted {k} times, each time on "
                     f"{k - 1}/{k} of the rows, and {what}. An int `cv` means StratifiedKFold for a "
                     "classifier and KFold otherwise, both **without shuffling**: rows stored in some "
                     "order (by date, by source) give folds that differ systematically; pass "
                     "`KFold(5, shuffle=True, random_state=0)` to shuffle.")
    if name != "cross_val_predict":
        scoring = _node(call, None, "scoring")
        if scoring is None:
            lines.append("No `scoring`: the estimator's own `score` (accuracy for a classifier, R² for "
                         "a regressor).")
    lines.append("Anything fitted on these rows before this call (a scaler, an imputer, feature "
                 "selection) has seen every fold's held-out part: put it in a `Pipeline` with the "
                 "model so each fold fits it on its own training part.")
    return lines


def search_facts(doc, call, q):
    """`GridSearchCV(estimator, param_grid, cv=...)` / `RandomizedSearchCV(..., n_iter=...)`."""
    name = q.rsplit(".", 1)[-1]
    cv, given = _arg(doc, call, None, "cv", None)
    k = cv if isinstance(cv, int) and not isinstance(cv, bool) else (5 if not given or cv is None else None)
    lines = []
    settings = _grid_size(doc, _node(call, 1, "param_grid")) if name == "GridSearchCV" else None
    if name == "RandomizedSearchCV":
        n, _ = _arg(doc, call, None, "n_iter", 10)
        settings = n if isinstance(n, int) else None
    if settings is not None and k is not None:
        lines.append(f"{settings} candidate settings × {k} folds = **{settings * k} fits**, then one "
                     "more of the best setting on all the rows (`refit=True`, the default).")
    lines.append("`best_score_` is the winner's mean cross-validation score, picked for being the "
                 "highest, so it is optimistic: report the score on a test set the search never saw.")
    return lines


def _grid_size(doc, node) -> int | None:
    """The number of settings of a literal `{"C": [0.1, 1, 10], "kernel": ["rbf", "linear"]}`."""
    node = strip(node) if node is not None else None
    if node is None or node.type != "dictionary":
        return None
    size = 1
    for pair in node.named_children:
        if pair.type != "pair":
            return None
        value = strip(pair.child_by_field_id(F_VALUE))
        if value is None or value.type not in ("list", "tuple"):
            return None
        size *= sum(1 for c in value.named_children if c.type != "comment")
    return size
