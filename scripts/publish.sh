#!/usr/bin/env bash
# Publishes the two deployable apps as framework-dependent Release builds (they need the ASP.NET Core 10 runtime):
#   scripts/publish.sh [OUT]        → OUT/web and OUT/worker (OUT defaults to ./out)
#   scripts/publish.sh --check [OUT]  also starts each published app in Production and checks that it serves
# The web's static assets (Blazor, MudBlazor, app CSS) land in OUT/web/wwwroot, so it runs in any environment (a
# build output serves them only in Development). The worker gets libtorch, the TorchSharp bridge with its
# GLIBCXX_3.4.32 need marked weak (build/TorchSharpNativeFix.targets runs after Publish, on the published copy) and
# the pretrained ResNet18.onnx. See README "Run as a service".
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
if [[ "${1:-}" == "--check" ]]; then check=true; shift; fi
out="$(realpath -m "${1:-out}")"

# A fresh publish: stale files of an earlier one (e.g. another runtime's natives) do not linger.
rm -rf "$out/web" "$out/worker"
# The web for linux-x64 only (36 MB instead of 524 MB of every platform's SkiaSharp/SQLite natives); the worker
# portable, in the layout TorchSharp's native loader is tested with (runtimes/linux-x64/native).
dotnet publish web/TransferHub.Web.csproj -c Release -r linux-x64 --self-contained false -o "$out/web" -nologo -v q
dotnet publish gpu-worker/TransferHub.Worker.csproj -c Release -o "$out/worker" -nologo -v q

fail() { echo "publish.sh: $*" >&2; exit 1; }
[[ -f "$out/web/wwwroot/_framework/blazor.web.js" ]] || fail "web: wwwroot/_framework/blazor.web.js missing"
[[ -f "$out/web/wwwroot/_content/MudBlazor/MudBlazor.min.css" ]] || fail "web: MudBlazor CSS missing"
[[ -f "$out/web/libSkiaSharp.so" && -f "$out/web/libe_sqlite3.so" ]] || fail "web: SkiaSharp/SQLite natives missing"
[[ -f "$out/worker/pretrained/ResNet18.onnx" ]] || fail "worker: pretrained/ResNet18.onnx missing"
bridge="$out/worker/runtimes/linux-x64/native/libLibTorchSharp.so"
[[ -f "$bridge" ]] || fail "worker: $bridge missing"
[[ -f "$out/worker/runtimes/linux-x64/native/libtorch_cpu.so" ]] || fail "worker: libtorch_cpu.so missing"
# The bridge must not hard-require GLIBCXX_3.4.32 (Debian 12 has 3.4.30): readelf shows the weak flag.
if command -v readelf > /dev/null && readelf -V "$bridge" | grep -q "GLIBCXX_3.4.32"; then
  readelf -V "$bridge" | grep "GLIBCXX_3.4.32" | grep -q "WEAK" || fail "worker: $bridge still requires GLIBCXX_3.4.32 (not patched)"
fi
echo "published: $out/web ($(du -sh "$out/web" | cut -f1)), $out/worker ($(du -sh "$out/worker" | cut -f1))"

if $check; then
  data="$(mktemp -d)"
  trap 'kill ${web_pid:-} ${worker_pid:-} 2>/dev/null || true; rm -rf "$data"' EXIT
  (cd "$out/worker" && ASPNETCORE_ENVIRONMENT=Production Worker__Port=5199 Worker__DataFolder="$data/worker" \
     Worker__WeightsFolder="$data/worker/weights" exec dotnet TransferHub.Worker.dll > "$data/worker.log" 2>&1) &
  worker_pid=$!
  (cd "$out/web" && ASPNETCORE_ENVIRONMENT=Production Urls=http://127.0.0.1:5198 \
     ConnectionStrings__TransferHub="Data Source=$data/web/transferhub.db" Storage__Root="$data/web/storage" \
     Workers__Local__Address=http://127.0.0.1:5199 Sample__Enabled=false exec dotnet TransferHub.Web.dll > "$data/web.log" 2>&1) &
  web_pid=$!
  for _ in $(seq 1 120); do
    grep -q "Backbones offered" "$data/worker.log" 2>/dev/null && curl -fso /dev/null http://127.0.0.1:5198/ && break
    sleep 1
  done
  grep -q "Backbones offered" "$data/worker.log" || { cat "$data/worker.log"; fail "the published worker did not initialise torch"; }
  for path in "" _framework/blazor.web.js _content/MudBlazor/MudBlazor.min.css _content/MudBlazor/MudBlazor.min.js; do
    code=$(curl -so /dev/null -w '%{http_code}' "http://127.0.0.1:5198/$path")
    [[ "$code" == 200 ]] || { cat "$data/web.log"; fail "web: /$path answered $code"; }
  done
  echo "checked: the published worker loads torch and its backbones; the published web serves its pages and assets in Production"
fi
