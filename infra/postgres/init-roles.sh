#!/usr/bin/env bash
# First start of the postgres container (docker-entrypoint-initdb.d): the database, its owner
# (runs migrations) and the app's role (owns nothing, cannot bypass row-level security).
# On a plain server run the same statements with psql as a superuser (infra/RUNBOOK.md).
set -euo pipefail
: "${RENKEI_OWNER_PASSWORD:?}" "${RENKEI_APP_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" \
    -v owner_password="$RENKEI_OWNER_PASSWORD" -v app_password="$RENKEI_APP_PASSWORD" <<'SQL'
CREATE ROLE renkei_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE renkei_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD :'app_password';
CREATE DATABASE renkei OWNER renkei_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE renkei FROM PUBLIC;
GRANT CONNECT ON DATABASE renkei TO renkei_app;
SQL
