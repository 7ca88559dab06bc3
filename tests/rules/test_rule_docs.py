"""The rule docs of the loss and training-loop rules agree with the engine: front matter matches
the rule, the Example is reported and the Use instead code is not."""
import re
from pathlib import Path

import pytest

from conftest import findings, parses
from nntutor.rules import all_rules

DOCS = Path(__file__).resolve().parents[2] / "content" / "rules"
RULES = ["double-softmax", "nll-without-log-softmax", "single-unit-softmax", "missing-softmax",
         "sigmoid-bce", "double-sigmoid", "missing-zero-grad", "step-before-backward",
         "loss-accumulates-graph", "missing-eval-mode", "missing-no-grad",
         "eval-mode-not-restored", "hardcoded-cuda", "metric-args-swapped",
         "metric-on-hard-labels", "metric-on-scores", "unused-suppression", "accelerator-unchecked",
         "best-weights-not-copied", "accelerator-check-not-called"]
SECTIONS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Judgement calls"]


def _doc(rule_id):
    text = (DOCS / f"{rule_id}.md").read_text(encoding="utf-8")
    front, body = text.split("\n---\n", 1)
    meta = dict(line.split(": ", 1) for line in front.splitlines()[1:])
    return meta, body


def _code(body, section):
    part = body.split(section, 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", part, re.S).group(1)


@pytest.mark.parametrize("rule_id", RULES)
def test_front_matter_matches_engine(rule_id):
    meta, body = _doc(rule_id)
    rule = all_rules()[rule_id]
    assert meta["id"] == rule_id
    assert meta["concept"].strip('"') == rule.concept
    assert meta["severity"] == rule.severity.label
    assert [body.index(s) for s in SECTIONS] == sorted(body.index(s) for s in SECTIONS)


@pytest.mark.parametrize("rule_id", RULES)
def test_example_is_reported(rule_id):
    code = _code(_doc(rule_id)[1], "## Example")
    assert parses(code)
    assert findings(code, rule_id), f"the Example of {rule_id} is not reported"


@pytest.mark.parametrize("rule_id", RULES)
def test_use_instead_is_silent(rule_id):
    code = _code(_doc(rule_id)[1], "## Use instead")
    assert parses(code)
    assert findings(code) == [], f"the Use instead code of {rule_id} is reported"
