#!/usr/bin/env bash
# Adds an EF Core migration named $1 for both database providers (ADR 032): SQLite's (TransferHubDbContext,
# web/Data/Migrations) and PostgreSQL's (PostgresTransferHubDbContext, web/Data/Migrations/Postgres), then checks that
# neither has model changes left. Needs no database server. Usage: scripts/add-migration.sh <Name>
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/add-migration.sh <MigrationName>}"
dotnet tool restore >/dev/null
dotnet build web --nologo -v q
dotnet ef migrations add "$name" --project web --no-build --context TransferHub.Web.Data.TransferHubDbContext --output-dir Data/Migrations
dotnet ef migrations add "Postgres$name" --project web --no-build --context PostgresTransferHubDbContext --output-dir Data/Migrations/Postgres
dotnet build web --nologo -v q
for context in TransferHub.Web.Data.TransferHubDbContext PostgresTransferHubDbContext; do
  dotnet ef migrations has-pending-model-changes --project web --no-build --context "$context"
done
