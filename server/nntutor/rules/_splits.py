"""Data flow of splits, fits and scores: shared by the leakage-* and split-unpack-order rules.

The questions the rules ask are all of the form "does this value come from that one?":

* `Flow.sources(expr)`: every binding, call and free name the value of `expr` was computed from
  (through assignments, tuple unpacks, method receivers, arguments, subscripts, and mutations
  such as `df[cols] = ...` or `df.fillna(..., inplace=True)`, and into an empty list filled in a
  loop: `X.append(data[i - 60:i])`). Over-approximate on purpose: it
  answers "could these rows have come from there?".
* `Flow.origin(expr)`: which side of a split (train / test / val) a value comes from, following
  only the identity path of the data (`X_test_s = scaler.transform(X_test)` is still test data),
  by data flow when a split is visible, else by the names met on the way.
* `Flow.row_root(expr)`: the variable whose *rows* an expression holds (`df[cols].values` -> df);
  None when rows were narrowed (`X[:800]`, `X[mask]`).
* fit events (transformers that learn statistics), resample events (oversamplers) and split
  events (train_test_split, cross-validation, searches, KFold.split, positional slices).
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache

from ..parsing import (
    F_ARGUMENTS,
    F_ATTRIBUTE,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_PARAMETERS,
    F_RIGHT,
    F_VALUE,
)
from ..values import args_of, follow, is_callee, is_keyword_name, method_call, string_value, strip

# -- names -----------------------------------------------------------------------------------
_SIDE_TOKENS = {
    "train": "train", "training": "train", "tr": "train", "trn": "train",
    "test": "test", "testing": "test", "te": "test", "tst": "test", "holdout": "test",
    "val": "val", "valid": "val", "validation": "val", "validate": "val", "dev": "val", "vl": "val", "va": "val",
    # Held-out parts with another job than the final score: fitting on them is legitimate.
    "cal": "val", "calib": "val", "calibration": "val", "blend": "val", "blending": "val",
    "meta": "val", "stack": "val", "tune": "val", "tuning": "val", "es": "val",
}
_ROLE_TOKENS = {
    "x": "x", "features": "x", "feature": "x", "feats": "x", "inputs": "x", "input": "x",
    "data": "x", "images": "x", "imgs": "x", "texts": "x", "sentences": "x", "docs": "x",
    "y": "y", "labels": "y", "label": "y", "target": "y", "targets": "y", "lbl": "y",
    "lbls": "y", "outputs": "y",
}
_GLUED = re.compile(r"^([xy])(train|test|tr|te|val|valid|trn|tst)$", re.IGNORECASE)
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
# A side glued to what it holds, in lower case: `testloader`, `trainset`, `valdata` (torchvision
# tutorials and kuangliu's pytorch-cifar).
_GLUED_SIDE = re.compile(r"^(train|test|val|valid|dev)(loader|set|data|dataset|dl|ds|gen|iter)$")


@lru_cache(maxsize=4096)
def tokens(name: str) -> tuple[str, ...]:
    """`X_train` -> [x, train]; `trainX` -> [train, x]; `Xtr` -> [x, tr]; `y_test2` -> [y, test]."""
    out = []
    for part in name.split("_"):
        if not part:
            continue
        m = _GLUED.match(part)
        if m:
            out += [m.group(1).lower(), m.group(2).lower()]
            continue
        words = _CAMEL.findall(part)
        for w in words:
            if w.isdigit():
                continue
            m = _GLUED.match(w) or _GLUED_SIDE.match(w)
            out += [m.group(1).lower(), m.group(2).lower()] if m else [w.lower()]
    return tuple(out)


def side_of_name(name: str) -> str | None:
    """train / test / val from the name's tokens; None when absent or contradictory."""
    sides = {_SIDE_TOKENS[t] for t in tokens(name) if t in _SIDE_TOKENS}
    return sides.pop() if len(sides) == 1 else None


def role_of_name(name: str) -> str | None:
    """The array a split target holds: x / y for the usual synonyms, else the remaining tokens
    (`w_train` -> "w"), "" when only a side token is left, None when contradictory."""
    toks = [t for t in tokens(name) if t not in _SIDE_TOKENS]
    roles = {_ROLE_TOKENS[t] for t in toks if t in _ROLE_TOKENS}
    if len(roles) > 1:
        return None
    if roles:
        return roles.pop()
    return "_".join(toks)


# -- qualified names -------------------------------------------------------------------------
def short(qual: str | None) -> str:
    return qual.rsplit(".", 1)[-1] if qual else ""


def is_sklearn(qual: str | None, names) -> bool:
    return bool(qual) and qual.startswith("sklearn.") and short(qual) in names


TRAIN_TEST_SPLIT = {"train_test_split"}
CV_FUNCS = {"cross_val_score", "cross_validate", "cross_val_predict", "learning_curve",
            "validation_curve", "permutation_test_score"}
SEARCH_CLASSES = {"GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV",
                  "HalvingRandomSearchCV", "BayesSearchCV"}
SPLITTERS = {"KFold", "StratifiedKFold", "GroupKFold", "StratifiedGroupKFold", "RepeatedKFold",
             "RepeatedStratifiedKFold", "ShuffleSplit", "StratifiedShuffleSplit",
             "GroupShuffleSplit", "TimeSeriesSplit", "LeaveOneOut", "LeavePOut",
             "LeaveOneGroupOut", "LeavePGroupsOut"}
# Transformers whose fit learns statistics of the rows (means, variances, quantiles, components,
# feature scores, document frequencies, target means). Vocabulary-only encoders and stateless
# transforms are left out on purpose (see the rule docs).
STAT_TRANSFORMERS = {
    "StandardScaler", "MinMaxScaler", "RobustScaler", "MaxAbsScaler", "QuantileTransformer",
    "PowerTransformer", "KBinsDiscretizer", "SplineTransformer",
    "SimpleImputer", "KNNImputer", "IterativeImputer",
    "Imputer",   # sklearn.preprocessing.Imputer, SimpleImputer's name before 0.22
    "PCA", "TruncatedSVD", "KernelPCA", "IncrementalPCA", "SparsePCA", "MiniBatchSparsePCA",
    "FactorAnalysis", "FastICA", "NMF", "MiniBatchNMF", "LatentDirichletAllocation",
    "DictionaryLearning", "MiniBatchDictionaryLearning",
    "SelectKBest", "SelectPercentile", "SelectFpr", "SelectFdr", "SelectFwe",
    "GenericUnivariateSelect", "RFE", "RFECV", "SelectFromModel", "SequentialFeatureSelector",
    "VarianceThreshold",
    "TfidfVectorizer", "TfidfTransformer", "TargetEncoder",
}
STAT_FUNCTIONS = {"scale", "minmax_scale", "robust_scale", "maxabs_scale", "quantile_transform",
                  "power_transform"}
# category_encoders: the target-statistics encoders.
CE_TARGET_ENCODERS = {"TargetEncoder", "LeaveOneOutEncoder", "CatBoostEncoder", "JamesSteinEncoder",
                      "MEstimateEncoder", "WOEEncoder", "GLMMEncoder", "QuantileEncoder"}
KERAS_ADAPT = {"keras.layers.Normalization", "keras.layers.Discretization",
               "keras.layers.experimental.preprocessing.Normalization"}
COMPOSITES = {"Pipeline", "make_pipeline", "ColumnTransformer", "make_column_transformer",
              "FeatureUnion", "make_union"}
OVERSAMPLERS = {"SMOTE", "SMOTENC", "SMOTEN", "BorderlineSMOTE", "SVMSMOTE", "KMeansSMOTE",
                "ADASYN", "RandomOverSampler", "SMOTETomek", "SMOTEENN"}
PANDAS_STATS = {"mean", "median", "mode"}
# User functions whose name says they add augmented / oversampled copies of rows.
AUGMENT_WORDS = {"augment", "augmented", "augmentation", "oversample", "oversampled",
                 "oversampling", "upsample", "upsampled", "upsampling", "copies", "duplicate"}

# Methods that keep the rows of a value (and so its identity as "the data").
ROW_KEEPING_METHODS = {"values", "to_numpy", "reshape", "astype", "copy", "drop", "select_dtypes",
                       "fillna", "filter", "assign", "rename", "reset_index", "squeeze", "ravel",
                       "flatten", "to_frame", "numpy", "toarray", "todense", "T", "replace",
                       "convert_dtypes", "infer_objects", "clip", "abs", "round", "apply",
                       "transform", "map", "applymap", "interpolate", "ffill", "bfill", "pipe",
                       "set_index", "sort_index", "float", "double", "to"}
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
# Calls that run the function they are handed before they return (hyper-parameter searches).
_RUNS_ITS_ARGUMENT = frozenset({"optimize", "fmin", "minimize"})


def along_columns(call) -> bool:
    """`pd.concat([...], axis=1)` / `axis="columns"` / `np.concatenate(..., axis=1)` /
    `torch.cat([...], dim=1)`."""
    pos, kw = args_of(call)
    axis = kw.get("axis", kw.get("dim", pos[1] if len(pos) > 1 else None))
    if axis is None:
        return False
    text = axis.text.decode("utf-8", "replace") if axis.text is not None else ""
    return text in ("1", "-1", "'columns'", '"columns"')


def _run_by_call(parent) -> bool:
    """The name is an argument of a call that runs it at once: `study.optimize(objective)`."""
    if parent is None or parent.type != "argument_list" or parent.parent is None:
        return False
    return callee_name(parent.parent) in _RUNS_ITS_ARGUMENT
# Attributes that describe a dataset without holding its rows (`.index` does name rows: not
# here); `Flow.rows_view` stops at them.
_METADATA_ATTRIBUTES = frozenset({"columns", "dtypes", "dtype", "shape", "ndim"})
ROW_KEEPING_FUNCS = {"numpy.array", "numpy.asarray", "numpy.float32", "numpy.log1p", "numpy.log",
                     "numpy.sqrt", "numpy.nan_to_num", "numpy.squeeze", "numpy.ravel",
                     "pandas.DataFrame", "pandas.Series", "pandas.get_dummies", "torch.tensor",
                     "torch.from_numpy", "torch.as_tensor", "torch.Tensor", "torch.FloatTensor",
                     "tensorflow.convert_to_tensor", "tensorflow.constant", "numpy.hstack",
                     "numpy.column_stack"}
# Applying a fitted object to data: the output rows are the input rows.
APPLY_METHODS = {"transform", "fit_transform", "predict", "predict_proba", "predict_log_proba",
                 "decision_function", "inverse_transform", "kneighbors", "apply"}
_BUILTIN_IDENTITY = {"list", "tuple", "np.array", "float"}


def _walk(node, types=None, skip_defs=False):
    """Descendants of `node` (itself included; none for None), optionally only of some types."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if types is None or n.type in types:
            yield n
        if skip_defs and n is not node and n.type in ("function_definition", "lambda", "class_definition"):
            continue
        stack.extend(reversed(n.children))


def is_literal(node) -> bool:
    node = strip(node)
    if node is None:
        return True
    if node.type in ("integer", "float", "true", "false", "none", "string"):
        return True
    if node.type == "unary_operator":
        return is_literal(node.named_children[-1] if node.named_children else None)
    return False


# -- events ----------------------------------------------------------------------------------
@dataclass
class FitEvent:
    call: object               # the call that learns statistics (fit / fit_transform / fillna / adapt)
    kind: str                  # fit | fit_transform | function | fillna | adapt
    data: object               # the expression whose rows are learned from
    what: str                  # human name of the transform: "StandardScaler", "the mean used by fillna"
    obj_key: tuple | None      # binding key of the fitted object when it is kept in a variable
    obj_name: str | None
    result: tuple | None       # key of the call whose value carries the learned statistics
    stat_call: object = None   # for fillna: the df.mean() call
    groups: str | None = None  # for a per-group fill: the text of the groupby key (`"patient_id"`)


@dataclass
class SplitEvent:
    call: object
    kind: str                  # split | cv | search | folds | slice
    inputs: list               # expressions whose rows get split
    outputs: set = field(default_factory=set)   # binding keys of the pieces (when assigned)

    @property
    def label(self) -> str:
        return {"split": "split", "slice": "split", "cv": "cross-validation",
                "search": "cross-validated search", "folds": "cross-validation folds"}[self.kind]


def flow(ctx) -> Flow:
    """One Flow per analysis (the engine makes one Values per analysis), shared by the rules.
    Kept on the Values object itself: a weak-keyed table would never drop it, because the Flow
    refers back to its key (which kept every analysed version alive in the language server)."""
    f = getattr(ctx.values, "_flow", None)
    if f is None or f.facts is not ctx.facts:
        f = ctx.values._flow = Flow(ctx.facts, ctx.values)
    return f


def call_key(call) -> tuple:
    return ("c", call.start_byte, call.end_byte)


def binding_key(b) -> tuple:
    return ("b", b.target.start_byte)


class Flow:
    def __init__(self, facts, values):
        self.facts = facts
        self.values = values
        self.text = facts.text
        self._binding_sources: dict = {}
        self._in_progress: set = set()
        self._mutations = None
        self._sources_cache: dict = {}
        self._fits = None
        self._splits = None
        self._resamples = None
        self._calls_on = None
        self._named_calls = None
        self._globals_at_uses: dict = {}
        self._function_uses: dict = {}
        self._function_name_positions = None
        self._rows_only = False
        self._rows_view = None
        self._fill_index = None

    def rows_view(self) -> Flow:
        """The same questions about rows only: `sources` does not follow attributes that
        describe data without holding its rows (`X_test.columns`). Not for what a fit learned:
        `X.loc[:, selector.get_support()].columns` carries a feature selection into the data."""
        if self._rows_view is None:
            view = Flow(self.facts, self.values)
            view._rows_only = True
            self._rows_view = view
        return self._rows_view

    # -- calls ----------------------------------------------------------------------------
    def calls_where(self, wanted) -> list:
        """[(call, callee_name)] for the calls whose callee's last name passes `wanted(name)`,
        in document order: the names are tested once each, not every call."""
        index = self.facts.calls_by_last_name()
        out = [(c, n) for n, calls in index.items() if wanted(n) for c in calls]
        out.sort(key=lambda cn: (cn[0].start_byte, -cn[0].end_byte))
        return out

    def calls_named(self, names) -> list:
        return self.facts.calls_ending(*names)

    # -- names ----------------------------------------------------------------------------
    def reaching(self, name: str, pos: int):
        """The binding of `name` that reaches `pos` (a read in the right-hand side of its own
        assignment, `X = f(X)`, sees the previous binding). A global read from a top-level
        function sees the module binding in force where the module uses that function, when
        every use agrees: `def evaluate(): ... split(X)` called before `X = scaler.fit_transform(X)`
        splits the unscaled X (else, as facts.binding says, the module's last binding)."""
        b = self.facts.binding(name, pos)
        if b is None or b.scope != -1:
            return b
        fn = self.facts.function_at(pos)
        if fn is None:
            return b
        key = (fn.start_byte, name)
        if key not in self._globals_at_uses:
            self._globals_at_uses[key] = self._global_at_uses(fn, name)
        return self._globals_at_uses[key] or b

    def _global_at_uses(self, fn, name: str):
        """The one module binding of `name` reaching every mention of top-level function `fn`
        (its calls, or passing it as a callback: `study.optimize(objective)`), or None."""
        uses = self._uses_of_function(fn)
        if not uses:
            return None
        seen = None
        for at in uses:
            b = self.facts.binding(name, at)
            if b is None or (seen is not None and b is not seen):
                return None
            seen = b
        return seen

    def _uses_of_function(self, fn) -> tuple[int, ...] | None:
        """Where the module mentions top-level function `fn` (once per function: the globals it
        reads all ask), or None when it cannot tell (a decorator, a mention from a function)."""
        cache = self._function_uses
        if fn.start_byte in cache:
            return cache[fn.start_byte]
        cache[fn.start_byte] = None
        facts = self.facts
        ident = fn.child_by_field_id(F_NAME)
        parent = fn.parent
        if ident is None or facts.scope_id(fn.start_byte) != -1 or (
                parent is not None and parent.type == "decorated_definition"):
            return None
        fname = self.text(ident)
        # Mentions of this definition: after it, before the module defines the name again (a
        # notebook's second `def objective`, with its own `study.optimize(objective)`).
        later = [f.start_byte for f in facts.functions_named(fname)
                 if f.start_byte > fn.start_byte and facts.scope_id(f.start_byte) == -1]
        until = min(later) if later else len(facts.doc.data)
        root = facts.doc.tree.root_node
        uses = []
        positions = self._name_positions().get(fname, [])
        for at in positions[bisect_left(positions, fn.end_byte):bisect_left(positions, until)]:
            if facts.in_comment(at):
                continue
            node = root.named_descendant_for_byte_range(at, at + len(fname))
            if node is None or node.type != "identifier":
                continue   # in a string
            if is_keyword_name(node):
                continue   # `XGBRegressor(objective="reg:squarederror")`: another name
            if facts.scope_id(at) != -1 or facts.innermost_loop(at) is not None:
                return None   # from another function, or a loop: when it runs is another question
            if not (is_callee(node) or _run_by_call(node.parent)):
                return None   # kept for later (`partial(f)`, `{"ridge": f}`, `g = f`)
            uses.append(at)
        cache[fn.start_byte] = tuple(uses)
        return cache[fn.start_byte]

    def _name_positions(self) -> dict:
        """name -> start bytes of the word `name` (not after a dot) in the text, for the names
        of the module's functions: one scan of the text for all of them."""
        if self._function_name_positions is None:
            names = {self.text(n) for f in self.facts.functions
                     if (n := f.child_by_field_id(F_NAME)) is not None}
            found: dict = {}
            for m in _WORD.finditer(self.facts.doc.data):
                word = m.group().decode("utf-8", "replace")
                if word in names and (m.start() == 0 or self.facts.doc.data[m.start() - 1] != 0x2E):
                    found.setdefault(word, []).append(m.start())
            self._function_name_positions = found
        return self._function_name_positions

    def binding_of(self, ident):
        if ident is None or ident.type != "identifier":
            return None
        return self.reaching(self.text(ident), ident.start_byte)

    def key_of(self, ident) -> tuple | None:
        """Binding key of an identifier read (a free name gets a name key)."""
        ident = strip(ident)
        if ident is None or ident.type != "identifier":
            return None
        b = self.binding_of(ident)
        if b is None:
            return ("n", self.text(ident), self.facts.scope_id(ident.start_byte))
        return binding_key(b)

    # -- mutations ------------------------------------------------------------------------
    def mutations(self) -> dict:
        """name -> [(pos, scope, node)]: `name[...] = v`, `name.attr = v`, `name....(inplace=True)`."""
        if self._mutations is None:
            muts: dict = {}
            for node in self.facts.assignments:  # already captured: no second tree walk
                left = node.child_by_field_id(F_LEFT)
                right = node.child_by_field_id(F_RIGHT)
                if left is None or right is None or left.type not in ("subscript", "attribute"):
                    continue
                base = _root_identifier(left)
                if base is not None:
                    muts.setdefault(self.text(base), []).append(
                        (node.start_byte, self.facts.scope_id(node.start_byte), right))
            for call in self.facts.calls_at_text(_INPLACE_TRUE):
                _, kw = args_of(call)
                inplace = kw.get("inplace")
                if inplace is None or self.text(inplace) != "True":
                    continue
                recv, _m = method_call(call)
                base = _root_identifier(recv) if recv is not None else None
                if base is not None:
                    muts.setdefault(self.text(base), []).append(
                        (call.start_byte, self.facts.scope_id(call.start_byte), call))
            self._mutations = muts
        return self._mutations

    def fills(self) -> dict:
        """Binding key of an empty list (`X = []`, `X, y = [], []`, `X = list()`) -> [(pos,
        item)] for each `X.append(item)` / `X.extend(items)` inside a loop of the same scope that
        fills it: the windows of a series (`for i in range(60, len(data)): X.append(data[i -
        60:i])`) carry its rows. (`X += [...]` is an augmented binding: followed already.) In
        `sources`, each fill met is the key ("f", position of the call, position of the list's
        binding)."""
        if self._fill_index is None:
            facts = self.facts
            index: dict = {}
            for method in ("append", "extend"):
                for call, recv in facts.method_calls(method):
                    recv = strip(recv)
                    if recv is None or recv.type != "identifier" or facts.innermost_loop(call.start_byte) is None:
                        continue
                    pos, kw = args_of(call)
                    if len(pos) != 1 or kw:
                        continue
                    b = facts.binding(self.text(recv), call.start_byte)
                    if b is None or b.scope != facts.scope_id(call.start_byte) or not self._empty_list(b):
                        continue
                    index.setdefault(binding_key(b), []).append((call.start_byte, pos[0]))
            self._fill_index = index
        return self._fill_index

    def _empty_list(self, b) -> bool:
        if b.kind != "assign" or b.value is None:
            return False
        v = strip(b.value)
        if b.index is not None:
            v = strip(self._unpacked_part(b, v))
        if v is None:
            return False
        if v.type == "list":
            return not v.named_children
        return v.type == "call" and self.text(v.child_by_field_id(F_FUNCTION)) == "list" and not args_of(v)[0] \
            and not args_of(v)[1]

    # -- sources --------------------------------------------------------------------------
    def sources(self, expr) -> set:
        """(Read-only result: cached per expression, the same split inputs are asked about for
        every fit.)"""
        key = (expr.start_byte, expr.end_byte, expr.type) if expr is not None else None
        cached = self._sources_cache.get(key)
        if cached is not None:
            return cached
        out: set = set()
        self._walk(expr, out, 0)
        if not self._in_progress:  # a result computed inside a cycle may be partial
            self._sources_cache[key] = out
        return out

    def _walk(self, node, out: set, depth: int):
        node = strip(node)
        if node is None or depth > 60:
            return
        t = node.type
        if t == "identifier":
            self._walk_name(node, out, depth)
        elif t == "call":
            out.add(call_key(node))
            fn = strip(node.child_by_field_id(F_FUNCTION))
            if fn is not None and fn.type in ("attribute", "call", "subscript"):
                self._walk(fn, out, depth + 1)
            args = node.child_by_field_id(F_ARGUMENTS)
            if args is not None:
                for a in args.named_children:
                    if a.type == "keyword_argument":
                        self._walk(a.child_by_field_id(F_VALUE), out, depth + 1)
                    elif a.type in ("list_splat", "dictionary_splat"):
                        for c in a.named_children:
                            self._walk(c, out, depth + 1)
                    else:
                        self._walk(a, out, depth + 1)
        elif t == "attribute":
            attr = node.child_by_field_id(F_ATTRIBUTE)
            if self._rows_only and attr is not None and self.text(attr) in _METADATA_ATTRIBUTES:
                return   # `test_df[X_test.columns]`: X_test's column names, none of its rows
            self._walk(node.child_by_field_id(F_OBJECT), out, depth + 1)
        elif t in ("integer", "float", "string", "true", "false", "none", "comment",
                   "lambda", "function_definition", "concatenated_string"):
            return
        else:
            for c in node.named_children:
                self._walk(c, out, depth + 1)

    def _walk_name(self, ident, out: set, depth: int):
        name = self.text(ident)
        pos = ident.start_byte
        b = self.reaching(name, pos)
        if b is None:
            out.add(("n", name, self.facts.scope_id(pos)))
            since = -1
            scope = self.facts.scope_id(pos)
        else:
            key = binding_key(b)
            if key not in out:
                out.add(key)
                out |= self._sources_of_binding(b, depth)
            since = b.pos
            scope = b.scope
        read_scope = self.facts.scope_id(pos)
        if b is not None:
            # an empty list filled in a loop (`X.append(data[i - 60:i])`): its rows are the items
            # appended before this read
            for fpos, item in self.fills().get(binding_key(b), ()):
                if read_scope == scope and fpos >= pos:
                    continue
                fkey = ("f", fpos, b.pos)
                if fkey not in out:
                    out.add(fkey)
                    # the rows picked, not the index that picks them (`y.append(prices[i])` in a
                    # loop over `range(len(scaled))` holds none of the scaled rows)
                    while item is not None and item.type == "subscript":
                        item = strip(item.child_by_field_id(F_VALUE))
                    self._walk(item, out, depth + 1)
        for mpos, mscope, value in self.mutations().get(name, ()):
            if mscope != scope or mpos <= since:
                continue
            if read_scope == scope and mpos >= pos:
                continue
            if value.start_byte <= pos < value.end_byte:
                continue
            mkey = ("m", mpos)
            if mkey in out:     # each mutation once per question (they read the name again)
                continue
            out.add(mkey)
            self._walk(value, out, depth + 1)

    def _sources_of_binding(self, b, depth: int) -> set:
        key = binding_key(b)
        cached = self._binding_sources.get(key)
        if cached is not None:
            return cached
        if key in self._in_progress:
            return set()
        self._in_progress.add(key)
        out: set = set()
        try:
            v = strip(b.value)
            if v is None:
                pass
            elif b.kind == "aug":
                self._walk(v.child_by_field_id(F_LEFT), out, depth + 1)
                self._walk(v.child_by_field_id(F_RIGHT), out, depth + 1)
            elif b.index is not None and b.kind == "assign":
                part = self._unpacked_part(b, v)
                if part is not v:
                    out.add(call_key(v)) if v.type == "call" else None
                self._walk(part, out, depth + 1)
            else:
                self._walk(v, out, depth + 1)
        finally:
            self._in_progress.discard(key)
        self._binding_sources[key] = out
        return out

    def _unpacked_part(self, b, v):
        """The part of `v` that the `b.index`-th unpack target receives, when known."""
        if v.type in ("tuple", "list", "expression_list") and len(v.named_children) == b.count:
            return v.named_children[b.index]
        if v.type == "call":
            k = self.split_array_count(v)
            if k and b.count == 2 * k:
                pos, _ = args_of(v)
                return pos[b.index // 2]
        return v

    # -- splits ---------------------------------------------------------------------------
    def split_array_count(self, call) -> int | None:
        """Number of arrays passed to train_test_split (None if not that call or not countable)."""
        if not self.is_train_test_split(call):
            return None
        args = call.child_by_field_id(F_ARGUMENTS)
        if args is None or any(a.type == "list_splat" for a in args.named_children):
            return None
        pos, _ = args_of(call)
        return len(pos) or None

    def is_train_test_split(self, call) -> bool:
        q = self.facts.callee_qual(call)
        if q is not None:
            return is_sklearn(q, TRAIN_TEST_SPLIT)
        # A snippet using the well-known name without its import (and not defining it).
        fn = strip(call.child_by_field_id(F_FUNCTION))
        return (fn is not None and fn.type == "identifier" and self.text(fn) == "train_test_split"
                and "train_test_split" not in self.facts.bindings
                and not any(self.text(f.child_by_field_id(F_NAME)) == "train_test_split"
                            for f in self.facts.functions))

    def split_slot(self, b, depth: int = 0) -> str | None:
        """train / test / val when binding `b` is one piece of a train_test_split unpack."""
        if b is None or b.kind != "assign" or b.index is None:
            return None
        v = strip(b.value)
        if v is None or v.type != "call":
            return None
        k = self.split_array_count(v)
        if not k or b.count != 2 * k:
            return None
        slot = "train" if b.index % 2 == 0 else "test"
        named = side_of_name(b.name)
        if slot == "test" and named == "val":
            return "val"
        if slot == "train" and named in ("test", "val"):
            # `X_test, X_val = train_test_split(X_test)`: the test set, shrunk, keeps its name
            # and stays held out (not `X_test_adapt`: a part kept for fitting, by its name)
            inputs = args_of(v)[0]
            j = b.index // 2
            if j < len(inputs) and self.text(inputs[j]) == b.name and self._held_out_input(inputs[j], depth):
                return named
        if named is not None and (named == "train") != (slot == "train"):
            return "conflict"   # the unpack order itself is wrong: split-unpack-order's job
        return slot

    def _held_out_input(self, expr, depth: int = 0) -> bool:
        """`expr` is a test or validation piece of an earlier split (by flow)."""
        node = strip(expr)
        if node is None or node.type != "identifier" or depth > 16:
            return False   # (a chain of hundreds of re-splits: generated code, not worth the stack)
        b = self.reaching(self.text(node), node.start_byte)
        return b is not None and b.index is not None and self.split_slot(b, depth + 1) in ("test", "val")

    def in_unit_test(self, node) -> bool:
        """Inside a pytest-style `def test_...`, where "test" in a name means the unit test. Not a
        `def test(epoch)` that the file calls itself (pytest calls unit tests): an evaluation."""
        func = self.facts.function_at(node.start_byte)
        while func is not None:
            name = func.child_by_field_id(F_NAME)
            if name is not None and self.text(name).startswith("test") \
                    and not self.facts.calls_named(self.text(name)):
                return True
            func = self.facts.function_at(func.start_byte)
        return False

    def origin(self, expr):
        """(side, by_flow, keys): where the data in `expr` comes from. side is train / test /
        val or None; by_flow says it was seen through a split rather than guessed from names;
        keys are the bindings on the identity path."""
        node = strip(expr)
        names: list[str] = []
        keys: list = []
        for _ in range(24):
            if node is None:
                break
            t = node.type
            if t == "identifier":
                name = self.text(node)
                names.append(name)
                b = self.reaching(name, node.start_byte)
                if b is None:
                    keys.append(("n", name, self.facts.scope_id(node.start_byte)))
                    break
                keys.append(binding_key(b))
                slot = self.split_slot(b)
                if slot == "conflict":
                    return None, True, keys
                if slot is not None:
                    return slot, True, keys
                if b.kind != "assign" or b.value is None:
                    break
                v = strip(b.value)
                if b.index is not None:
                    part = self._unpacked_part(b, v)
                    if part is v:
                        break
                    v = part
                node = strip(v)
            elif t == "subscript":
                if self._fold_index(node):
                    # X[test_idx] inside `for train_idx, test_idx in kf.split(X)`: a CV fold.
                    return "val", True, keys
                filtered = self._row_filter_side(node)
                if filtered is not None:
                    # holdout[holdout.FOLD == "val"]: the rows say which part, not the frame
                    return filtered, False, keys
                node = strip(node.child_by_field_id(F_VALUE))
            elif t == "attribute":
                node = strip(node.child_by_field_id(F_OBJECT))
            elif t == "call":
                recv, m = method_call(node)
                q = self.facts.callee_qual(node)
                pos, _kw = args_of(node)
                if q is None and m in ROW_KEEPING_METHODS and recv is not None:
                    node = strip(recv)
                elif q is None and m in APPLY_METHODS and pos or (q in ROW_KEEPING_FUNCS or self.text(node.child_by_field_id(F_FUNCTION))
                      in _BUILTIN_IDENTITY) and pos:
                    node = strip(pos[0])
                else:
                    break
            else:
                break
        sides = {side_of_name(n) for n in names} - {None}
        side = sides.pop() if len(sides) == 1 else None
        if side == "test" and expr is not None and self.in_unit_test(expr):
            side = None
        return side, False, keys

    def _row_filter_side(self, sub) -> str | None:
        """The side a row filter names: `df[df.fold == "val"]`, `df[df["split"] == 'train']`."""
        for i in sub.children_by_field_name("subscript"):
            i = strip(i)
            if i is None or i.type != "comparison_operator" or len(i.named_children) != 2:
                continue
            if "==" not in (self.text(c) for c in i.children if not c.is_named):
                continue
            for operand in i.named_children:
                value = string_value(operand)
                if value is not None:
                    return side_of_name(value)
        return None

    def _fold_index(self, sub) -> bool:
        """Is the subscript indexed by a loop variable of `for ... in <splitter>.split(...)`?"""
        idx = list(sub.children_by_field_name("subscript"))
        for i in idx:
            i = strip(i)
            if i is None or i.type != "identifier":
                continue
            b = self.binding_of(i)
            if b is None or b.kind != "for" or b.value is None:
                continue
            it = strip(b.value)
            if it is not None and it.type == "call" and callee_name(it) == "enumerate":
                pos, _ = args_of(it)
                it = strip(pos[0]) if pos else None
            if it is not None and it.type == "call" and callee_name(it) == "split":
                return True
        return False

    def _recombined(self, expr, bound: str | None = None) -> bool:
        """Was `expr` built by stacking several datasets (`pd.concat([train, test])`), and is
        the cut at `bound` made by the size of one of them (`n_train = train.shape[0]`)? Slicing
        it apart there separates those sets rather than splitting one. A positional cut met on
        the way back (the labelled part cut off, then split again) is a split of its own."""
        node = strip(expr)
        for _ in range(64):   # a chain of joins (`big_df = big_df.merge(...)` x 10) back to the stack
            if node is None:
                return False
            if node.type == "identifier":
                extended = self._extended_before(node)
                if extended is not None:
                    # `feats = list(train); n = len(feats); feats.extend(test)`: a list stacked
                    return bound is None or self._sized_before_extended(bound, extended)
                made = follow(self.facts, node)
                if made is not None and made.type == "call" and self._empty_frame(made):
                    # `custom = pd.DataFrame(); custom["ratio"] = all.a / all.b`: the frame
                    # takes the rows of its first column
                    made = self._first_column(node, made)
                node = made
                if node is None or node.type == "identifier":
                    return False
                continue
            if node.type == "binary_operator":
                node = strip(node.child_by_field_id(F_LEFT))   # `all.a / all.b`: the rows of `all`
                continue
            if node.type == "call":
                name = callee_name(node)
                if name in ("concat", "concatenate", "vstack", "append"):
                    # side by side (`axis=1`): the same rows with more columns, nothing stacked
                    if name in ("concat", "concatenate") and along_columns(node):
                        return False
                    return bound is None or self._sized_by_a_part(bound, node)
                q = self.facts.callee_qual(node)
                if q in ROW_KEEPING_FUNCS or is_sklearn(q, STAT_FUNCTIONS):
                    # (`sklearn.preprocessing.scale(full)`: the same rows, scaled)
                    pos, _kw = args_of(node)    # `pd.get_dummies(train_test, ...)`: the same rows
                    node = strip(pos[0]) if pos else None
                    continue
                recv, m = method_call(node)
                fn = strip(node.child_by_field_id(F_FUNCTION))
                if m in ("transform", "fit_transform") or (
                        recv is None and fn is not None and fn.type == "identifier"
                        and self.facts.functions_named(self.text(fn))):
                    # `pipe.fit_transform(full)`, a helper of the file `encode(full)`: the rows
                    # handed in come back transformed
                    pos, _kw = args_of(node)
                    node = strip(pos[0]) if pos else None
                    continue
                if recv is None:
                    return False
                node = strip(recv)
            elif node.type == "subscript":
                idx = list(node.children_by_field_name("subscript"))
                if idx and idx[0].type == "slice" and self.text(idx[0]).strip() != ":":
                    return False   # `all_data[:ntrain]`: cut here already (not `X[:, 1:]`, columns)
                if idx and idx[0].type in ("identifier", "call", "attribute"):
                    return False   # `X[perm]`: rows reordered, the stack's blocks are gone
                node = strip(node.child_by_field_id(F_VALUE))
            elif node.type == "attribute":
                node = strip(node.child_by_field_id(F_OBJECT))
            else:
                return False
        return False

    def _empty_frame(self, call) -> bool:
        """`pd.DataFrame()`: a frame made with no data, filled column by column."""
        if self.facts.callee_qual(call) != "pandas.DataFrame":
            return False
        pos, kw = args_of(call)
        return not pos and "data" not in kw

    def _first_column(self, ident, made):
        """The value of the first column assigned to the empty frame `ident` reads (`custom["x"]
        = expr` after `made`, in its binding), else None."""
        name = self.text(ident)
        b = self.facts.binding(name, ident.start_byte)
        for i in self.facts.identifiers_named(name):
            if not made.end_byte <= i.start_byte < ident.start_byte or self.facts.binding(name, i.start_byte) is not b:
                continue
            sub = i.parent
            if sub is None or sub.type != "subscript" or sub.child_by_field_id(F_VALUE) != i:
                continue
            assign = sub.parent
            if assign is not None and assign.type == "assignment" and assign.child_by_field_id(F_LEFT) == sub:
                return strip(assign.child_by_field_id(F_RIGHT))
        return None

    def _extended_before(self, ident):
        """The `name.extend(other)` call that grows the list `ident` reads, after the binding
        that reaches it and before it, else None."""
        name = self.text(ident)
        b = self.facts.binding(name, ident.start_byte)
        if b is None or b.kind != "assign":
            return None
        filled = {fpos for fpos, _item in self.fills().get(binding_key(b), ())}
        for call, recv in self.facts.method_calls("extend"):
            if call.start_byte in filled:
                continue   # an empty list filled in a loop (windows of a series): nothing stacked
            if recv is not None and recv.type == "identifier" and self.text(recv) == name \
                    and b.pos < call.start_byte < ident.start_byte \
                    and self.facts.binding(name, call.start_byte) is b:
                return call
        return None

    def _sized_before_extended(self, bound: str, extend) -> bool:
        """The cut of a list grown with `extend` is at the size of one part: a number written
        out, a size taken before the extend (`n = len(feats)` above `feats.extend(test)`), or the
        size of what was added (`len(test)`); not a fraction of the whole (`int(0.8 *
        len(feats))` after the extend)."""
        if re.fullmatch(r"\d+", bound.strip()):
            return True
        recv, _m = method_call(extend)
        pos, _kw = args_of(extend)
        added = {self.text(i) for i in _walk(pos[0], ("identifier",))} if pos else set()
        if any(re.search(rf"\b{re.escape(a)}\b", bound) for a in added):
            return True
        if not bound.isidentifier() or recv is None:
            return False
        b = self.facts.binding(bound, len(self.facts.doc.data))
        if b is None or b.kind != "assign" or b.value is None:
            return False
        value = self.text(b.value)
        return (b.pos < extend.start_byte and re.search(rf"\b{re.escape(self.text(recv))}\b", value) is not None) \
            or any(re.search(rf"\b{re.escape(a)}\b", value) for a in added)

    def _sized_by_a_part(self, bound: str, stack) -> bool:
        """The cut position `bound` names one of the stacked parts, directly (`len(train)`,
        `train.shape[0]`) or through a name bound to such a size (`ntrain`)."""
        if re.fullmatch(r"\d+", bound.strip()):
            return True   # `full[:891]`: the number of training rows, written out
        if re.fullmatch(r"len\([\w.\[\]'\"]+\)|[\w.\[\]'\"]+\.shape\[0\]", bound.replace(" ", "")):
            return True   # the whole size of an array (`len(y)`, `y_train.shape[0]`), not a fraction
        pos, kw = args_of(stack)
        first = strip(pos[0] if pos else kw.get("objs") or kw.get("tup") or kw.get("arrays"))
        recv, _m = method_call(stack)
        if recv is not None and self.text(recv) in self.facts.imports:
            recv = None   # `np.concatenate(...)`: the module, not a part
        parts = set()
        for p in [*(first.named_children if first is not None and first.type in ("list", "tuple")
                    else [first]), recv]:
            p = strip(p)
            while p is not None and p.type in ("subscript", "attribute", "call"):
                p = strip(p.named_children[0]) if p.named_children else None   # `train[cols]`, `train.drop(...)`
            if p is not None and p.type == "identifier":
                parts.add(self.text(p))
        texts = [bound]
        if bound.isidentifier():
            b = self.facts.binding(bound, stack.end_byte + 1) or self.facts.binding(bound, len(self.facts.doc.data))
            if b is None:
                return True   # a size defined out of sight (another cell, another file): as written
            if b.kind == "assign" and b.value is not None:
                texts.append(self.text(b.value))
        return any(re.search(rf"\b{re.escape(p)}\b", t) for p in parts for t in texts)

    def row_root(self, expr):
        """Key of the variable whose rows `expr` holds; None when the rows were narrowed."""
        node = strip(expr)
        for _ in range(24):
            if node is None:
                return None
            t = node.type
            if t == "identifier":
                return self.key_of(node)
            if t == "subscript":
                if not self._column_subscript(node):
                    return None
                node = strip(node.child_by_field_id(F_VALUE))
                if node is not None and node.type == "attribute" and self.text(
                        node.child_by_field_id(F_ATTRIBUTE)) in ("iloc", "loc"):
                    node = strip(node.child_by_field_id(F_OBJECT))   # `df.loc[:, cols]`: df's rows
            elif t == "attribute":
                attr = node.child_by_field_id(F_ATTRIBUTE)
                if attr is not None and self.text(attr) in ("iloc", "loc"):
                    return None   # a bare .loc/.iloc without subscript: not data
                node = strip(node.child_by_field_id(F_OBJECT))
            elif t == "call":
                recv, m = method_call(node)
                q = self.facts.callee_qual(node)
                pos, _ = args_of(node)
                if q is None and m in ROW_KEEPING_METHODS and recv is not None and m != "apply":
                    node = strip(recv)
                elif q in ROW_KEEPING_FUNCS and pos:
                    node = strip(pos[0])
                else:
                    return None
            elif t == "binary_operator" and self._number(node.child_by_field_id(F_RIGHT)):
                node = strip(node.child_by_field_id(F_LEFT))    # `X + 1e-7` (before a Box-Cox)
            elif t == "binary_operator" and self._number(node.child_by_field_id(F_LEFT)):
                node = strip(node.child_by_field_id(F_RIGHT))   # `1 + X`
            else:
                return None
        return None

    @staticmethod
    def _number(node) -> bool:
        node = strip(node)
        return node is not None and (node.type in ("integer", "float") or (
            node.type == "unary_operator" and node.named_children
            and node.named_children[-1].type in ("integer", "float")))

    def _column_subscript(self, sub) -> bool:
        """`df[cols]`, `df["a"]`, `X[:, 0]`, `df.loc[:, cols]`, `df.iloc[:, 1:]`: all rows kept."""
        value = strip(sub.child_by_field_id(F_VALUE))
        idx = [c for c in sub.children_by_field_name("subscript")]
        if not idx:
            idx = [c for c in sub.named_children[1:]]
        is_locator = value is not None and value.type == "attribute" and self.text(
            value.child_by_field_id(F_ATTRIBUTE)) in ("loc", "iloc")
        if len(idx) >= 2 or (len(idx) == 1 and idx[0].type == "tuple"):
            first = idx[0] if len(idx) >= 2 else idx[0].named_children[0] if idx[0].named_children else None
            return first is not None and first.type == "slice" and self.text(first).strip() == ":"
        if is_locator or not idx:
            return False
        i = strip(idx[0])
        return self._columnish(i)

    def _columnish(self, i, depth=0) -> bool:
        if i is None or depth > 4:
            return False
        if i.type in ("string", "concatenated_string"):
            return True
        if i.type in ("list", "tuple"):
            return all(c.type in ("string", "identifier", "concatenated_string") for c in i.named_children)
        if i.type == "attribute":
            return self.text(i.child_by_field_id(F_ATTRIBUTE)) == "columns"
        if i.type == "call":
            recv, m = method_call(i)
            return m in ("tolist", "to_list", "drop", "difference", "union") and recv is not None and \
                self._columnish(strip(recv), depth + 1)
        if i.type == "identifier":
            name = self.text(i).lower()
            if any(w in name for w in ("col", "feat", "var", "field", "predictor", "attr")):
                return True
            b = self.binding_of(i)
            if b is not None and b.kind == "for" and b.value is not None:   # for c in cols:
                return self._columnish(strip(b.value), depth + 1)
            v = follow(self.facts, i)
            return v is not i and self._columnish(strip(v), depth + 1)
        if i.type == "list_comprehension":
            return any(w in self.text(i) for w in (".columns", "col"))
        return False

    def split_events(self) -> list[SplitEvent]:
        if self._splits is not None:
            return self._splits
        facts = self.facts
        events = []
        wanted = TRAIN_TEST_SPLIT | CV_FUNCS | {"random_split", "fit", "split"}
        for call in self.calls_named(wanted):
            q = facts.callee_qual(call)
            pos, kw = args_of(call)
            if self.is_train_test_split(call) or q == "torch.utils.data.random_split":
                inputs = pos if q != "torch.utils.data.random_split" else pos[:1]
                if inputs and not self._held_out_discarded(call, len(inputs)):
                    events.append(SplitEvent(call, "split", list(inputs), self._assigned_keys(call)))
                continue
            if is_sklearn(q, CV_FUNCS):
                x = pos[1] if len(pos) > 1 else kw.get("X")
                if x is not None:
                    events.append(SplitEvent(call, "cv", [x]))
                continue
            recv, m = method_call(call)
            if recv is None or m not in ("fit", "split"):
                continue
            cq, _ctor = self.values.instance(recv)
            x = pos[0] if pos else kw.get("X")
            if x is None:
                continue
            if m == "fit" and short(cq) in SEARCH_CLASSES and cq and (
                    cq.startswith(("sklearn.", "skopt."))):
                events.append(SplitEvent(call, "search", [x]))
            elif m == "split" and is_sklearn(cq, SPLITTERS):
                events.append(SplitEvent(call, "folds", [x], self._loop_keys(call)))
        events += self._slice_splits()
        events.sort(key=lambda e: e.call.start_byte)
        self._splits = events
        return events

    def _held_out_discarded(self, call, n_inputs: int) -> bool:
        """`X_sample, _, y_sample, _ = train_test_split(X_train, y_train, train_size=20000)`:
        every held-out part is thrown away (`_`), so the call draws a subsample, it does not
        split off rows to evaluate on."""
        parent = call.parent
        if parent is None or parent.type != "assignment" or parent.child_by_field_id(F_RIGHT) != call:
            return False
        left = parent.child_by_field_id(F_LEFT)
        targets = left.named_children if left is not None and left.type in ("pattern_list", "tuple_pattern") else []
        if len(targets) != 2 * n_inputs:
            return False
        return all(t.type == "identifier" and self.text(t).startswith("_") for t in targets[1::2])

    def _assigned_keys(self, call) -> set:
        parent = call.parent
        if parent is None or parent.type != "assignment" or parent.child_by_field_id(F_RIGHT) != call:
            return set()
        left = parent.child_by_field_id(F_LEFT)
        return {("b", n.start_byte) for n in _walk(left, ("identifier",))}

    def _loop_keys(self, call) -> set:
        parent = call.parent
        if parent is not None and parent.type == "call" and self.text(
                parent.child_by_field_id(F_FUNCTION)) == "enumerate":
            parent = parent.parent.parent if parent.parent is not None else None
        if parent is None or parent.type != "for_statement":
            return set()
        left = parent.child_by_field_id(F_LEFT)
        return {("b", n.start_byte) for n in _walk(left, ("identifier",))} if left is not None else set()

    def _slice_splits(self) -> list[SplitEvent]:
        """`tr, te = X[:n], X[n:]` and `tr = X[:n]` ... `te = X[n:]`; `train = df.sample(frac=.8)`
        ... `test = df.drop(train.index)`."""
        found = []
        heads: dict = {}
        tails: dict = {}
        for entries in self.facts.bindings.values():
            for b in entries:
                if b.kind != "assign" or b.value is None:
                    continue
                v = strip(b.value)
                if b.index is not None:
                    v = self._unpacked_part(b, v)
                    v = strip(v)
                    if v is strip(b.value):
                        continue
                if v is None:
                    continue
                if v.type == "call" and self.facts.callee_qual(v) in ROW_KEEPING_FUNCS:
                    pos, _kw = args_of(v)
                    if pos and strip(pos[0]).type == "subscript":
                        v = strip(pos[0])   # `X_train = np.array(X[:1000])`: cut, then converted
                if v.type == "subscript":
                    for base, bound, kind in self._cuts(v):
                        k = (self.key_of(base), bound, b.scope)
                        (heads if kind == "head" else tails).setdefault(k, []).append((b, base))
                elif v.type == "call":
                    recv, m = method_call(v)
                    pos, _kw = args_of(v)
                    if m == "drop" and recv is not None and pos and strip(pos[0]).type == "attribute":
                        idx = strip(pos[0])
                        other = strip(idx.child_by_field_id(F_OBJECT))
                        if self.text(idx.child_by_field_id(F_ATTRIBUTE)) != "index" or other is None:
                            continue
                        ob = self.binding_of(other)
                        ov = strip(ob.value) if ob is not None and ob.value is not None else None
                        if ov is not None and ov.type == "call" and method_call(ov)[1] == "sample":
                            orecv = method_call(ov)[0]
                            if orecv is not None and self.text(orecv) == self.text(recv):
                                found.append(SplitEvent(v, "slice", [recv], {binding_key(b), binding_key(ob)}))
        for k, hs in heads.items():
            ts = tails.get(k)
            if not ts:
                continue
            b, base = ts[0]
            if self._recombined(base, k[1]):
                continue
            outs = {binding_key(x[0]) for x in hs + ts}
            node = b.value if b.index is None else self._unpacked_part(b, strip(b.value))
            found.append(SplitEvent(strip(node), "slice", [base], outs))
        return found

    def _cuts(self, sub) -> list:
        """The cuts a slice makes: `X[:n]` a head at n, `X[n:]` a tail at n, and a middle
        `X[a:b]` (the validation part of `X[:a]`, `X[a:b]`, `X[b:]`) both a tail at a and a head
        at b."""
        base, bound, kind = self._half_slice(sub)
        if base is not None:
            return [(base, bound, kind)]
        middle = self._middle_slice(sub)
        if middle is None:
            return []
        base, lo, hi = middle
        return [(base, lo, "tail"), (base, hi, "head")]

    def _middle_slice(self, sub):
        """(base, start, stop) for `base[a:b]` / `base.iloc[a:b]` with both bounds written."""
        value = strip(sub.child_by_field_id(F_VALUE))
        idx = list(sub.children_by_field_name("subscript")) or sub.named_children[1:]
        if not idx or idx[0].type != "slice":
            return None
        if value is not None and value.type == "attribute" and self.text(
                value.child_by_field_id(F_ATTRIBUTE)) in ("iloc", "loc"):
            value = strip(value.child_by_field_id(F_OBJECT))
        if value is None or value.type != "identifier":
            return None
        raw = self.text(idx[0])
        if raw.count(":") != 1:
            return None
        lo, hi = (x.strip() for x in raw.split(":"))
        if not lo or not hi or lo == "0":
            return None
        return value, lo, hi

    def _half_slice(self, sub):
        """(base, bound text, head|tail) for `base[:k]` / `base[k:]` / `base.iloc[:k]`."""
        value = strip(sub.child_by_field_id(F_VALUE))
        idx = list(sub.children_by_field_name("subscript")) or sub.named_children[1:]
        # `X[:n]`, and `X[:n, :]` / `X[:n, 0]`: rows cut, then columns picked
        if not idx or idx[0].type != "slice":
            return None, None, None
        if value is not None and value.type == "attribute" and self.text(
                value.child_by_field_id(F_ATTRIBUTE)) in ("iloc", "loc"):
            value = strip(value.child_by_field_id(F_OBJECT))
        if value is None or value.type != "identifier":
            return None, None, None
        raw = self.text(idx[0])
        if raw.count(":") != 1:
            return None, None, None
        lo, hi = (s.strip() for s in raw.split(":"))
        if lo == "0":
            lo = ""   # `X[0:n]`: from the first row
        if hi.replace(" ", "") in (f"len({self.text(value)})", f"{self.text(value)}.shape[0]"):
            hi = ""   # `X[n:len(X)]`: to the last row
        if lo and not hi:
            return value, lo, "tail"
        if hi and not lo:
            return value, hi, "head"
        return None, None, None

    # -- fits -----------------------------------------------------------------------------
    def stat_transform(self, qual, ctor) -> str | None:
        """Human name of the statistics-learning transform constructed by `ctor`, or None."""
        if not qual:
            return None
        s = short(qual)
        if qual.startswith("sklearn.") and s in STAT_TRANSFORMERS:
            return s
        if qual.startswith("category_encoders.") and s in CE_TARGET_ENCODERS:
            return s
        if qual in KERAS_ADAPT:
            return s
        if qual.startswith("sklearn.") and s in COMPOSITES and ctor is not None:
            # Nodes are compared by position: the same call can come back as another wrapper
            # object (`ColumnTransformer with ColumnTransformer with ...` in messages).
            span = (ctor.start_byte, ctor.end_byte)
            for c in self.facts.calls_in(ctor):
                if (c.start_byte, c.end_byte) == span:
                    continue
                inner = self.stat_transform(self.facts.callee_qual(c), c)
                if inner is not None:
                    return f"{s} with {inner}"
            for ident in _walk(ctor, ("identifier",)):
                if ident.parent is not None and ident.parent.type in ("attribute", "keyword_argument"):
                    continue
                iq, ictor = self.values.instance(ident)
                if ictor is not None and (ictor.start_byte, ictor.end_byte) != span:
                    inner = self.stat_transform(iq, ictor)
                    if inner is not None:
                        return f"{s} with {inner}"
        return None

    def instance(self, expr):
        """values.instance, plus snippets that use a well-known sklearn class without importing
        it (`scaler = MinMaxScaler()` in a cell whose imports are elsewhere)."""
        q, ctor = self.values.instance(expr)
        if q is not None:
            return q, ctor
        node = follow(self.facts, expr)
        if node is not None and node.type == "call":
            fn = strip(node.child_by_field_id(F_FUNCTION))
            if fn is not None and fn.type == "identifier":
                name = self.text(fn)
                if (name in STAT_TRANSFORMERS or name in OVERSAMPLERS) and name not in self.facts.imports \
                        and name not in self.facts.bindings and self.values.local_class(name) is None:
                    module = "imblearn.over_sampling" if name in OVERSAMPLERS else "sklearn.unimported"
                    return f"{module}.{name}", node
        return None, None

    def fit_events(self) -> list[FitEvent]:
        if self._fits is not None:
            return self._fits
        facts = self.facts
        events = []
        wanted = STAT_FUNCTIONS | {"fillna", "fit", "fit_transform", "adapt"}
        for call in self.calls_named(wanted):
            q = facts.callee_qual(call)
            pos, kw = args_of(call)
            if is_sklearn(q, STAT_FUNCTIONS) and pos:
                events.append(FitEvent(call, "function", pos[0], short(q), None, None, call_key(call)))
                continue
            recv, m = method_call(call)
            if recv is None:
                continue
            if m == "fillna":
                ev = self._fillna_event(call, pos, kw)
                if ev is not None:
                    events.append(ev)
                continue
            if m not in ("fit", "fit_transform", "adapt"):
                continue
            data = pos[0] if pos else kw.get("X") or kw.get("raw_documents") or kw.get("data")
            if data is None:
                continue
            cq, ctor = self.instance(recv)
            what = self.stat_transform(cq, ctor)
            if what is None or (m == "adapt") != (cq in KERAS_ADAPT):
                continue
            obj_key, obj_name = self._object_of(call, recv)
            result = call_key(call) if m == "fit_transform" else None
            events.append(FitEvent(call, m, data, what, obj_key, obj_name, result))
        self._fits = events
        return events

    def _object_of(self, call, recv):
        """(binding key, name) of the fitted object: `scaler.fit(X)` -> scaler;
        `scaler = StandardScaler().fit(X)` -> scaler (the new binding)."""
        recv = strip(recv)
        if recv is not None and recv.type == "identifier":
            b = self.binding_of(recv)
            return (binding_key(b) if b is not None else ("n", self.text(recv), -2)), self.text(recv)
        parent = call.parent
        _r, method = method_call(call)
        if method == "fit" and parent is not None and parent.type == "assignment" \
                and parent.child_by_field_id(F_RIGHT) == call:     # fit() returns the object
            left = parent.child_by_field_id(F_LEFT)
            if left is not None and left.type == "identifier":
                return ("b", left.start_byte), self.text(left)
        return None, None

    def _fillna_event(self, call, pos, kw):
        value = pos[0] if pos else kw.get("value")
        node = strip(value)
        if node is not None and node.type == "identifier":
            node = strip(follow(self.facts, node))   # `med = df.x.median()` ... `fillna(med)`
        while node is not None and node.type == "subscript":   # df.x.mode()[0]
            node = strip(node.child_by_field_id(F_VALUE))
        if node is None or node.type != "call":
            return None
        srecv, sm = method_call(node)
        if srecv is not None and sm == "transform":
            # `fillna(df.groupby("Pclass")["Age"].transform("median"))`: per-group medians of
            # every row
            tpos, _tkw = args_of(node)
            stat = string_value(tpos[0]) if tpos else None
            rows = self._grouped_rows(srecv)
            if stat in PANDAS_STATS and rows is not None:
                return FitEvent(call, "fillna", rows, f"the per-group {stat} passed to fillna", None, None,
                                call_key(call), stat_call=node, groups=self._group_key(srecv))
            return None
        if sm not in PANDAS_STATS or srecv is None:
            return None
        around = self._grouped_lambda_call(srecv)
        if around is not None:
            # `df.groupby("Pclass")["Age"].transform(lambda s: s.fillna(s.median()))`
            outer, rows = around
            return FitEvent(outer, "fillna", rows, f"the per-group {sm} passed to fillna", None, None,
                            call_key(outer), stat_call=node, groups=self._group_key(method_call(outer)[0]))
        return FitEvent(call, "fillna", srecv, f"the {sm} passed to fillna", None, None,
                        call_key(call), stat_call=node)

    def _grouped_rows(self, expr):
        """`df.groupby(...)` or `df.groupby(...)["Age"]` -> `df` (the rows grouped), else None."""
        expr = strip(expr)
        if expr is not None and expr.type == "subscript":
            expr = strip(expr.child_by_field_id(F_VALUE))
        if expr is None or expr.type != "call":
            return None
        recv, m = method_call(expr)
        return strip(recv) if m == "groupby" and recv is not None else None

    def _group_key(self, expr) -> str | None:
        """The text of the first argument of the groupby in `df.groupby(key)[...]`, or None."""
        expr = strip(expr)
        if expr is not None and expr.type == "subscript":
            expr = strip(expr.child_by_field_id(F_VALUE))
        if expr is None or expr.type != "call" or method_call(expr)[1] != "groupby":
            return None
        pos, kw = args_of(expr)
        key = pos[0] if pos else kw.get("by")
        return self.text(key) if key is not None else None

    def _grouped_lambda_call(self, ident):
        """(the `.transform(...)` / `.apply(...)` call, the rows) when `ident` is the parameter
        of a lambda passed to the transform or apply of a groupby (the grouped rows) or of a
        frame, column by column (its rows)."""
        ident = strip(ident)
        if ident is None or ident.type != "identifier":
            return None
        lam = ident.parent
        while lam is not None and lam.type != "lambda":
            lam = lam.parent
        if lam is None:
            return None
        params = lam.child_by_field_id(F_PARAMETERS)
        if params is None or self.text(ident) not in [self.text(p) for p in params.named_children]:
            return None
        arglist = lam.parent
        outer = arglist.parent if arglist is not None and arglist.type == "argument_list" else None
        if outer is None or outer.type != "call":
            return None
        recv, m = method_call(outer)
        if m not in ("transform", "apply") or recv is None:
            return None
        rows = self._grouped_rows(recv)
        if rows is None:
            # `df.apply(lambda col: col.fillna(col.median()))`: column by column, over every row
            pos, kw = args_of(outer)
            axis = kw.get("axis", pos[1] if len(pos) > 1 else None)
            if axis is not None and self.text(axis) not in ("0", "'index'", '"index"'):
                return None
            rows = strip(recv)
            if rows is not None and rows.type == "attribute" and self.text(rows.child_by_field_id(F_ATTRIBUTE)) == "T":
                return None   # `df.T.apply(...)`: column by column of the transpose, row by row
        return outer, rows

    def uses(self, fit: FitEvent) -> list:
        """Calls applying the fitted object after `fit` and before it is fitted again."""
        if fit.obj_key is None or fit.obj_name is None:
            return []
        refits = sorted(f.call.start_byte for f in self.fit_events()
                        if f.obj_key == fit.obj_key and f.call.start_byte > fit.call.start_byte)
        end = refits[0] if refits else None
        out = []
        for call, m, recv in self.calls_on(fit.obj_name):
            if call.start_byte <= fit.call.start_byte or call is fit.call:
                continue
            if end is not None and call.start_byte >= end:
                break
            if m in ("fit", "fit_transform", "partial_fit", "set_params", "get_params", "adapt",
                     "get_feature_names_out"):
                continue
            if self.key_of(recv) == fit.obj_key:
                out.append(call)
        return out

    def calls_on(self, name: str) -> list:
        """[(call, method, receiver)] for every `name.method(...)`, in document order."""
        if self._calls_on is None:
            self._calls_on = {}
        found = self._calls_on.get(name)
        if found is None:
            # Search the text for `name.` instead of walking every call: asked for a few names.
            found = []
            root = self.facts.doc.tree.root_node
            data = self.facts.doc.data
            # (a literal first: a leading look-behind would make `re` try every position)
            for m in re.finditer(re.escape(name.encode()) + rb"\b", data):
                if m.start() > 0 and data[m.start() - 1:m.start()] in _NAME_OR_DOT:
                    continue
                node = root.descendant_for_byte_range(m.start(), m.end())
                if node is None or node.type != "identifier":
                    continue
                recv = node
                while recv.parent is not None and recv.parent.type == "parenthesized_expression":
                    recv = recv.parent
                attr = recv.parent
                if attr is None or attr.type != "attribute" or attr.child_by_field_id(F_OBJECT) != recv:
                    continue
                call = attr.parent
                if call is None or call.type != "call" or call.child_by_field_id(F_FUNCTION) != attr:
                    continue
                meth = attr.child_by_field_id(F_ATTRIBUTE)
                found.append((call, self.text(meth) if meth is not None else None, node))
            self._calls_on[name] = found
        return found

    def referenced_after(self, fit: FitEvent) -> bool:
        """The fitted object's name is read anywhere after the fit (layers used inside a model)."""
        if fit.obj_name is None:
            return False
        data = self.facts.doc.data
        root = self.facts.doc.tree.root_node
        pat = re.compile(rb"\b" + re.escape(fit.obj_name.encode()) + rb"\b")
        for m in pat.finditer(data, fit.call.end_byte):
            node = root.named_descendant_for_byte_range(m.start(), m.end())
            if node is None or node.type != "identifier":
                continue
            parent = node.parent
            if parent is not None and parent.type == "attribute" and parent.child_by_field_id(F_ATTRIBUTE) == node:
                continue
            if parent is not None and parent.type == "keyword_argument" and parent.child_by_field_id(F_NAME) == node:
                continue
            if self.key_of(node) == fit.obj_key:
                return True
        return False

    # -- resampling -----------------------------------------------------------------------
    def resample_events(self) -> list:
        """(call, what, confidence) for oversampling or augmentation that duplicates or
        interpolates rows."""
        if self._resamples is not None:
            return self._resamples
        out = []
        for call, name in self.calls_where(lambda name: name in ("resample", "fit_resample", "fit_sample")
                                           or bool(set(tokens(name)) & AUGMENT_WORDS)):
            q = self.facts.callee_qual(call)
            pos, kw = args_of(call)
            fn = strip(call.child_by_field_id(F_FUNCTION))
            if q is None and fn is not None and fn.type == "identifier" and pos \
                    and set(tokens(self.text(fn))) & AUGMENT_WORDS:
                out.append((call, f"`{self.text(fn)}`", 0.6))
                continue
            if q in ("sklearn.utils.resample", "sklearn.utils._indexing.resample"):
                rep = kw.get("replace")
                if rep is None or self.text(rep) != "False":
                    out.append((call, "resample(replace=True)", 1.0))
                continue
            recv, m = method_call(call)
            if m not in ("fit_resample", "fit_sample") or recv is None:
                continue
            cq, _ctor = self.instance(recv)
            if cq and cq.startswith("imblearn.") and short(cq) in OVERSAMPLERS:
                out.append((call, short(cq), 1.0))
        self._resamples = out
        return out


_NAME_OR_DOT = frozenset(bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
_INPLACE_TRUE = re.compile(rb"inplace\s*=\s*True\b")


def callee_name(call) -> str | None:
    """The last name of the called expression: `f(x)` -> f, `a.b.c(x)` -> c."""
    fn = call.child_by_field_id(F_FUNCTION)
    if fn is None:
        return None
    if fn.type == "attribute":
        fn = fn.child_by_field_id(F_ATTRIBUTE)
    if fn is None or fn.type != "identifier":
        return None
    return fn.text.decode("utf-8", errors="replace")


def _root_identifier(node):
    node = strip(node)
    while node is not None and node.type in ("subscript", "attribute", "call"):
        if node.type == "subscript":
            node = strip(node.child_by_field_id(F_VALUE))
        elif node.type == "attribute":
            node = strip(node.child_by_field_id(F_OBJECT))
        else:
            fn = strip(node.child_by_field_id(F_FUNCTION))
            node = fn.child_by_field_id(F_OBJECT) if fn is not None and fn.type == "attribute" else None
    return node if node is not None and node.type == "identifier" else None


__all__ = [
    "FitEvent",
    "Flow",
    "SplitEvent",
    "binding_key",
    "call_key",
    "callee_name",
    "flow",
    "is_literal",
    "is_sklearn",
    "role_of_name",
    "short",
    "side_of_name",
    "tokens",
]
