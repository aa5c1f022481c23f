#!/usr/bin/env bash
# Set up (with test tools and the torch backend), check lint, formatting and types, and run
# the whole test suite. Arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")"
./setup.sh test || exit 1
status=0
.venv/bin/ruff check --quiet . || status=1
.venv/bin/ruff format --check --quiet . || status=1
.venv/bin/mypy || status=1
[ "$status" -eq 0 ] || echo "test.sh: lint, format or type check failed (see above)" >&2
.venv/bin/python -m pytest "$@"
tests=$?
if [ "$tests" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  tests=1
fi
[ "$tests" -ne 0 ] && exit "$tests"
exit "$status"
