#!/usr/bin/env bash
# Create the project's virtual environment at .venv/ and install mam_lib with everything it needs.
# Safe to run again: it only reinstalls when pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python >= 3.10 is needed (set PYTHON=/path/to/python3.x)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "creating .venv with $("$py" --version)"
  if ! "$py" -m venv .venv; then
    echo "error: '$py -m venv' failed; on Debian/Ubuntu install the python3-venv package" >&2
    exit 1
  fi
fi

stamp=.venv/.mam-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing mam_lib and its dependencies into .venv (torch + torchvision are large: a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --progress-bar off -e ".[test]"
  .venv/bin/python - <<'PY'
import torch, torchvision, segment_anything  # fails loudly if the pinned pair does not import together
print(f"ok: torch {torch.__version__}, torchvision {torchvision.__version__}")
PY
  # pymatting (cut-out colours, baselines) compiles its numba kernels on first import; do it once here,
  # where a wait is expected, rather than in the first demo or cut-out (the result is cached)
  echo "compiling pymatting's kernels once (cached afterwards; a minute or two)"
  .venv/bin/python -c "import pymatting" >/dev/null
  echo "$want" > "$stamp"
fi
