#!/usr/bin/env bash
# Quick start, step 1: set up .venv/ and run the demo (SAM -> M2M -> refinement on data_samples/demo).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_venv.sh
MPLBACKEND=Agg .venv/bin/mam demo "$@"
