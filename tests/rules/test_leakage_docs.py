"""The docs of the leakage-* and split-unpack-order rules: their Example must trigger the rule,
their Use instead must not (so the docs never teach something the rule contradicts)."""
import re
from pathlib import Path

import pytest
from conftest import findings

RULES = ["leakage-preprocessing", "leakage-fit-on-test", "leakage-overlap", "leakage-multitest",
         "split-unpack-order", "leakage-window-split"]
DOCS = Path(__file__).resolve().parents[2] / "content" / "rules"


def _section_code(text, title):
    body = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", body, re.DOTALL)
    assert blocks, f"no python block under {title}"
    return blocks[0]


@pytest.mark.parametrize("rule", RULES)
def test_example_triggers_and_fix_is_silent(rule):
    text = (DOCS / f"{rule}.md").read_text(encoding="utf-8")
    assert text.startswith(f"---\nid: {rule}\n")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead",
                    "## Judgement calls"):
        assert section in text
    assert findings(_section_code(text, "Example"), rule), "the Example does not trigger the rule"
    assert findings(_section_code(text, "Use instead")) == [], "the Use instead is not clean"


@pytest.mark.parametrize("rule", RULES)
def test_front_matter_matches_the_engine(rule):
    import yaml

    from nntutor.rules import all_rules

    text = (DOCS / f"{rule}.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---\n")[1])
    engine = all_rules()[rule]
    assert meta["id"] == engine.id
    assert meta["concept"] == engine.concept
    assert meta["severity"] == engine.severity.label
