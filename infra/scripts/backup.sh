#!/usr/bin/env bash
# Back up Renkei: the database (pg_dump, custom format, checked after writing) and, when a
# tool for it is installed, a mirror of the object-storage bucket.
#
#   BACKUP_DIR=/var/backups/renkei infra/scripts/backup.sh
#
# Environment:
#   BACKUP_DATABASE_URL  the database as its owner (default: MIGRATION_DATABASE_URL). The
#                        app's role sees no rows outside a workspace (row-level security),
#                        so a dump taken with it would be empty.
#   BACKUP_DIR           where dumps go (default /var/backups/renkei)
#   BACKUP_KEEP_DAYS     dumps older than this are deleted (default 14)
#   S3_BUCKET, S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
#                        object storage to mirror into $BACKUP_DIR/objects (with `aws`)
# Prints one line per step; exits non-zero on any failure (the systemd unit then fails).
set -euo pipefail

url="${BACKUP_DATABASE_URL:-${MIGRATION_DATABASE_URL:-}}"
if [[ -z "$url" ]]; then
    echo "backup: set BACKUP_DATABASE_URL (or MIGRATION_DATABASE_URL)" >&2
    exit 2
fi
# SQLAlchemy URLs name the driver (postgresql+psycopg://); libpq wants postgresql://.
url="${url/+psycopg:\/\//://}"
url="${url/+psycopg2:\/\//://}"

dir="${BACKUP_DIR:-/var/backups/renkei}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
mkdir -p "$dir"
umask 077

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
dump="$dir/renkei-$stamp.dump"
pg_dump --format=custom --compress=6 --no-password --file="$dump.partial" "$url"
pg_restore --list "$dump.partial" >/dev/null   # readable, complete archive
mv "$dump.partial" "$dump"
echo "backup: database -> $dump ($(du -h "$dump" | cut -f1))"

if [[ -n "${S3_BUCKET:-}" ]]; then
    if command -v aws >/dev/null 2>&1; then
        endpoint=()
        [[ -n "${S3_ENDPOINT_URL:-}" ]] && endpoint=(--endpoint-url "$S3_ENDPOINT_URL")
        aws "${endpoint[@]}" s3 sync --only-show-errors "s3://$S3_BUCKET" "$dir/objects/"
        echo "backup: bucket $S3_BUCKET -> $dir/objects/"
    else
        echo "backup: bucket $S3_BUCKET not mirrored (no aws CLI here); rely on the bucket's" \
            "versioning and replication (infra/RUNBOOK.md)" >&2
    fi
fi

find "$dir" -maxdepth 1 -name 'renkei-*.dump' -mtime +"$keep_days" -print -delete \
    | sed 's/^/backup: deleted old /'
