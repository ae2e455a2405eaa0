#!/usr/bin/env bash
# The README's test command: provisions what the tests need (scripts/provision.sh, idempotent),
# then runs every test of the workspace. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/provision.sh
exec cargo test --workspace "$@"
