#!/usr/bin/env bash
# Quick start, step 2: run the whole test suite (sets up .venv/ first if needed).
# Extra arguments go to pytest, e.g. ./run_tests.sh -k refinement
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_venv.sh
MPLBACKEND=Agg exec .venv/bin/python -m pytest "$@"
