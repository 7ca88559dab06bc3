#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3 in the browser; newer ones need Node 22+) from the
# npm registry only, for `npm run test:e2e`. Needs Debian's build-essential pkg-config libkrb5-dev
# libx11-dev libxkbfile-dev libsecret-1-dev ripgrep (native modules are built here, and ripgrep's
# npm package would otherwise download rg from the internet). About 3-4 minutes, once.
set -euo pipefail

VERSION=4.100.3
PREFIX="${NNTUTOR_E2E_HOME:-$HOME/.cache/nntutor-e2e}/code-server-$VERSION"
if [ -f "$PREFIX/.installed" ]; then
  echo "code-server $VERSION already installed in $PREFIX"
  exit 0
fi
command -v rg >/dev/null || { echo "install Debian's ripgrep first (apt-get install -y ripgrep)"; exit 1; }

# @vscode/ripgrep@1.15.11 (pinned by code-server) looks for its download in this cache first.
cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache"
tar czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg

# npm 11 blocks dependency install scripts and `npx` prompts: allow both for this tool only.
export npm_config_yes=true npm_config_dangerously_allow_all_scripts=true npm_config_update_notifier=false

rm -rf "$PREFIX"
# --ignore-scripts: code-server's postinstall runs a nested `npm install` that would inherit
# the outer global-install settings and break; its steps are done below instead.
npm install -g --ignore-scripts --prefix "$PREFIX" "code-server@$VERSION"
pkg="$PREFIX/lib/node_modules/code-server"
(cd "$pkg" && npm rebuild argon2)
(cd "$pkg/lib/vscode" && npm install --omit=dev)
(cd "$pkg/lib/vscode" && ln -sfn node_modules node_modules.asar)
(cd "$pkg/lib/vscode/bin/remote-cli" && ln -sfn code-linux.sh code-server)
(cd "$pkg/lib/vscode/bin/helpers" && ln -sfn browser-linux.sh browser.sh)
(cd "$pkg/lib/vscode/extensions" && npm install --omit=dev)
"$PREFIX/bin/code-server" --version
touch "$PREFIX/.installed"
