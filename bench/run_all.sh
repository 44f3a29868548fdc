#!/bin/sh
# Run every benchmark in bench/ (bench_*.py) with the project's venv, as root.
#
#   bench/run_all.sh [ARGS...]     ARGS go to every script, e.g. --runs 30 --thousand 0
#
# PYTHON overrides the interpreter (default: .venv/bin/python next to bench/).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-$here/../.venv/bin/python}
status=0
for script in "$here"/bench_*.py; do
    [ -e "$script" ] || continue
    echo "### $(basename "$script")"
    "$python" "$script" "$@" || status=$?
    echo
done
exit "$status"
