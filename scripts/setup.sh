#!/usr/bin/env bash
# Create .venv/ at the repo root and install the project into it, with the extras named in $1
# (comma-separated; default "test", which includes the notebooks, JupyterLab, the fast embedder,
# the viz page and the browser-test driver). Idempotent: a second run only checks a stamp.
# torch is pinned to the CPU build first, so nothing ever pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${1:-test}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.packetflow-installed-${EXTRAS//,/-}"
want=$( (cat pyproject.toml scripts/setup.sh; echo "$EXTRAS") | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
  .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
  echo "$want" > "$stamp"
fi
# Notebooks never reach git with outputs: nbstripout is a clean filter for *.ipynb
# (.gitattributes names it; this registers it in the clone's .git/config).
if [ -x .venv/bin/nbstripout ] && git rev-parse --git-dir >/dev/null 2>&1; then
  want_clean="\"$PWD/.venv/bin/python\" -m nbstripout --keep-id"  # keep the notebooks' cell ids
  if [ "$(git config --get filter.nbstripout.clean || true)" != "$want_clean" ]; then
    .venv/bin/nbstripout --install --attributes .gitattributes
    git config filter.nbstripout.clean "$want_clean"
  fi
fi
