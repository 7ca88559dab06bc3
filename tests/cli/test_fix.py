"""`nntutor check --fix`: the certain fixes applied to .py files in place, as a real subprocess."""
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
    assert "applied 4 fixes in 1 file (notebooks are not fixed in place: 1 left as they are)" in r.stderr
    text = train.read_text()
    assert 'torch.device("cuda" if torch.cuda.is_available() else "cpu")' in text
    assert "optimizer.zero_grad()" in text and "running_loss += loss.item()" in text
    assert "    net.eval()\n    with torch.no_grad():" in text and "    net.train()\n    return correct / total" in text
    # the report is what is left: nothing fixable in train.py, nothing new anywhere
    assert "train.py" not in "\n".join(line for line in r.stdout.splitlines() if "[*]" in line)
    assert "eval-mode-not-restored" not in r.stdout
    assert nb.read_bytes() == nb_before                       # notebooks are not rewritten
    assert stat.S_IMODE(train.stat().st_mode) == 0o640        # mode kept
    assert not list(train.parent.glob(".train.py.*"))         # no temporary file left
    again = run("check", "examples", "--no-config", "--fix", cwd=tmp_path)
    assert "applied 0 fixes in 0 files" in again.stderr and train.read_text() == text


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


def test_without_fix_nothing_is_written(tmp_path):
    src = "import torch\ndevice = torch.device('cuda')\n"
    (tmp_path / "a.py").write_text(src)
    run("check", str(tmp_path), "--no-config")
    assert (tmp_path / "a.py").read_text() == src
