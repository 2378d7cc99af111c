#!/usr/bin/env bash
# The long form of the resilience suite (minutes): the same scenarios as
# the short form in `go test ./internal/resilience` (SIGKILL of serve and of
# a worker during uploads, database and object-store outages, 50 uploaders
# with readers), run for longer with more load, on SQLite and on
# PostgreSQL + S3 (started by scripts/test.sh), printing the figures.
#
#   bash scripts/resilience.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export VERIPOST_RESILIENCE=long
exec bash scripts/test.sh -run TestResilience -v -timeout 60m ./internal/resilience/
