#!/usr/bin/env bash
# Runs every test of the solution (the README's second command), then the web and integration tests (and two browser journeys) a second time with the app on a
# real PostgreSQL server (started and stopped by the tests themselves) when PostgreSQL is installed. Prints
# "N passed, N failed" at the end. TRANSFERHUB_TEST_POSTGRES=0 leaves the PostgreSQL pass out.
set -uo pipefail
cd "$(dirname "$0")"
log="$(mktemp)"
dotnet test TransferHub.sln --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# The PostgreSQL pass: the same binaries the test fixture (tests/Shared/PostgresServer.cs) looks for.
postgres_bin="${TRANSFERHUB_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
if [ "${TRANSFERHUB_TEST_POSTGRES:-1}" = "0" ]; then
  echo "PostgreSQL pass skipped: TRANSFERHUB_TEST_POSTGRES=0."
elif [ -z "$postgres_bin" ] || [ ! -x "$postgres_bin/postgres" ] || [ ! -x "$postgres_bin/initdb" ]; then
  echo "PostgreSQL pass skipped: no PostgreSQL server is installed (apt-get install postgresql, or set TRANSFERHUB_PG_BIN to its bin folder)."
else
  echo "PostgreSQL pass: the web and integration tests and two browser journeys with the app on PostgreSQL ($postgres_bin)"
  start=$SECONDS
  for project in tests/TransferHub.Web.Tests tests/TransferHub.Integration.Tests tests/TransferHub.E2E; do
    # In the browser, the two journeys that touch the most of the database (the whole product; two editors live on one
    # dataset, through the live bus): all 13 app-started browser tests take ~4 min more on 2 cores, so they run on
    # PostgreSQL on demand (TRANSFERHUB_TEST_DATABASE=postgres dotnet test tests/TransferHub.E2E).
    only=()
    [ "$project" = tests/TransferHub.E2E ] && [ $# -eq 0 ] && only=(--filter "FullyQualifiedName~WholeJourneyTests|FullyQualifiedName~CollaborationTests")
    TRANSFERHUB_TEST_DATABASE=postgres TRANSFERHUB_PG_BIN="$postgres_bin" \
      dotnet test "$project" --no-build --nologo "${only[@]}" "$@" 2>&1 | tee -a "$log"
    pg_status=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] && status=$pg_status
  done
  echo "PostgreSQL pass took $((SECONDS - start)) s"
fi

passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
