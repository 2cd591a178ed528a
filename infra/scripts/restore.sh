#!/usr/bin/env bash
# Restore a dump made by backup.sh into an EMPTY database, then give the app role its row
# privileges. Nothing is overwritten: create the database first (infra/RUNBOOK.md, "Restore").
#
#   infra/scripts/restore.sh /var/backups/renkei/renkei-20261121T173000Z.dump \
#       postgresql://renkei_owner@db.example/renkei_restored renkei_app
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 DUMP TARGET_DATABASE_URL(owner) APP_ROLE" >&2
    exit 2
fi
dump="$1"
url="${2/+psycopg:\/\//://}"
app_role="$3"
if [[ ! "$app_role" =~ ^[a-z_][a-z0-9_]*$ ]]; then
    echo "restore: '$app_role' is not a plain role name" >&2
    exit 2
fi

tables="$(psql --no-password -Atqc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" "$url")"
if [[ "$tables" != "0" ]]; then
    echo "restore: the target database is not empty ($tables tables); refusing" >&2
    exit 1
fi
# One transaction: a failed restore leaves the target empty. Objects are owned by the
# connecting role (the target's owner), whatever they were owned by in the dump.
pg_restore --no-password --exit-on-error --single-transaction --no-owner --no-privileges \
    --dbname="$url" "$dump"
psql --no-password -v ON_ERROR_STOP=1 -q "$url" <<SQL
GRANT USAGE ON SCHEMA public TO $app_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $app_role;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO $app_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $app_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO $app_role;
SQL
echo "restore: $dump -> $(psql --no-password -Atqc 'SELECT current_database()' "$url") (rows readable by $app_role)"
