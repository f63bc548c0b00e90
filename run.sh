#!/usr/bin/env bash
# Starts the product on its embedded defaults: a local CPU worker (127.0.0.1:5101) and the web app
# (http://127.0.0.1:5000), which registers that worker as "local-worker". Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build TransferHub.sln -v q -nologo
dotnet run --no-build --project gpu-worker &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT
dotnet run --no-build --project web
