"""`nntutor check --add-suppressions`: every finding silenced in place, once."""
import json

from test_cli import BUGGY, run

from nntutor.document import Document
from nntutor.suppressions import directive_edit


def test_adds_a_directive_per_finding_line_and_is_idempotent(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(BUGGY)
    before = run("check", str(path), "--no-config", "--format", "json")
    lines = {f["line"] for f in json.loads(before.stdout)["findings"]}
    assert before.returncode == 1 and lines
    r = run("check", str(path), "--no-config", "--add-suppressions")
    assert r.returncode == 0, r.stderr
    assert "nntutor: added" in r.stderr
    text = path.read_text()
    assert all("# nntutor: ignore[" in text.splitlines()[n - 1] for n in lines)
    assert run("check", str(path), "--no-config").returncode == 0
    again = run("check", str(path), "--no-config", "--add-suppressions")
    assert "added 0 suppressions in 0 files" in again.stderr and path.read_text() == text


def test_extends_an_existing_directive_and_leaves_unused_ones_to_fix(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("import torch\n"
                    "device = torch.device('cuda')  # nntutor: ignore[double-softmax]\n")
    run("check", str(path), "--no-config", "--add-suppressions")
    assert path.read_text().splitlines()[1].endswith("# nntutor: ignore[double-softmax, hardcoded-cuda]")
    r = run("check", str(path), "--no-config")
    assert r.returncode == 1 and "unused-suppression" in r.stdout   # double-softmax is stale
    run("check", str(path), "--no-config", "--fix")
    assert path.read_text().splitlines()[1].endswith("# nntutor: ignore[hardcoded-cuda]")
    assert run("check", str(path), "--no-config").returncode == 0


def test_a_line_ending_in_a_multiline_string_is_left_and_said(tmp_path):
    path = tmp_path / "s.py"
    src = ("import torch\n"
           "device = torch.device('cuda'); HELP = '''\n"
           "text'''\n")
    path.write_text(src)
    r = run("check", str(path), "--no-config", "--add-suppressions")
    assert r.returncode == 0
    assert "line 2: hardcoded-cuda (no directive can go on this line" in r.stderr
    assert path.read_text() == src


def test_notebook_cells_get_the_directives_and_keep_their_layout(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# title"]},
                    {"cell_type": "code", "execution_count": None, "id": "a", "metadata": {}, "outputs": [],
                     "source": ["import torch\n", "device = torch.device('cuda')\n", "model = Net().to(device)"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    r = run("check", str(path), "--no-config", "--add-suppressions")
    assert r.returncode == 0, r.stderr
    after = json.loads(path.read_text())
    assert after["cells"][1]["source"] == ["import torch\n",
                                           "device = torch.device('cuda')  # nntutor: ignore[hardcoded-cuda]\n",
                                           "model = Net().to(device)"]
    assert after["cells"][0] == nb["cells"][0]
    assert path.read_text() == json.dumps(after, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert run("check", str(path), "--no-config").returncode == 0


def test_cannot_be_combined_with_fix(tmp_path):
    (tmp_path / "s.py").write_text(BUGGY)
    r = run("check", str(tmp_path / "s.py"), "--no-config", "--add-suppressions", "--fix")
    assert r.returncode == 2 and "cannot be combined" in r.stderr


def test_directive_edit_places():
    src = ("x = 1\n"
           "y = f('''abc\n"
           "def''')\n"
           "z = a + \\\n"
           "  b\n"
           "w = 2  # note\n"
           "v = 3  # nntutor: ignore[a]\n"
           "u = 4  # nntutor: ignore\n"
           "# nntutor: ignore-file[b]\n"
           "t = 5\r\n")
    doc = Document.from_text(src)
    data = src.encode()

    def after(line):
        found = directive_edit(doc, line, ["r1", "a"])
        if found is None:
            return None
        start, end, text = found
        return doc.index.line_bytes(line).decode().replace("\r", "") if start == end and False else \
            (data[:start] + text.encode() + data[end:]).decode().splitlines()[line]

    assert after(0) == "x = 1  # nntutor: ignore[r1, a]"
    assert after(1) is None                       # inside a multi-line string
    assert after(2) == "def''')  # nntutor: ignore[r1, a]"
    assert after(3) is None                       # backslash continuation
    assert after(5) == "w = 2  # note  # nntutor: ignore[r1, a]"
    assert after(6) == "v = 3  # nntutor: ignore[a, r1]"
    assert after(7) is None                       # a bare directive silences everything already
    assert after(8) is None                       # file-wide: a second directive would not be read
    assert after(9) == "t = 5  # nntutor: ignore[r1, a]"   # before the \r of a CRLF line


MODEL = ("import torch.nn as nn\nimport torch.nn.functional as F\n\n"
         "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
         "        return F.softmax(self.fc(x), dim=1)\n")
TRAIN = ("import torch.nn as nn\nfrom model import Net\n\nmodel = Net()\n"
         "criterion = nn.CrossEntropyLoss()\n\ndef step(x, y):\n    return criterion(model(x), y)\n")


def test_one_file_checked_alone_sees_the_model_it_imports(tmp_path):
    """pre-commit passes only the changed file: the finding (and so its suppression) must not
    depend on whether models.py was named too."""
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN)
    alone = run("check", "train.py", "--no-config", cwd=tmp_path)
    assert alone.returncode == 1 and "train.py:8:22: double-softmax" in alone.stdout
    run("check", "train.py", "--no-config", "--add-suppressions", cwd=tmp_path)
    assert run("check", "train.py", "--no-config", cwd=tmp_path).returncode == 0   # not "unused"
    run("check", "train.py", "--no-config", "--fix", cwd=tmp_path)
    assert "# nntutor: ignore[double-softmax]" in (tmp_path / "train.py").read_text()
    assert run("check", ".", "--no-config", cwd=tmp_path).returncode == 0


def test_relative_and_package_imports_are_followed(tmp_path):
    pkg = tmp_path / "proj"
    (pkg / "nets").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "nets" / "__init__.py").write_text("")
    (pkg / "nets" / "mlp.py").write_text(MODEL)
    (pkg / "train.py").write_text(TRAIN.replace("from model import Net", "from .nets.mlp import Net"))
    assert "double-softmax" in run("check", "proj/train.py", "--no-config", cwd=tmp_path).stdout


def test_stdin_is_refused(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "nntutor", "check", "--no-config", "--add-suppressions", "-"],
                       input="import torch\nx = torch.ones(3).cuda()\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "does not read a source from stdin" in r.stderr
    r = subprocess.run([sys.executable, "-m", "nntutor", "check", "--no-config", "--add-suppressions", "--fix", "-"],
                       input="x = 1\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "cannot be combined" in r.stderr


def test_trailing_blanks_do_not_widen_the_gap(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("import torch\nx = torch.ones(3).cuda()    \n")
    run("check", str(path), "--no-config", "--add-suppressions")
    assert path.read_text() == "import torch\nx = torch.ones(3).cuda()  # nntutor: ignore[hardcoded-cuda]\n"


def test_stdin_with_a_filename_sees_the_model_it_imports(tmp_path):
    import subprocess
    import sys

    (tmp_path / "model.py").write_text(MODEL)
    r = subprocess.run([sys.executable, "-m", "nntutor", "check", "--no-config", "--stdin-filename",
                        "train.py", "-"], input=TRAIN, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 1 and "train.py:8:22: double-softmax" in r.stdout
    kept = TRAIN.replace("model(x), y)\n", "model(x), y)  # nntutor: ignore[double-softmax]\n")
    r = subprocess.run([sys.executable, "-m", "nntutor", "check", "--no-config", "--fix", "--stdin-filename",
                        "train.py", "-"], input=kept, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.stdout == kept   # the directive is used: --fix keeps it


def _findings(r):
    return [(f["path"], f["line"], f["rule"], [x["path"] for x in f.get("related", [])])
            for f in json.loads(r.stdout)["findings"]]


def test_a_file_alone_matches_the_folder_for_every_import_spelling(tmp_path):
    """From an adversarial review: `import model as m`, a parenthesised list, a package
    re-export two packages down; the JSON (related locations included) is the folder's."""
    (tmp_path / "pyproject.toml").write_text("[tool.nntutor]\n")
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "pkg" / "nets").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("from .nets import PkgNet\n")
    (tmp_path / "pkg" / "nets" / "__init__.py").write_text("from .net import PkgNet\n")
    (tmp_path / "pkg" / "nets" / "net.py").write_text(MODEL.replace("class Net", "class PkgNet"))
    spellings = {
        "a.py": TRAIN.replace("from model import Net", "import model as m").replace("Net()", "m.Net()"),
        "b.py": TRAIN.replace("from model import Net", "from model import (\n    Net,\n)"),
        "d.py": TRAIN.replace("from model import Net", "from pkg import PkgNet").replace("Net()", "PkgNet()"),
    }
    for name, src in spellings.items():
        (tmp_path / name).write_text(src)
    folder = _findings(run("check", ".", "--no-config", "--format", "json", cwd=tmp_path))
    for name in spellings:
        alone = _findings(run("check", name, "--no-config", "--format", "json", cwd=tmp_path))
        assert alone and alone == [f for f in folder if f[0] == name], name


def test_a_suppression_written_by_the_folder_run_survives_a_single_file_fix(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN.replace("from model import Net", "import model as m")
                                       .replace("Net()", "m.Net()"))
    run("check", ".", "--no-config", "--add-suppressions", cwd=tmp_path)
    assert run("check", "train.py", "--no-config", cwd=tmp_path).returncode == 0
    run("check", "train.py", "--no-config", "--fix", cwd=tmp_path)
    assert "# nntutor: ignore[double-softmax]" in (tmp_path / "train.py").read_text()


def test_an_excluded_module_is_not_indexed_for_a_single_file_either(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.nntutor]\nexclude = ["vendor"]\n')
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN.replace("from model import Net", "from vendor.model import Net"))
    assert run("check", ".", cwd=tmp_path).returncode == 0
    assert run("check", "train.py", cwd=tmp_path).returncode == 0


def test_a_star_import_alone_matches_the_folder(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN.replace("from model import Net", "from model import *"))
    folder = _findings(run("check", ".", "--no-config", "--format", "json", cwd=tmp_path))
    alone = _findings(run("check", "train.py", "--no-config", "--format", "json", cwd=tmp_path))
    assert alone and alone == [f for f in folder if f[0] == "train.py"]
