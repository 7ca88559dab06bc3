"""Two realistic Kaggle-style scripts: one written without leakage (no rule may fire on it), one
with planted leaks (exactly those must be found, no more)."""
from pathlib import Path

from nntutor.engine import analyze_text

DATA = Path(__file__).parent / "data"


def _analyze(name):
    src = (DATA / name).read_text(encoding="utf-8")
    result = analyze_text(src, name)
    assert not [n for n in result.notices if "internal error" in n], result.notices
    return result


def test_clean_script_has_no_findings_from_any_rule():
    assert _analyze("kaggle_churn_clean.py").findings == []


def test_leaky_script_has_exactly_the_planted_bugs():
    found = {(f.rule, f.location.line + 1) for f in _analyze("kaggle_fraud_leaky.py").findings}
    assert found == {
        ("leakage-preprocessing", 22),   # fillna with the median of every row, split later
        ("split-unpack-order", 28),      # Xb_train, yb_train, Xb_test, yb_test
        ("leakage-preprocessing", 33),   # StandardScaler fitted before the split
        ("leakage-overlap", 37),         # SMOTE before the split
        ("leakage-fit-on-test", 46),     # PCA refitted on the test split
        ("leakage-multitest", 58),       # models compared on the test set, best kept with max
        ("leakage-overlap", 65),         # eval_set is the training data
    }


def test_leaky_script_fit_on_test_offers_the_transform_fix():
    (f,) = [f for f in _analyze("kaggle_fraud_leaky.py").findings if f.rule == "leakage-fit-on-test"]
    assert f.fix is not None and f.fix.edits[0].new_text == "transform"
