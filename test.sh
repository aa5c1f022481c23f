#!/usr/bin/env bash
# Set up (with test tools and the torch backend) and run the whole test suite.
set -uo pipefail
cd "$(dirname "$0")"
./setup.sh test || exit 1
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$status"
