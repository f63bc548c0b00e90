#!/usr/bin/env bash
# Runs every test of the solution (the README's second command). Prints "N passed, N failed" at the end.
set -uo pipefail
cd "$(dirname "$0")"
log="$(mktemp)"
dotnet test TransferHub.sln --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
