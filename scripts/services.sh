#!/usr/bin/env bash
# Start the test services (PostgreSQL 15, SeaweedFS S3, Chromium check) and keep
# them running until Ctrl-C, for running `go test` by hand against them. It
# prints the environment exports (and writes them to a file it names):
#
#   bash scripts/services.sh            # in one shell; then in another:
#   source /tmp/veripost-test.XXXXXX/env.sh && go test ./internal/blob/...
#
# Everything is stopped and deleted when it exits.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/test.sh" --services-only "$@"
