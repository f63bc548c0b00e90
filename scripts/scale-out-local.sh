#!/usr/bin/env bash
# Starts a scaled-out TransferHub on this machine (README "Scale out"): a PostgreSQL server in a temporary folder
# (Debian's postgresql package: initdb + pg_ctl, no system cluster needed), two workers and two web instances on one
# database and one storage root. Prints the URLs; Ctrl+C (or SIGTERM) stops everything and deletes the temporary folder.
# Usage: scripts/scale-out-local.sh [--no-build]     Ports: PG_PORT (55432), WEB_PORTS ("5301 5302"), WORKER_PORTS ("5201 5202").
set -euo pipefail
cd "$(dirname "$0")/.."

pg_bin=${TRANSFERHUB_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[[ -x "$pg_bin/initdb" && -x "$pg_bin/pg_ctl" ]] || { echo "PostgreSQL is not installed: apt-get install postgresql (or set TRANSFERHUB_PG_BIN)" >&2; exit 1; }
pg_port=${PG_PORT:-55432}
read -r -a web_ports <<<"${WEB_PORTS:-5301 5302}"
read -r -a worker_ports <<<"${WORKER_PORTS:-5201 5202}"

if [[ "${1:-}" != "--no-build" ]]; then
  dotnet build gpu-worker -c Release -v q -nologo
  dotnet build web -c Release -v q -nologo
fi

root=$(mktemp -d /tmp/transferhub-scale-out.XXXXXX)
chmod 755 "$root"
as_pg=()
if [[ $(id -u) == 0 ]]; then as_pg=(runuser -u postgres --); chown postgres:postgres "$root"; fi
pids=()
stop() {
  trap - EXIT INT TERM
  echo; echo "Stopping…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$root/pg" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap stop EXIT INT TERM

echo "PostgreSQL on 127.0.0.1:$pg_port (data in $root/pg)"
"${as_pg[@]}" "$pg_bin/initdb" -D "$root/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$root/initdb.log"
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$root/pg" -l "$root/pg.log" -w -o "-p $pg_port -k $root -c listen_addresses=127.0.0.1" start >/dev/null
"${as_pg[@]}" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc \
  "CREATE DATABASE transferhub TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"

mkdir -p "$root/storage" "$root/logs"
# Every web instance gets the same settings: database, storage root, fleet. Only its URL differs.
export Database__Provider=Postgres
export ConnectionStrings__TransferHub="Host=127.0.0.1;Port=$pg_port;Database=transferhub;Username=postgres"
export Storage__Root="$root/storage"
export Workers__Local__Address=""
for i in "${!worker_ports[@]}"; do
  export "Workers__Fleet__${i}__Name=worker-$i" "Workers__Fleet__${i}__Address=http://127.0.0.1:${worker_ports[$i]}" \
    "Workers__Fleet__${i}__Token=scale-out-token-$i-change-me"
  Worker__Name="worker-$i" Worker__Port="${worker_ports[$i]}" Worker__Token="scale-out-token-$i-change-me" \
    Worker__DataFolder="$root/worker-$i" \
    dotnet run --no-build -c Release --project gpu-worker >"$root/logs/worker-$i.log" 2>&1 &
  pids+=($!)
done

wait_ready() {
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$1/health/ready" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "The web instance on port $1 did not become ready; see $root/logs" >&2; return 1
}
for i in "${!web_ports[@]}"; do
  # The first instance migrates the database and seeds the sample; the others start once it is ready.
  Urls="http://127.0.0.1:${web_ports[$i]}" Sample__Enabled=$([[ $i == 0 ]] && echo true || echo false) \
    dotnet run --no-build -c Release --project web >"$root/logs/web-$i.log" 2>&1 &
  pids+=($!)
  wait_ready "${web_ports[$i]}"
done

echo
for i in "${!web_ports[@]}"; do echo "web instance $i:  http://127.0.0.1:${web_ports[$i]}   (log $root/logs/web-$i.log)"; done
for i in "${!worker_ports[@]}"; do echo "worker $i:        http://127.0.0.1:${worker_ports[$i]} (log $root/logs/worker-$i.log)"; done
echo "PostgreSQL:      ${ConnectionStrings__TransferHub}"
echo "Sign in as demo@transferhub.local / Demo-pass-1 on either instance. Ctrl+C stops everything."
wait
