"""The pre-commit hook (.pre-commit-hooks.yaml) and `--force-exclude`, run as pre-commit runs it:
the hook's entry with the changed files named one by one, from the repository's root."""
import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BUGGY = "import torch\ndevice = torch.device('cuda')\n"


def hook() -> dict:
    (found,) = [h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text()) if h["id"] == "nntutor"]
    return found


def run_entry(entry: str, files, cwd):
    argv = shlex.split(entry)
    assert argv[0] == "nntutor"
    return subprocess.run([sys.executable, "-m", "nntutor", *argv[1:], *files], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env={**os.environ, "NO_COLOR": "1"}, check=False)


def test_the_hook_is_declared_for_python_and_notebooks():
    h = hook()
    assert h["language"] == "python" and h["require_serial"] is True
    assert set(h["types_or"]) == {"python", "jupyter"}
    assert h["entry"].startswith("nntutor check")


def test_changed_files_keep_the_projects_exclude(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.nntutor]\nexclude = ["legacy/*"]\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "train.py").write_text(BUGGY)
    (tmp_path / "legacy" / "old.py").write_text(BUGGY)
    r = run_entry(hook()["entry"], ["train.py", "legacy/old.py"], tmp_path)
    assert r.returncode == 1
    assert "train.py:2" in r.stdout and "old.py" not in r.stdout
    clean = run_entry(hook()["entry"], ["legacy/old.py"], tmp_path)   # only excluded files changed
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # without --force-exclude a file named on the command line is checked, as before
    plain = run_entry("nntutor check", ["legacy/old.py"], tmp_path)
    assert plain.returncode == 1 and "old.py:2" in plain.stdout


def test_real_pre_commit_runs_the_hook(tmp_path):
    """`pre-commit try-repo` installs this repository into its own environment (pip) and runs the
    hook on a project's files: the buggy file fails the hook, the excluded one is left alone."""
    import shutil

    import pytest

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed (it is in the [test] extra)")
    project = tmp_path / "project"
    (project / "legacy").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.nntutor]\nexclude = ["legacy/*"]\n')
    (project / "train.py").write_text(BUGGY)
    (project / "legacy" / "old.py").write_text(BUGGY)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["git", "init", "-q"], ["git", "add", "."]):
        subprocess.run(cmd, cwd=project, check=True, env=env, timeout=60)
    r = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "nntutor", "--all-files"],
                       cwd=project, capture_output=True, text=True, env=env, timeout=600, check=False)
    out = r.stdout + r.stderr
    if "An unexpected error has occurred" in out and "Installing environment" in out and "- hook id" not in out:
        pytest.skip(f"pre-commit could not build the hook's environment (package index?): {out[-800:]}")
    assert r.returncode == 1, out
    assert "- hook id: nntutor" in out and "train.py:2" in out and "old.py" not in out
