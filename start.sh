#!/usr/bin/env bash
# Quick start (1): install everything into .venv, create and seed the embedded database on first
# run, and start the Streamlit app on http://localhost:8501 (PORT to change). It listens on this
# machine only (127.0.0.1); ADDRESS=0.0.0.0 ./start.sh opens it to the network (see README).
# METERLINE_UTILITY picks the demo utility of the embedded database, each in a file of its own:
# society (the default: data/meterline.db), municipal (data/meterline-municipal.db) or water
# (data/meterline-water.db). With DATABASE_URL or SUPABASE_URL configured, that database is used
# as it is and nothing is seeded; the app shows whichever utility it holds.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh requirements.txt
utility="${METERLINE_UTILITY:-}"
if [ -z "$utility" ] && [ -f .env ]; then
  utility="$( (grep -E '^METERLINE_UTILITY=' .env || true) | tail -n 1 | cut -d= -f2- | tr -d "\"' \r")"
fi
utility="${utility:-society}"
case "$utility" in
  society|municipal|water) ;;
  *) echo "METERLINE_UTILITY must be society, municipal or water, not '$utility'." >&2; exit 2 ;;
esac
if [ -z "${DATABASE_URL:-}" ] && [ -z "${SUPABASE_URL:-}" ] && ! grep -qsE '^(DATABASE_URL|SUPABASE_URL)=.+' .env; then
  if [ "$utility" != society ]; then
    # The society keeps the embedded default (data/meterline.db); another demo gets its own file.
    export DATABASE_URL="sqlite:///$PWD/data/meterline-$utility.db"
  fi
  # seed_demo is idempotent and only seeds an empty database.
  python -m scripts.seed_demo --utility "$utility"
elif [ -n "${METERLINE_UTILITY:-}" ]; then
  echo "METERLINE_UTILITY=$METERLINE_UTILITY is ignored: a database is configured (DATABASE_URL or SUPABASE_URL)." >&2
fi
exec python -m streamlit run web.py --server.address "${ADDRESS:-127.0.0.1}" --server.port "${PORT:-8501}" \
  --server.headless true --browser.gatherUsageStats false "$@"
