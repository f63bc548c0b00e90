#!/usr/bin/env bash
# Starts the product on its embedded defaults: a local CPU worker (127.0.0.1:5101) and the web app
# (http://127.0.0.1:5000), which registers that worker as "local-worker". Ctrl+C stops both.
# Release builds of the two apps only (not the tests, benchmarks and samples: each would copy libtorch again).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build gpu-worker -c Release -v q -nologo
dotnet build web -c Release -v q -nologo
dotnet run --no-build -c Release --project gpu-worker &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT
dotnet run --no-build -c Release --project web
