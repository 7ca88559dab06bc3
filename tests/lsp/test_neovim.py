"""A real client: Debian's Neovim (0.7 API) headless, with tests/lsp/nvim/hover_diagnostics.lua.

Skips when `nvim` is not installed (`apt-get install -y neovim`)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LUA = Path(__file__).parent / "nvim" / "hover_diagnostics.lua"

SRC = """import torch
import torch.nn as nn
import torch.nn.functional as F

drop = nn.Dropout(0.5)
criterion = nn.CrossEntropyLoss()
s = "é😀"; probs = F.softmax(logits, dim=1)
loss = criterion(probs, y)
"""


@pytest.mark.neovim
@pytest.mark.skipif(shutil.which("nvim") is None, reason="nvim not installed (apt-get install -y neovim)")
def test_neovim_hover_and_diagnostics(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SRC, encoding="utf-8")
    env = {**os.environ, "NNTUTOR_FILE": str(path), "NNTUTOR_PYTHON": sys.executable,
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run(["nvim", "--headless", "--clean", "-c", f"luafile {LUA}"], env=env,
                          capture_output=True, timeout=90, stdin=subprocess.DEVNULL, check=False)
    out = proc.stdout.decode("utf-8", errors="replace")
    line = next((x for x in out.splitlines() if x.startswith("NNTUTOR_RESULT ")), None)
    assert line is not None, f"no result from nvim (rc={proc.returncode}):\n{out}\n{proc.stderr.decode()}"
    result = json.loads(line[len("NNTUTOR_RESULT "):])
    assert result["errors"] == [], result["errors"]
    assert result["initialized"] is True

    # Hover on `Dropout`: the card, with this call's facts (p = 0.5).
    hover = result["hover"]
    assert "**Dropout**" in hover and "50%" in hover and "eval()" in hover
    assert result["hover_range"]["start"] == {"line": 4, "character": 7}

    # Diagnostics: the softmax fed to CrossEntropyLoss, on the softmax call. Neovim turns the
    # UTF-16 column into a byte column: after `s = "é😀"; ` (é: 2 bytes, 😀: 4 bytes).
    found = [d for d in result["diagnostics"] if d["code"] == "double-softmax"]
    assert len(found) == 1, result["diagnostics"]
    d = found[0]
    assert d["lnum"] == 6
    assert d["col"] == len('s = "é😀"; probs = '.encode())
    assert d["end_col"] == d["col"] + len("F.softmax(logits, dim=1)")
    assert d["severity"] == 1 and d["source"] == "nntutor"
    assert "CrossEntropyLoss" in d["message"]
