"""`nntutor check -` (a source on stdin), `--format gitlab` and `--statistics`, run as real
subprocesses."""
import json
import os
import subprocess
import sys

BUGGY = """import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()
loss = criterion(F.softmax(logits, dim=1), y)
"""
FIXED = BUGGY.replace("F.softmax(logits, dim=1)", "logits")
CUDA = "import torch\nx = torch.zeros(2).to('cuda')\ndevice = 'cuda'\nmodel.to(device)\n"


def run(*args, stdin=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "nntutor", "check", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"}, check=False)


def test_stdin_report_and_exit_codes(tmp_path):
    r = run("-", "--no-config", stdin=BUGGY, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.startswith("-:5:18: double-softmax [*]")
    r = run("-", "--no-config", stdin=FIXED, cwd=tmp_path)
    assert r.returncode == 0 and "All checks passed!" in r.stdout
    r = run("-", "--format", "json", "--stdin-filename", "src/train.py", "--no-config", stdin=BUGGY, cwd=tmp_path)
    data = json.loads(r.stdout)
    assert data["files_checked"] == 1
    assert [(f["path"], f["line"], f["rule"]) for f in data["findings"]] == [("src/train.py", 5, "double-softmax")]


def test_stdin_fix_is_a_filter(tmp_path):
    """--fix: the fixed source on stdout, the report of what is left on stderr."""
    r = run("--fix", "-", "--no-config", stdin=BUGGY, cwd=tmp_path)
    assert r.stdout == FIXED
    assert r.returncode == 0 and "All checks passed!" in r.stderr
    r = run("--diff", "--stdin-filename", "train.py", "--no-config", stdin=BUGGY, cwd=tmp_path)
    assert r.returncode == 1
    assert "--- a/train.py" in r.stdout and "+loss = criterion(logits, y)" in r.stdout
    assert run("--diff", "-", "--no-config", stdin=FIXED, cwd=tmp_path).returncode == 0


def test_stdin_filename_chooses_settings_and_kind(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.nntutor]\nignore = ["double-softmax"]\n'
                                             'exclude = ["generated"]\n')
    (tmp_path / "sub").mkdir()
    # the nearest pyproject.toml of the named file applies
    assert run("--stdin-filename", "sub/train.py", stdin=BUGGY, cwd=tmp_path).returncode == 0
    assert run("--stdin-filename", "sub/train.py", "--no-config", stdin=BUGGY, cwd=tmp_path).returncode == 1
    # an excluded name is skipped with --force-exclude (as pre-commit passes files), and --fix echoes it
    r = run("--stdin-filename", "generated/a.py", "--force-exclude", "--no-config", stdin=BUGGY, cwd=tmp_path)
    assert r.returncode == 1  # --no-config: no exclude patterns
    r = run("--stdin-filename", "generated/a.py", "--force-exclude", "--fix", "--select", "double-softmax",
            stdin=BUGGY, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == BUGGY
    # a notebook's JSON, by the name's suffix
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": BUGGY.splitlines(keepends=True)}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    r = run("-", "--stdin-filename", "nb.ipynb", "--no-config", "--format", "json", stdin=json.dumps(nb), cwd=tmp_path)
    (f,) = json.loads(r.stdout)["findings"]
    assert (f["cell"], f["line"], f["rule"]) == (0, 5, "double-softmax")


def test_stdin_bad_input_and_usage(tmp_path):
    r = run("-", "--stdin-filename", "nb.ipynb", "--no-config", stdin="{not json", cwd=tmp_path)
    assert r.returncode == 2 and "nb.ipynb" in r.stderr and "Traceback" not in r.stderr
    r = run("-", "x.py", stdin=BUGGY, cwd=tmp_path)
    assert r.returncode == 2 and "cannot be mixed" in r.stderr
    r = run("-", "--no-config", stdin="def f(:\n  x = nn.Softmax(\n", cwd=tmp_path)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr


def test_gitlab_code_quality(tmp_path):
    (tmp_path / "a.py").write_text(BUGGY + CUDA)
    r = run("a.py", "--format", "gitlab", "--no-config", cwd=tmp_path)
    assert r.returncode == 1
    issues = json.loads(r.stdout)
    assert {i["check_name"] for i in issues} == {"nntutor/double-softmax", "nntutor/hardcoded-cuda"}
    for i in issues:
        assert set(i) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert i["location"]["path"] == "a.py" and i["location"]["lines"]["begin"] >= 1
        assert i["severity"] in ("info", "minor", "major", "critical", "blocker")
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    # the fingerprint does not change when lines move (GitLab would call the finding new)
    (tmp_path / "a.py").write_text("# a new first line\n\n" + BUGGY + CUDA)
    moved = json.loads(run("a.py", "--format", "gitlab", "--no-config", cwd=tmp_path).stdout)
    assert sorted(i["fingerprint"] for i in moved) == sorted(i["fingerprint"] for i in issues)
    assert [i["location"]["lines"]["begin"] for i in moved] == [i["location"]["lines"]["begin"] + 2 for i in issues]


def test_statistics(tmp_path):
    (tmp_path / "a.py").write_text(BUGGY + CUDA)
    (tmp_path / "b.py").write_text(BUGGY)
    r = run(".", "--statistics", "--no-config", cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["2", "double-softmax"]
    assert lines[0].split("\t")[2].startswith("[*] ")
    assert [line.split("\t")[1].strip() for line in lines] == ["double-softmax", "hardcoded-cuda"]
    data = json.loads(run(".", "--statistics", "--format", "json", "--no-config", cwd=tmp_path).stdout)
    assert data[0] == {"rule": "double-softmax", "count": 2, "fixable": 2, "severity": "error",
                       "summary": "Softmax output fed to a loss that expects logits"}
    assert run(".", "--statistics", "--select", "missing-softmax", "--no-config", cwd=tmp_path).stdout.strip() \
        == "All checks passed!"


def test_text_report_after_fix_says_the_quick_fixes_left_were_refused():
    """After `--fix`, a finding that still has a quick fix is one --fix declined (it would break
    the syntax or make another rule fire): the summary must not call it simply fixable."""
    from nntutor.engine import analyze_text
    from nntutor.output import to_text

    result = analyze_text("import torch\ndevice = torch.device('cuda')\n", "t.py")
    assert any(f.fix for f in result.findings)
    plain = to_text([result])
    after = to_text([result], after_fix=True)
    assert "fixable in your editor" in plain
    assert "--fix left" in after and "fixable in your editor" not in after
