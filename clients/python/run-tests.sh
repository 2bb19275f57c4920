#!/usr/bin/env bash
# Runs the Python client's tests against a real server: makes (once) a virtualenv at
# $VITRINE_PY_VENV (default ~/.cache/vitrine-python), installs this package with its
# DataFrame extras and pinned test dependencies, and runs pytest. The server binary is
# $VITRINE_BIN (a built `vitrine`); extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${VITRINE_PY_VENV:-$HOME/.cache/vitrine-python}"
python="${PYTHON:-python3}"

if [[ -z "${VITRINE_BIN:-}" ]]; then
    echo "run-tests.sh: set VITRINE_BIN to a built vitrine binary (e.g. target/debug/vitrine)" >&2
    exit 2
fi

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$here[dataframes]" \
    httpx==0.28.1 polars==2.1.0 pandas==3.1.1 pytest==9.2.0

cd "$here"
PYTHONDONTWRITEBYTECODE=1 exec "$venv/bin/python" -m pytest "$@"
