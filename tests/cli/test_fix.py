"""`nntutor check --fix`: the certain fixes applied to .py files and notebooks in place, as a
real subprocess."""
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nntutor", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={**os.environ, "NO_COLOR": "1"}, check=False)


def test_fix_the_bundled_project(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    train = tmp_path / "examples" / "project" / "train.py"
    nb = tmp_path / "examples" / "notebook.ipynb"
    train.chmod(0o640)
    nb_before = nb.read_bytes()
    r = run("check", "examples", "--no-config", "--fix", cwd=tmp_path)
    assert r.returncode == 1   # findings without a certain fix are left
    assert "applied 5 fixes in 2 files" in r.stderr
    text = train.read_text()
    assert 'torch.device("cuda" if torch.cuda.is_available() else "cpu")' in text
    assert "optimizer.zero_grad()" in text and "running_loss += loss.item()" in text
    assert "    net.eval()\n    with torch.no_grad():" in text and "    net.train()\n    return correct / total" in text
    # the report is what is left: nothing fixable in train.py, nothing new anywhere
    assert "train.py" not in "\n".join(line for line in r.stdout.splitlines() if "[*]" in line)
    assert "eval-mode-not-restored" not in r.stdout
    cells = json.loads(nb.read_bytes())["cells"]
    assert [c for c in cells if "model.eval()\nwith torch.no_grad():" in c["source"]]
    nb_lines_changed = [a for a, b in zip(nb.read_bytes().splitlines(), nb_before.splitlines()) if a != b]
    assert len(nb_lines_changed) == 1 and len(nb.read_bytes().splitlines()) == len(nb_before.splitlines())
    assert stat.S_IMODE(train.stat().st_mode) == 0o640        # mode kept
    assert not list(train.parent.glob(".train.py.*"))         # no temporary file left
    again = run("check", "examples", "--no-config", "--fix", cwd=tmp_path)
    assert "applied 0 fixes in 0 files" in again.stderr and train.read_text() == text
    assert "[*]" not in again.stdout


def test_notebooks_that_cannot_be_written_back_are_left_alone(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": "import torch\ndevice = torch.device('cuda')\nmodel = Net().to(device)\n"}
    odd = tmp_path / "odd.ipynb"
    odd.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=3))
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    odd_before, broken_before = odd.read_bytes(), broken.read_bytes()
    r = run("check", str(tmp_path), "--no-config", "--fix")
    assert "odd.ipynb: not fixed: its JSON layout is not one nntutor can write back unchanged" in r.stderr
    assert "Traceback" not in r.stderr
    assert odd.read_bytes() == odd_before and broken.read_bytes() == broken_before


def test_fix_writes_nbformat_3_notebooks_back(tmp_path):
    from tests.cli.test_cli import _v3_notebook

    nb = tmp_path / "old.ipynb"
    before = _v3_notebook()
    nb.write_text(json.dumps(before, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    r = run("check", str(tmp_path), "--no-config", "--fix")
    assert "applied 1 fix in 1 file" in r.stderr, r.stderr
    after = json.loads(nb.read_text())
    code = after["worksheets"][0]["cells"][3]
    assert code["input"] == ["%matplotlib inline\n",
                             'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n',
                             "net = nn.Linear(2, 2).to(device)"]
    code["input"] = before["worksheets"][0]["cells"][3]["input"]
    assert after == before    # nothing else changed, no `source` key added


def test_diff_of_an_nbformat_3_notebook_shows_its_cells(tmp_path):
    """nbformat 3 keeps code under worksheets[].cells[].input: --diff must show that change
    (it printed nothing while announcing a fix)."""
    from tests.cli.test_cli import _v3_notebook

    nb = tmp_path / "old.ipynb"
    nb.write_text(json.dumps(_v3_notebook(), indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    r = run("check", str(nb), "--no-config", "--diff")
    assert "[cell 4]" in r.stdout, r.stdout
    assert '+device = torch.device("cuda" if torch.cuda.is_available() else "cpu")' in r.stdout


def test_fix_keeps_crlf_and_leaves_odd_files_alone(tmp_path):
    crlf = tmp_path / "win.py"
    crlf.write_bytes(b"import torch\r\n\r\nfor x, y in loader:\r\n    loss = model(x).sum()\r\n"
                     b"    loss.backward()\r\n    optimizer.step()\r\n")
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# caf\xe9\nimport torch\ndevice = torch.device('cuda')\n")
    r = run("check", str(tmp_path), "--no-config", "--fix")
    data = crlf.read_bytes()
    assert b"optimizer.zero_grad()\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert latin.read_bytes() == b"# caf\xe9\nimport torch\ndevice = torch.device('cuda')\n"   # not UTF-8: untouched
    assert "applied 1 fix in 1 file" in r.stderr


def test_old_mac_line_endings_are_line_breaks_and_kept(tmp_path):
    """A lone \r ends a line, as Python counts them: the finding is on the step's line, and the
    fix writes the file's own line ending."""
    mac = tmp_path / "mac.py"
    mac.write_bytes(b"import torch\r\rfor x, y in loader:\r    loss = model(x).sum()\r"
                    b"    loss.backward()\r    optimizer.step()\r")
    r = run("check", str(mac), "--no-config", "--format", "json")
    (finding,) = json.loads(r.stdout)["findings"]
    assert (finding["rule"], finding["line"]) == ("missing-zero-grad", 6)
    r = run("check", str(mac), "--no-config", "--fix")
    data = mac.read_bytes()
    assert b"optimizer.zero_grad()\r" in data and b"\n" not in data
    assert "applied 1 fix in 1 file" in r.stderr


def test_without_fix_nothing_is_written(tmp_path):
    src = "import torch\ndevice = torch.device('cuda')\n"
    (tmp_path / "a.py").write_text(src)
    run("check", str(tmp_path), "--no-config")
    assert (tmp_path / "a.py").read_text() == src


def test_diff_shows_the_fixes_and_changes_nothing(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    before = {p: p.read_bytes() for p in (tmp_path / "examples").rglob("*") if p.is_file()}
    r = run("check", "examples", "--no-config", "--diff", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert {p: p.read_bytes() for p in before} == before                 # nothing written
    assert "--- a/examples/project/train.py\n+++ b/examples/project/train.py\n" in r.stdout
    assert "+        optimizer.zero_grad()\n" in r.stdout and "-        running_loss += loss\n" in r.stdout
    # a notebook's diff is of the cell's source, not of its JSON
    assert "--- a/examples/notebook.ipynb [cell 8]\n" in r.stdout and "+model.eval()\n" in r.stdout
    assert '"source"' not in r.stdout
    assert "5 fixes would be applied in 2 files (--diff: no file changed)" in r.stderr
    # what --diff shows is what --fix does: afterwards there is nothing left to show
    run("check", "examples", "--no-config", "--fix", cwd=tmp_path)
    again = run("check", "examples", "--no-config", "--diff", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == ""
    assert "0 fixes would be applied in 0 files" in again.stderr


def test_diff_of_an_old_mac_file_shows_lines():
    """`--diff` breaks lines where Python does: no `\\ No newline at end of file` after every
    line of a lone-\\r file."""
    mac = Path(__import__("tempfile").mkdtemp()) / "mac.py"
    mac.write_bytes(b"import torch\r\rfor x, y in loader:\r    loss = model(x).sum()\r"
                    b"    loss.backward()\r    optimizer.step()\r")
    r = run("check", str(mac), "--no-config", "--diff")
    assert "No newline" not in r.stdout
    assert "+    optimizer.zero_grad()\n" in r.stdout and "\r" not in r.stdout
