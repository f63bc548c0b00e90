#!/usr/bin/env bash
# Refreshes docs/screenshots/*.png: runs the browser tests (tests/TransferHub.E2E) with TRANSFERHUB_DOCS_SCREENSHOTS=1,
# which makes every screenshot they take also land in docs/screenshots/ (a full-page shot over 400 KB goes there as
# the 1280 x 900 viewport only). Needs Debian's chromium and poppler-utils, like the tests. Extra arguments go to
# `dotnet test`, e.g. --filter "FullyQualifiedName~WholeJourneyTests" to refresh only that test's pictures.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/screenshots
# Only when all tests run: pictures of a test that was renamed or removed must not linger.
if [ "$#" -eq 0 ]; then rm -f docs/screenshots/*.png; fi
TRANSFERHUB_DOCS_SCREENSHOTS=1 dotnet test tests/TransferHub.E2E --nologo "$@"
ls -l docs/screenshots
