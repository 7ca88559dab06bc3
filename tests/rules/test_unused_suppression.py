"""unused-suppression: `# nntutor: ignore[...]` directives that silence nothing."""
import textwrap

import pytest
from conftest import analysis, apply_fix, findings, fixed_once, lines, notebook, parses

from nntutor import fixall
from nntutor.config import Config
from nntutor.engine import analyze_text

RULE = "unused-suppression"

# A line that double-softmax reports (line 6 of every snippet that starts with HEAD).
HEAD = """\
import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()
def step(logits, y):
    return criterion(F.softmax(logits, dim=1), y)"""

BUGGY = [
    ("stale_line_directive", """\
import torch.nn.functional as F

def loss_fn(logits, target):
    return F.cross_entropy(logits, target)  # nntutor: ignore[double-softmax]
""", [4]),
    ("misspelt_id", HEAD + "  # nntutor: ignore[double-sofmax]\n", [6]),
    ("prefix_is_not_an_id", """\
import torch
# nntutor: ignore-file[leakage]
x = torch.ones(3)
""", [2]),
    ("bare_directive_on_a_quiet_line", """\
import torch
x = torch.ones(3)  # nntutor: ignore
""", [2]),
    ("file_wide_directive_for_a_rule_that_reports_nothing", """\
# nntutor: ignore-file[hardcoded-cuda]
import torch
x = torch.ones(3)
""", [1]),
    ("one_of_two_ids_used", HEAD + "  # nntutor: ignore[double-softmax, sigmoid-bce]\n", [6]),
    ("directive_on_the_last_line_of_a_multiline_finding", """\
import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()
def step(logits, y):
    return criterion(F.softmax(
        logits, dim=1), y)  # nntutor: ignore[double-softmax]
""", [7]),
]

CORRECT = [
    ("used_line_directive", HEAD + "  # nntutor: ignore[double-softmax]\n"),
    ("used_bare_directive", HEAD + "  # nntutor: ignore\n"),
    ("used_file_directive", "# nntutor: ignore-file[double-softmax]\n" + HEAD + "\n"),
    ("both_directives_silence_the_same_finding",
     "# nntutor: ignore-file[double-softmax]\n" + HEAD + "  # nntutor: ignore[double-softmax]\n"),
    ("kept_on_purpose", """\
import torch.nn.functional as F

def loss_fn(logits, target):
    return F.cross_entropy(logits, target)  # nntutor: ignore[double-softmax, unused-suppression]
"""),
    ("kept_on_purpose_file_wide", """\
# nntutor: ignore-file[unused-suppression]
import torch
x = torch.ones(3)  # nntutor: ignore[hardcoded-cuda, no-such-rule]
"""),
    ("directive_text_in_a_string", """\
import torch
HELP = "write  # nntutor: ignore[double-softmax]  to silence a line"
x = torch.ones(3)
"""),
    ("directive_in_a_docstring", '''\
def f():
    """Silence with `# nntutor: ignore[hardcoded-cuda]`."""
    return 1
'''),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_reported(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_the_silenced_finding_stays_silenced():
    # The audit must not bring back what a used directive silenced.
    assert findings(HEAD + "  # nntutor: ignore[double-softmax]\n") == []


def test_unknown_id_is_a_warning_with_the_closest_id():
    (f,) = findings(HEAD + "  # nntutor: ignore[double-sofmax]\n", RULE)
    assert f.severity.label == "warning"
    assert "`double-sofmax` is not an nntutor rule" in f.message
    assert "Did you mean `double-softmax`?" in f.message
    # the double-softmax finding the author meant to silence is still there
    assert lines(HEAD + "  # nntutor: ignore[double-sofmax]\n", "double-softmax") == [6]


def test_prefix_lists_the_rules_it_would_have_meant():
    (f,) = findings("# nntutor: ignore-file[leakage]\nx = 1\n", RULE)
    assert "not prefixes" in f.message and "`leakage-preprocessing`" in f.message


def test_unused_id_is_info_and_points_at_the_id():
    src = HEAD + "  # nntutor: ignore[double-softmax, sigmoid-bce]\n"
    (f,) = findings(src, RULE)
    assert f.severity.label == "info"
    assert src.encode()[f.location.start:f.location.end] == b"sigmoid-bce"


def test_fix_removes_only_the_unused_id():
    src = HEAD + "  # nntutor: ignore[double-softmax, sigmoid-bce]\n"
    out = fixed_once(src, RULE)
    assert out == HEAD + "  # nntutor: ignore[double-softmax]\n"
    src = HEAD + "  # nntutor: ignore[sigmoid-bce, double-softmax]\n"
    assert fixed_once(src, RULE) == HEAD + "  # nntutor: ignore[double-softmax]\n"


def test_fix_removes_the_trailing_comment():
    src = "import torch\nx = torch.ones(3)  # nntutor: ignore[hardcoded-cuda]\ny = 2\n"
    assert fixed_once(src, RULE) == "import torch\nx = torch.ones(3)\ny = 2\n"


def test_fix_removes_a_comment_line():
    src = "import torch\n# nntutor: ignore-file[hardcoded-cuda]\nx = torch.ones(3)\n"
    assert fixed_once(src, RULE) == "import torch\nx = torch.ones(3)\n"


def test_fix_keeps_the_rest_of_the_comment():
    src = "import torch\nx = torch.ones(3)  # ones  # nntutor: ignore[hardcoded-cuda]\n"
    assert fixed_once(src, RULE) == "import torch\nx = torch.ones(3)  # ones\n"
    src = "import torch\nx = torch.ones(3)  # nntutor: ignore[hardcoded-cuda] old GPU path\n"
    assert fixed_once(src, RULE) == "import torch\nx = torch.ones(3)  # old GPU path\n"


def test_every_id_unused_removes_the_directive_once_for_all():
    src = "import torch\nx = torch.ones(3)  # nntutor: ignore[hardcoded-cuda, sigmoid-bce]\n"
    found = findings(src, RULE)
    assert len(found) == 2
    for f in found:
        assert apply_fix(src, f) == "import torch\nx = torch.ones(3)\n"


def test_a_repeated_id_is_reported_and_removed():
    src = HEAD + "  # nntutor: ignore[double-softmax, double-softmax]\n"
    (f,) = findings(src, RULE)
    assert "already named" in f.message and f.severity.label == "info"
    assert f.location.start == src.encode().rindex(b"double-softmax")
    assert fixed_once(src, RULE) == HEAD + "  # nntutor: ignore[double-softmax]\n"
    # an unused id and a repeat in one directive: both go, the used id stays
    src = HEAD + "  # nntutor: ignore[double-softmax, sigmoid-bce, double-softmax]\n"
    found = findings(src, RULE)
    assert sorted("already" in f.message for f in found) == [False, True]
    both = fixall.apply(src.encode(), [f.fix for f in found]).decode()
    assert both == HEAD + "  # nntutor: ignore[double-softmax]\n"


def test_a_repeated_unused_id_goes_with_its_directive():
    src = "import torch\nx = torch.ones(3)  # nntutor: ignore[hardcoded-cuda, hardcoded-cuda]\n"
    (f,) = findings(src, RULE)
    assert "Unused suppression" in f.message
    assert apply_fix(src, f) == "import torch\nx = torch.ones(3)\n"


def _config(**kw):
    return Config(**kw)


def test_rules_turned_off_are_not_judged():
    src = "import torch\nx = torch.ones(3)  # nntutor: ignore[hardcoded-cuda]\n"
    assert [f.rule for f in analyze_text(src, config=_config(ignore=["hardcoded-cuda"])).findings] == []
    # ... but an id that is no rule is a mistake under any settings
    src = "import torch\nx = torch.ones(3)  # nntutor: ignore[hardcoded-cud]\n"
    assert [f.rule for f in analyze_text(src, config=_config(ignore=["hardcoded-cuda"])).findings] == [RULE]


def test_the_rule_can_be_turned_off():
    src = "import torch\nx = torch.ones(3)  # nntutor: ignore[hardcoded-cuda]\n"
    assert analyze_text(src, config=_config(ignore=[RULE])).findings == []
    assert analyze_text(src, config=_config(select=["double-softmax"])).findings == []


def test_severity_override_applies():
    from nntutor.findings import Severity

    src = "import torch\nx = torch.ones(3)  # nntutor: ignore[hardcoded-cuda]\n"
    (f,) = analyze_text(src, config=_config(severity={RULE: Severity.ERROR})).findings
    assert f.severity.label == "error"


def test_a_crashing_rule_is_not_judged(monkeypatch):
    from nntutor.rules import all_rules

    rules = dict(all_rules())
    crashing = rules["hardcoded-cuda"]

    def boom(ctx):
        raise RuntimeError("boom")
        yield

    from dataclasses import replace

    monkeypatch.setitem(all_rules(), "hardcoded-cuda", replace(crashing, check=boom))
    result = analyze_text("import torch\nx = torch.ones(3).cuda()  # nntutor: ignore[hardcoded-cuda]\n")
    assert [f.rule for f in result.findings] == []
    assert any("internal error in rule hardcoded-cuda" in n for n in result.notices)


def test_notebook_cell_and_line():
    found = notebook(["import torch\n", "x = torch.ones(3)\ny = 1  # nntutor: ignore[sigmoid-bce]\n"], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 1)]


def test_fix_in_a_notebook_cell_is_applicable(tmp_path):
    import json

    from nntutor.fixall import fix_bytes

    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "a", "metadata": {}, "outputs": [],
                     "source": ["import torch\n", "x = torch.ones(3)  # nntutor: ignore[hardcoded-cuda]"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    raw = (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
    fixed = fix_bytes(raw, str(tmp_path / "n.ipynb"))
    assert fixed is not None and fixed.applied
    cell = json.loads(fixed.data)["cells"][0]["source"]
    assert "".join(cell) == "import torch\nx = torch.ones(3)"


def test_snippets_parse():
    for _, src, _ in BUGGY:
        assert parses(textwrap.dedent(src))
    for _, src in CORRECT:
        assert parses(textwrap.dedent(src))
    assert analysis(HEAD + "\n").findings  # HEAD really has the finding the directives silence


# -- found by reviewing the feature adversarially --------------------------------------------
@pytest.mark.parametrize("directive", [
    "# nntutor: ignore [hardcoded-cuda]", "# nntutor: ignored", "# nntutor: ignore: hardcoded-cuda",
    "# nntutor: ignore(hardcoded-cuda)", "# nntutor: ignore[hardcoded-cuda", "# nntutor: ignore[]",
])
def test_a_malformed_directive_silences_nothing_and_says_so(directive):
    src = f"import torch\nx = torch.ones(3).cuda()  {directive}\n"
    found = findings(src)
    assert sorted(f.rule for f in found) == ["hardcoded-cuda", RULE]
    (bad,) = [f for f in found if f.rule == RULE]
    assert bad.severity.label == "warning" and "not a directive nntutor reads" in bad.message
    assert bad.fix is None


@pytest.mark.parametrize("directive", [
    "# nntutor: ignore-file [hardcoded-cuda]", "# nntutor: ignore-files[hardcoded-cuda]",
    "# nntutor: ignore-file-for-now",
])
def test_a_malformed_file_directive_silences_nothing(directive):
    src = f"{directive}\nimport torch\nx = torch.ones(3).cuda()\n"
    assert sorted(f.rule for f in findings(src)) == ["hardcoded-cuda", RULE]


def test_a_bare_directive_may_give_a_reason():
    src = "import torch\nx = torch.ones(3).cuda()  # nntutor: ignore because the demo needs a GPU\n"
    assert findings(src) == []


def test_every_directive_of_a_comment_is_read():
    src = ("import torch\n"
           "x = torch.ones(3).cuda()  # nntutor: ignore[double-softmax]  # nntutor: ignore[hardcoded-cuda]\n")
    (f,) = findings(src)
    assert f.rule == RULE and "`double-softmax` reports nothing" in f.message
    assert apply_fix(src, f) == "import torch\nx = torch.ones(3).cuda()  # nntutor: ignore[hardcoded-cuda]\n"


def test_crlf_line_endings_survive_the_fix():
    for src, out in [
        ("x = 1  # nntutor: ignore[hardcoded-cuda]\r\ny = 2\r\n", "x = 1\r\ny = 2\r\n"),
        ("x = 1  # note  # nntutor: ignore[hardcoded-cuda]\r\ny = 2\r\n", "x = 1  # note\r\ny = 2\r\n"),
        ("y = 2  # nntutor: ignore\r\nz = 3\r\n", "y = 2\r\nz = 3\r\n"),
    ]:
        (f,) = findings(src, RULE)
        assert apply_fix(src, f) == out


def test_a_following_comment_is_kept_whole():
    src = "x = 1  # nntutor: ignore[hardcoded-cuda]  # noqa: E501\n"
    (f,) = findings(src, RULE)
    assert apply_fix(src, f) == "x = 1  # noqa: E501\n"


def test_a_bare_directive_is_not_judged_when_rules_are_off():
    src = "import torch\nx = torch.ones(3).cuda()  # nntutor: ignore\n"
    assert analyze_text(src, config=_config(ignore=["hardcoded-cuda"])).findings == []
    assert analyze_text(src, config=_config(select=["leakage", RULE])).findings == []
    src = "# nntutor: ignore-file\nx = 1\n"
    assert analyze_text(src, config=_config(ignore=["hardcoded-cuda"])).findings == []
    assert [f.rule for f in analyze_text(src).findings] == [RULE]   # all rules ran: judged


def test_unknown_id_in_another_case_gets_the_closest_id():
    (f,) = findings("x = 1  # nntutor: ignore[HARDCODED-CUDA]\n", RULE)
    assert "Did you mean `hardcoded-cuda`?" in f.message


def test_directives_in_ipython_lines_are_not_directives():
    # `%%writefile` writes another file: its comments are that file's; `!echo` prints text
    assert notebook(["%%writefile helper.py\n# nntutor: ignore-file\nimport torch\n",
                     "import torch\nx = torch.ones(3).cuda()"], "hardcoded-cuda") != []
    assert notebook(['!echo "# nntutor: ignore-file"\n', "import torch\nx = torch.ones(3).cuda()"],
                    "hardcoded-cuda") != []
    assert notebook(["%%writefile helper.py\nimport torch\nx = 1 # nntutor: ignore[hardcoded-cuda]\n"], RULE) == []


def test_two_analyses_of_one_version_judge_on_their_own_findings():
    """The LSP analyses a version again when another file changes (the workspace's model
    classes): what the first analysis silenced must not count for the second."""
    from nntutor.document import Document
    from nntutor.engine import analyze
    from nntutor.models import Workspace, index_classes

    models = Document.from_text(
        "import torch.nn as nn\nimport torch.nn.functional as F\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n\n"
        "    def forward(self, x):\n        return F.softmax(self.fc(x), dim=1)\n", "models.py")
    with_softmax = Workspace()
    with_softmax.add_file("models.py", index_classes(models.facts))
    train = Document.from_text(
        "import torch.nn as nn\nfrom models import Net\n\nmodel = Net()\ncriterion = nn.CrossEntropyLoss()\n"
        "loss = criterion(model(x), y)  # nntutor: ignore[double-softmax]\n", "train.py")
    assert analyze(train, workspace=with_softmax).findings == []          # used
    assert [f.rule for f in analyze(train, workspace=Workspace()).findings] == [RULE]   # now unused
    assert analyze(train, workspace=with_softmax).findings == []
