"""leakage-preprocessing: statistics learned on rows that are split or cross-validated later."""
from __future__ import annotations

import re

from ..findings import Severity
from ..parsing import F_ATTRIBUTE, F_FUNCTION, F_LEFT, F_OBJECT, F_RIGHT
from ..values import args_of, follow, method_call, strip
from . import Rule
from ._scale_free import AFFINE_SCALERS, _occurrences, estimators_of, models_using_split, scale_free_name
from ._splits import flow


def check(ctx):
    fl = flow(ctx)
    splits = fl.split_events()
    if not splits:
        return
    fits = fl.fit_events()
    if not fits:
        return
    # source key -> (split, the sources of one of its inputs), in split and input order: each
    # fit looks up the splits its rows reach instead of testing every split (fits x splits was
    # minutes for a notebook with thousands of each).
    by_source: dict = {}
    for i, split in enumerate(splits):
        for x in split.inputs:
            src = fl.sources(x)
            for key in src:
                by_source.setdefault(key, []).append((i, split, src))
    held_out_unread: dict = {}
    for fit in fits:
        root = fl.row_root(fit.data)
        if root is None:
            continue
        hits = []
        hit_splits = set()
        uses = use_keys = None
        for i, split, src in by_source.get(root, ()):
            if i in hit_splits:
                continue   # this split leaks through an earlier input already
            unread = held_out_unread.get(i)
            if unread is None:
                unread = held_out_unread[i] = _held_out_never_read(fl, split)
            if unread:
                continue
            if uses is None:
                uses = fl.uses(fit)
                use_keys = {("c", u.start_byte, u.end_byte) for u in uses}
            if _leaks(fl, fit, split, src, uses, use_keys) and not _split_by_the_same_groups(ctx, fit, split) \
                    and not _unstacked_after_fit(ctx, fit, split) and not _fitted_per_item(ctx, fit, src):
                hits.append(split)
                hit_splits.add(i)
        if not hits:
            continue
        first = hits[0]
        data = ctx.text(fit.data)
        if len(data) > 40:
            data = data[:37] + "..."
        if fit.kind == "function":
            fn = ctx.text(fit.call.child_by_field_id(F_FUNCTION))
            what = f"`{fn}(...)` uses statistics of every row of `{data}`"
        elif fit.kind == "fillna":
            what = f"`{ctx.text(fit.stat_call)}` is computed over every row of `{data}`"
        else:
            obj = f"`{fit.obj_name}` ({fit.what})" if fit.obj_name else fit.what
            what = f"{obj} is fitted on every row of `{data}`"
        if first.kind in ("split", "slice"):
            msg = (f"Data leakage: {what}, and these rows are split into train and test "
                   "afterwards. The learned statistics include the test rows, so the test score "
                   "is optimistic. Split first, fit on the training part only, then apply it to "
                   "the test part (a Pipeline does this for you).")
        else:
            msg = (f"Data leakage: {what}, and these rows then go to {first.label}. Every "
                   "validation fold was part of that fit, so the cross-validated scores (and "
                   "anything chosen with them) are optimistic. Put this step in a Pipeline with "
                   "the model so it is refitted on each training fold.")
        # Scaling or imputing before cross-validation biases scores only slightly; supervised
        # selection/encoding (which sees the labels of the validation folds) biases them a lot.
        severity = None
        if first.kind not in ("split", "slice") and not _supervised(fit):
            severity = Severity.INFO
        unaffected = _only_scale_free_models(fl, fit, hits, uses)
        if unaffected:
            severity = Severity.INFO
            goes = ("are split into train and test afterwards" if first.kind in ("split", "slice")
                    else f"then go to {first.label}")
            msg = (f"Preprocessing before the split: {what}, and these rows {goes}. The models "
                   f"trained on them here ({', '.join(unaffected)}) predict the same under any "
                   "per-feature shift and scale, so these scores are not biased; a scale-sensitive "
                   "model (k-NN, SVM, a regularised linear model, a neural network) fitted the "
                   "same way would get optimistic scores. Fit the scaler on the training part "
                   "only (a Pipeline does this for you).")
            if all(" that starts with " in u for u in unaffected):
                msg = (f"Preprocessing before the split: {what}, and these rows {goes}. The "
                       f"pipeline ({', '.join(unaffected)}) refits its scaler on the rows it is "
                       "trained on, which undoes any per-feature shift and scale made before, so "
                       "these scores are not biased: this earlier fit is redundant and can go.")
        yield ctx.finding(
            fit.call, msg, severity=severity,
            related=[ctx.related(fit.call, "statistics learned here, from all rows")]
            + [ctx.related(s.call, f"the {s.label} of those rows") for s in hits[:3]])


def _only_scale_free_models(fl, fit, hits, uses) -> list[str]:
    """The names of the models whose scores the leak could bias, when every use of the scaled
    data is seen and every model is scale-free (trees, boosted trees, least squares:
    _scale_free.py); else []. A split's: the models its scaled pieces go to; a cross-validation's
    or a search's: its estimator."""
    if fit.kind not in ("fit", "fit_transform") or fit.what not in AFFINE_SCALERS:
        return []
    scaled_calls = ([fit.call] if fit.kind == "fit_transform" else []) + list(uses or ())
    ctors = []
    for split in hits:
        if split.kind in ("split", "slice"):
            found = models_using_split(fl, split, scaled_calls)
        elif split.kind in ("cv", "search"):
            found = estimators_of(fl, split.call, scaled_calls)
        else:
            found = None   # a KFold loop: what it trains is not followed
        if found is None or (not found and split.kind not in ("split", "slice")):
            return []
        ctors.extend(found)
    if not ctors:
        return []   # no model seen: the finding stays a warning (code still being written)
    names = [scale_free_name(fl, c) for c in ctors]
    return list(dict.fromkeys(names)) if all(names) else []


_SUPERVISED = ("Select", "RFE", "TargetEncoder", "SequentialFeatureSelector", "LinearDiscriminant")


def _supervised(fit) -> bool:
    from ..values import args_of

    what = str(getattr(fit, "what", "") or "")
    if any(s in what for s in _SUPERVISED):
        return True
    pos, kw = args_of(fit.call)
    return len(pos) >= 2 or "y" in kw


def _leaks(fl, fit, split, src, uses, use_keys) -> bool:
    """Do the statistics learned by `fit` reach `split`, whose input (derived from the fitted
    rows) has sources `src`?"""
    # The learned statistics reach the split data: the fit_transform / fillna result ...
    if fit.result is not None and fit.result in src:
        return True
    # ... or data transformed by the fitted object afterwards ...
    if use_keys & src:
        return True
    # ... or the fitted object is applied to the pieces of the split (their rows: a frame whose
    # columns are aligned with `X_test.columns` holds none of X_test's rows).
    if split.outputs:
        rows = fl.rows_view()
        for u in uses:
            for arg in _data_args(u):
                if rows.sources(arg) & split.outputs:
                    return True
    return fit.kind == "adapt" and fl.referenced_after(fit)


_SIZE_ATTRS = frozenset({"shape", "dtype", "dtypes", "ndim", "size"})


def _held_out_never_read(fl, split) -> bool:
    """`X_train, X_test, y_train, y_test = train_test_split(X_scaled, y)` whose training parts
    are read and whose held-out parts never are (by name, anywhere in the file; a look at their
    shape or length is no read): no score on held-out rows exists, so the call only draws the
    training rows, like `X_sample, _, y_sample, _ = ...`. A held-out part handed to anything
    (a function, `np.save`, a DataLoader, a `return`) is read. A file that reads no part at all
    is still being written: its split stays a split."""
    if split.kind != "split" or not fl.is_train_test_split(split.call):
        return False
    parent = split.call.parent
    if parent is None or parent.type != "assignment" or parent.child_by_field_id(F_RIGHT) != split.call:
        return False
    left = parent.child_by_field_id(F_LEFT)
    targets = left.named_children if left is not None and left.type in ("pattern_list", "tuple_pattern") else []
    if len(targets) != 2 * len(split.inputs) or any(t.type != "identifier" for t in targets):
        return False
    train_read = False
    for j, target in enumerate(targets):
        read = any(not _size_look(fl, n) for n in _occurrences(fl, fl.text(target)))
        if j % 2 and read:
            return False
        train_read = train_read or (read and not j % 2)
    return train_read


def _size_look(fl, ident) -> bool:
    """`X_test.shape`, `len(X_test)`: the size of the data, none of its values."""
    parent = ident.parent
    if parent is not None and parent.type == "attribute" and parent.child_by_field_id(F_OBJECT) == ident:
        attr = parent.child_by_field_id(F_ATTRIBUTE)
        return attr is not None and fl.text(attr) in _SIZE_ATTRS
    call = parent.parent if parent is not None and parent.type == "argument_list" else None
    fn = call.child_by_field_id(F_FUNCTION) if call is not None else None
    return fn is not None and fn.type == "identifier" and fl.text(fn) == "len" and len(parent.named_children) == 1


def _fitted_per_item(ctx, fit, src) -> bool:
    """The split rows were collected in a list across the iterations of a loop that fits
    again in each (`for patch in patches: dataset.append(scaler.fit_transform(patch))`, per
    stock or per image): each item is scaled on its own rows, none on the rows of the others.
    Not a loop around the whole job that makes the list afresh each time (`for region in
    regions: X = scaler.fit_transform(...); seqs = []; for ...: seqs.append(X[...])`)."""
    loops = ctx.facts.loops_containing(fit.call.start_byte)
    if not loops:
        return False
    for key in src:
        if key[0] != "f":
            continue
        _f, at, made = key
        if any(loop.start_byte <= at < loop.end_byte and not loop.start_byte <= made < loop.end_byte
               for loop in loops):
            return True
    return False


_ROW_STACKS = frozenset({"numpy.vstack", "numpy.concatenate", "numpy.row_stack", "pandas.concat",
                         "torch.cat", "torch.concat", "torch.vstack"})


def _unstacked_after_fit(ctx, fit, split) -> bool:
    """A positional cut of rows that were stacked with other rows after the fit: `emb =
    TSNE().fit_transform(np.vstack([train_scaled, synthetic]))`, then `emb[:n]`, `emb[n:]` takes
    the stack apart again (the fitted rows are one block of it), it does not split them. A stack
    made before the fit (`all_data = pd.concat([train, test])`, fitted, then cut) still leaks, and
    so does a stack of columns (`axis=1`: the same rows, more features)."""
    if split.kind != "slice":
        return False
    facts = ctx.facts
    after = fit.call.end_byte
    for x in split.inputs:
        node = strip(x)
        for _ in range(8):
            if node is None:
                break
            if node.type == "identifier":
                b = facts.binding(ctx.text(node), node.start_byte)
                if b is None or b.kind != "assign" or b.value is None or b.pos < after:
                    break
                node = strip(b.value)
                continue
            if node.type != "call" or node.start_byte <= fit.call.start_byte < node.end_byte:
                break
            if facts.callee_qual(node) in _ROW_STACKS:
                return _stacks_rows_of_parts(ctx, node)
            pos, _kw = args_of(node)
            node = strip(pos[0]) if pos else None
    return False


def _stacks_rows_of_parts(ctx, stack) -> bool:
    """`np.vstack([train_scaled, synthetic])`: separate arrays (a literal list) stacked along the
    rows (no axis / dim, or 0); not windows of one series (a comprehension) nor `dim=2`."""
    pos, kw = args_of(stack)
    axis = kw.get("axis", kw.get("dim", pos[1] if len(pos) > 1 else None))
    if axis is not None and ctx.text(axis) != "0":
        return False
    parts = strip(pos[0]) if pos else None
    return parts is not None and parts.type in ("list", "tuple") and len(parts.named_children) > 1


def _split_by_the_same_groups(ctx, fit, split) -> bool:
    """A per-group fill (`groupby("patient_id")`) before a split that keeps each of those groups
    on one side (`GroupKFold` / `GroupShuffleSplit` with `groups=df["patient_id"]`): each
    group's statistic stays inside one fold, nothing crosses over."""
    key = _column_name(fit.groups) if fit.groups else None
    if key is None:
        return False
    call = split.call
    pos, kw = args_of(call)
    groups = kw.get("groups")
    recv, method = method_call(call)
    if groups is None and method == "split" and len(pos) >= 3:
        groups = pos[2]   # `kf.split(X, y, groups)`
    if groups is None:
        return False
    # the splitter must keep groups together (StratifiedKFold ignores `groups`): the one split,
    # the `cv=` of the call, or of the search whose fit() this is
    splitter = recv if method == "split" else kw.get("cv")
    if splitter is None and method == "fit" and recv is not None:
        search = strip(follow(ctx.facts, recv))
        splitter = args_of(search)[1].get("cv") if search is not None and search.type == "call" else None
    made = strip(follow(ctx.facts, splitter)) if splitter is not None else None
    fn = made.child_by_field_id(F_FUNCTION) if made is not None and made.type == "call" else None
    if fn is None or not _GROUP_SPLITTERS.search(ctx.text(fn)):
        return False
    return _column_name(ctx.text(strip(follow(ctx.facts, groups)))) == key


def _column_name(text: str | None) -> str | None:
    """The column a groupby key or a groups argument names: `"patient_id"`, `["patient_id"]`,
    `df["patient_id"]`, `df['patient_id'].values`, `df.patient_id`."""
    if text is None:
        return None
    m = re.search(r"""["']([^"']+)["']""", text)
    if m:
        return m.group(1)
    m = re.search(r"\.(\w+)(?:\.values|\.to_numpy\(\))?\s*$", text)
    return m.group(1) if m and m.group(1) not in ("values", "to_numpy") else None


_GROUP_SPLITTERS = re.compile(r"Group(?:KFold|ShuffleSplit)|LeaveOneGroupOut|LeavePGroupsOut|StratifiedGroupKFold")


def _data_args(call):
    pos, kw = args_of(call)
    return pos[:1] + [v for k, v in kw.items() if k in ("X", "x")]


RULE = Rule("leakage-preprocessing", Severity.WARNING, "data-leakage",
            "Preprocessing fitted on all rows before a split or cross-validation", check,
            needs=(b"fit", b"fillna", b"adapt", b"scale", b"_transform"))
