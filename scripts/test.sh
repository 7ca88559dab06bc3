#!/usr/bin/env bash
# Set up everything the test suite needs and run it (README command 2; .ci/run runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

# System packages: Chromium for the JupyterLab browser tests, Neovim for the real-editor test.
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v nvim >/dev/null || need+=(neovim)
# code-server (a real VS Code build for the extension's end-to-end test) builds native modules.
command -v rg >/dev/null || need+=(ripgrep)
dpkg -s build-essential pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev >/dev/null 2>&1 \
  || need+=(build-essential pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null \
    || echo "warning: could not install ${need[*]}; their tests will be skipped" >&2
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
PY=.venv/bin/python
$PY -m pip install -q --upgrade pip >/dev/null
# CPU build of torch, pinned: an unpinned torch pulls gigabytes of CUDA libraries.
$PY -m pip install -q "torch==2.13.0" >/dev/null
$PY -m pip install -q -e ".[test,demos,jupyter]" >/dev/null

# Front-ends built from source (skipped cleanly where their folder is absent).
if [ -f editors/vscode/package.json ]; then
  (cd editors/vscode && npm ci --no-audit --no-fund --silent && npm run -s bundle && npm run -s package \
    && npm test --silent) || { echo "VS Code extension build/test failed" >&2; exit 1; }
fi
if [ -f editors/vscode/test/e2e/run.mjs ]; then
  bash editors/vscode/test/e2e/install-code-server.sh >/dev/null 2>&1 \
    || echo "warning: code-server install failed; the VS Code e2e will skip" >&2
  (cd editors/vscode && PATH="$PWD/../../.venv/bin:$PATH" node test/e2e/run.mjs) \
    || { echo "VS Code e2e failed" >&2; exit 1; }
fi
if [ -f jupyter_ext/package.json ]; then
  (cd jupyter_ext && bash build.sh) || { echo "JupyterLab extension build failed" >&2; exit 1; }
fi

$PY -m nntutor content check --resolve
exec $PY -m pytest -q -p no:cacheprovider "$@"
