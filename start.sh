#!/usr/bin/env bash
# Quick start (1): install everything into .venv, create and seed the embedded database on first
# run, and start the Streamlit app on http://localhost:8501 (PORT to change). It listens on this
# machine only (127.0.0.1); ADDRESS=0.0.0.0 ./start.sh opens it to the network (see README).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh requirements.txt
if [ -z "${DATABASE_URL:-}" ] && [ -z "${SUPABASE_URL:-}" ] && ! grep -qsE '^(DATABASE_URL|SUPABASE_URL)=.+' .env; then
  # Embedded default: data/meterline.db. seed_demo is idempotent and only seeds an empty database.
  python -m scripts.seed_demo
fi
exec python -m streamlit run streamlit_app.py --server.address "${ADDRESS:-127.0.0.1}" --server.port "${PORT:-8501}" \
  --server.headless true --browser.gatherUsageStats false "$@"
