#!/usr/bin/env bash
# Build the nntutor JupyterLab extension from source into server/nntutor/jupyter/labextension/
# (shipped in the wheel as share/jupyter/labextensions/nntutor) and make the Python env's
# JupyterLab see it. Needs Node >= 18 and a Python env with jupyterlab (default: ../.venv).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-../.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
BIN="$(dirname "$PY")"
export PATH="$BIN:$PATH"  # jlpm and jupyter from the same env as the Python that runs the lab

# A lockfile-exact install; the resolutions in package.json pin the few @jupyterlab packages
# whose newest patch release the registry mirror lacks.
"$BIN/jlpm" install --immutable >/dev/null 2>jlpm-install.err || {
  cat jlpm-install.err >&2; exit 1; }
rm -f jlpm-install.err
"$BIN/jlpm" run build:lib
# Build against the installed JupyterLab's own core metadata (its staging/package.json), so the
# shared singletons match the lab that will load us, with no download of core-meta.
STAGING="$("$PY" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')"
if [ -x "$BIN/jupyter-builder" ]; then  # JupyterLab >= 4.6 builds through jupyter-builder
  "$BIN/jupyter-builder" build --core-package-file "$STAGING/package.json" .
else
  "$PY" -m jupyter labextension build --core-path "$STAGING" .
fi

# Dev installs (pip install -e) copy shared-data at install time, before this build ran:
# point the env's labextensions/nntutor at the fresh build instead of a stale copy or nothing.
OUT="$(cd ../server/nntutor/jupyter/labextension && pwd)"
DEST="$("$PY" -c 'import sys, os; print(os.path.join(sys.prefix, "share", "jupyter", "labextensions", "nntutor"))')"
if [ "${NNTUTOR_LINK_LABEXTENSION:-1}" = 1 ]; then
  mkdir -p "$(dirname "$DEST")"
  rm -rf "$DEST"
  ln -s "$OUT" "$DEST"
fi
"$PY" -m jupyter labextension list 2>&1 | grep -E "nntutor" || {
  echo "nntutor lab extension not found by jupyter labextension list" >&2; exit 1; }
