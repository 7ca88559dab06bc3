"""Which settings each file gets in `nntutor check`: the nearest pyproject.toml with a
[tool.nntutor] table, from the file up (ruff's way), `exclude` relative to that file's folder,
excluded folders not entered. A real subprocess on real folders."""
import json
import os
import subprocess
import sys

from nntutor.rules import all_rules

BUGGY = """import torch.nn as nn
import torch.nn.functional as F

criterion = nn.CrossEntropyLoss()
loss = criterion(F.softmax(logits, dim=1), y)
"""


def check(*args, cwd):
    r = subprocess.run([sys.executable, "-m", "nntutor", "check", *args, "--format", "json"],
                       capture_output=True, text=True, cwd=cwd, timeout=120,
                       env={**os.environ, "NO_COLOR": "1"}, check=False)
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    findings = {}
    for f in data["findings"]:
        rel = os.path.relpath(os.path.join(cwd, f["path"]), cwd).replace(os.sep, "/")
        findings.setdefault(rel, []).append((f["rule"], f["severity"]))
    return findings, r.stderr


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_each_file_gets_the_nearest_config_with_the_table(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.nntutor]\nseverity = { double-softmax = "info" }\n')
    write(tmp_path / "top.py", BUGGY)
    # a sub-project with its own settings
    write(tmp_path / "apps" / "vision" / "pyproject.toml", '[tool.nntutor]\nignore = ["double-softmax"]\n')
    write(tmp_path / "apps" / "vision" / "train.py", BUGGY)
    # a sub-package whose pyproject.toml is only its build file: the root's settings still hold
    write(tmp_path / "libs" / "core" / "pyproject.toml", '[project]\nname = "core"\n')
    write(tmp_path / "libs" / "core" / "loss.py", BUGGY)
    expected = {"top.py": [("double-softmax", "info")], "libs/core/loss.py": [("double-softmax", "info")]}
    found, _ = check(".", cwd=tmp_path)
    assert found == expected
    # the same whatever the command names: a sub-folder, single files, from elsewhere
    assert check("apps", "libs", cwd=tmp_path)[0] == {"libs/core/loss.py": [("double-softmax", "info")]}
    assert check("apps/vision/train.py", "top.py", cwd=tmp_path)[0] == {"top.py": [("double-softmax", "info")]}
    assert check(str(tmp_path), cwd=tmp_path.parent)[0] == {
        f"{tmp_path.name}/{k}": v for k, v in expected.items()}
    # --config names one config for every file; --no-config none
    found, _ = check(".", "--config", "apps/vision/pyproject.toml", cwd=tmp_path)
    assert found == {}
    found, _ = check(".", "--no-config", cwd=tmp_path)
    assert found == {k: [("double-softmax", "error")] for k in ("top.py", "apps/vision/train.py", "libs/core/loss.py")}


def test_exclude_is_relative_to_its_config_folder(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.nntutor]\nexclude = ["src/legacy/*", "scratch"]\n')
    for rel in ("src/legacy/old.py", "src/model.py", "legacy/kept.py", "src/scratch/a.py",
                "notebooks/scratch/b.py", "src/scratchpad.py"):
        write(tmp_path / rel, BUGGY)
    expected = {"src/model.py", "legacy/kept.py", "src/scratchpad.py"}
    assert set(check(".", cwd=tmp_path)[0]) == expected
    # checking a sub-folder does not move the patterns
    assert set(check("src", cwd=tmp_path)[0]) == {"src/model.py", "src/scratchpad.py"}
    # a file named explicitly is checked, unless --force-exclude (pre-commit)
    assert set(check("src/legacy/old.py", cwd=tmp_path)[0]) == {"src/legacy/old.py"}
    assert check("src/legacy/old.py", "--force-exclude", cwd=tmp_path)[0] == {}
    # a sub-project's patterns are relative to its own folder
    write(tmp_path / "apps" / "a" / "pyproject.toml", '[tool.nntutor]\nexclude = ["gen/*"]\n')
    write(tmp_path / "apps" / "a" / "gen" / "x.py", BUGGY)
    write(tmp_path / "apps" / "a" / "y.py", BUGGY)
    write(tmp_path / "gen" / "z.py", BUGGY)
    found = set(check(".", cwd=tmp_path)[0])
    assert "apps/a/y.py" in found and "gen/z.py" in found and "apps/a/gen/x.py" not in found


def test_excluded_and_default_folders_are_not_entered(tmp_path):
    from nntutor.config import ConfigTree
    from nntutor.project import discover

    write(tmp_path / "pyproject.toml", '[tool.nntutor]\nexclude = ["data", "src/gen"]\n')
    write(tmp_path / "train.py", BUGGY)
    write(tmp_path / "src" / "model.py", BUGGY)
    for rel in (".venv/lib/python3.11/site-packages/pkg/m.py", "data/raw/m.py", "build/lib/m.py",
                "src/gen/deep/m.py", "node_modules/x/m.py"):
        write(tmp_path / rel, BUGGY)

    class Recording(ConfigTree):
        """A ConfigTree that notes every folder the walk asks about (= enters)."""
        entered = set()

        def for_path(self, path):
            self.entered.add(os.path.relpath(path, tmp_path))
            return super().for_path(path)

    tree = Recording()
    found = discover([str(tmp_path)], tree)
    assert sorted(os.path.relpath(f, tmp_path) for f in found.files) == ["src/model.py", "train.py"]
    assert Recording.entered == {".", "src"}
    assert set(check(".", cwd=tmp_path)[0]) == {"train.py", "src/model.py"}


def test_each_config_problem_is_reported_once(tmp_path):
    write(tmp_path / "a" / "pyproject.toml", '[tool.nntutor]\nselect = 3\n')
    write(tmp_path / "b" / "pyproject.toml", "[tool.nntutor\n")
    for rel in ("a/x.py", "a/y.py", "a/sub/z.py", "b/x.py"):
        write(tmp_path / rel, BUGGY)
    found, err = check(".", cwd=tmp_path)
    assert len(found) == 4   # bad values: the defaults are used
    assert err.count("'select' must be a list") == 1 and err.count("cannot read config") == 1


def test_exclude_flags_replace_or_extend_the_config(tmp_path):
    """`--exclude` replaces the files' `exclude`, `--extend-exclude` adds to it (ruff's flags);
    their patterns are relative to the folder the command runs in."""
    write(tmp_path / "proj" / "pyproject.toml", '[tool.nntutor]\nexclude = ["legacy"]\n')
    for folder in ("legacy", "src", "gen", "src/gen"):
        write(tmp_path / "proj" / folder / "train.py", BUGGY)
    proj = tmp_path / "proj"
    assert set(check(".", cwd=proj)[0]) == {"src/train.py", "gen/train.py", "src/gen/train.py"}
    # a name: every folder of that name; added to the config's patterns
    assert set(check(".", "--extend-exclude", "gen", cwd=proj)[0]) == {"src/train.py"}
    # a path: only that one, from where the command runs
    assert set(check(".", "--extend-exclude", "src/gen", cwd=proj)[0]) == {"src/train.py", "gen/train.py"}
    assert set(check("proj", "--extend-exclude", "proj/src,gen", cwd=tmp_path)[0]) == set()
    # --exclude replaces the config's patterns (legacy comes back), with --config too
    assert set(check(".", "--exclude", "gen", cwd=proj)[0]) == {"legacy/train.py", "src/train.py"}
    assert set(check(".", "--exclude", "gen", "--config", "pyproject.toml", cwd=proj)[0]) == {
        "legacy/train.py", "src/train.py"}
    # outside the folder the command runs in, a name matches only below the folder checked,
    # never a folder above it (here: `proj` itself)
    (tmp_path / "elsewhere").mkdir()
    found = check(str(proj), "--extend-exclude", "proj", cwd=tmp_path / "elsewhere")[0]
    assert {k.split("proj/", 1)[1] for k in found} == {"src/train.py", "gen/train.py", "src/gen/train.py"}
    found = check(str(proj), "--extend-exclude", "gen", cwd=tmp_path / "elsewhere")[0]
    assert {k.split("proj/", 1)[1] for k in found} == {"src/train.py"}
    # files named on the command line are checked unless --force-exclude (pre-commit)
    assert set(check("gen/train.py", "--extend-exclude", "gen", cwd=proj)[0]) == {"gen/train.py"}
    assert check("gen/train.py", "--extend-exclude", "gen", "--force-exclude", cwd=proj)[0] == {}


def run_plain(*args, cwd):
    r = subprocess.run([sys.executable, "-m", "nntutor", "check", *args], capture_output=True,
                       text=True, cwd=cwd, timeout=120, env={**os.environ, "NO_COLOR": "1"}, check=False)
    return r.returncode, r.stdout, r.stderr


def test_show_files_and_show_settings(tmp_path):
    """`--show-files` lists what `check` would read; `--show-settings` says which
    pyproject.toml each path gets and what it sets (ruff's debugging flags)."""
    write(tmp_path / "pyproject.toml", '[tool.nntutor]\nexclude = ["legacy"]\n')
    write(tmp_path / "apps" / "vision" / "pyproject.toml",
          '[tool.nntutor]\nignore = ["leakage"]\nseverity = { hardcoded-cuda = "info" }\n')
    for rel in ("train.py", "legacy/old.py", "apps/vision/train.py", "apps/vision/nb.ipynb", ".venv/x.py"):
        write(tmp_path / rel, BUGGY if rel.endswith(".py") else '{"cells": [], "nbformat": 4}')
    rc, out, _ = run_plain(".", "--show-files", cwd=tmp_path)
    assert rc == 0
    assert sorted(out.split()) == ["apps/vision/nb.ipynb", "apps/vision/train.py", "train.py"]
    rc, out, _ = run_plain(".", "--show-files", "--extend-exclude", "apps", cwd=tmp_path)
    assert out.split() == ["train.py"]
    assert run_plain("missing", "--show-files", cwd=tmp_path)[0] == 2

    rc, out, _ = run_plain("apps/vision/train.py", "train.py", "--show-settings", cwd=tmp_path)
    assert rc == 0
    vision, top = out.split("Settings for ")[1:]
    assert vision.startswith("apps/vision/train.py")
    assert f"config:   {tmp_path / 'apps' / 'vision' / 'pyproject.toml'} [tool.nntutor]" in vision
    assert "ignore:   leakage" in vision and "hardcoded-cuda = info" in vision
    assert "off: leakage-fit-on-test, leakage-multitest, leakage-overlap, leakage-preprocessing" in vision
    n = len(all_rules())
    assert f"exclude:  legacy (relative to {tmp_path})" in top and f"rules enabled: {n} of {n}" in top
    rc, out, _ = run_plain(".", "--show-settings", "--no-config", "--select", "double-softmax", cwd=tmp_path)
    assert "none (--no-config)" in out and "select:   double-softmax" in out and f"rules enabled: 1 of {n}" in out
