#!/usr/bin/env bash
# Quick start (2): install everything the tests need (Python packages, Debian chromium and the
# PostgreSQL server binaries when missing) and run the whole suite. The suite starts its own
# throwaway PostgreSQL server and Streamlit servers. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
source scripts/venv.sh requirements-dev.txt
exec python -m pytest "$@"
