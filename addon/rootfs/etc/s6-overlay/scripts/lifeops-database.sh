#!/command/with-contenv bashio
# shellcheck shell=bash
# After PostgreSQL is up: the database LifeOps' long-term store uses by default (`lifeops`,
# owned by the role `lifeops`), its password generated once and kept in /data/secrets, and the
# TimescaleDB extension in it. Safe to run at every start: it creates only what is missing and
# sets the role's password to the kept one.
set -euo pipefail

# Paths and the connection can be changed for tests outside the container; psql also takes
# PGHOST, PGPORT, PGUSER and PGPASSWORD from the environment as usual.
readonly DATA="${LIFEOPS_DATA:-/data}"
readonly SECRETS="${DATA}/secrets"
readonly PASSWORD_FILE="${SECRETS}/lifeops_password"
readonly DISABLED="${LIFEOPS_RUN:-/run}/lifeops-postgres-disabled"
readonly PG_BIN="${PG_BIN:-/usr/lib/postgresql/${POSTGRES_MAJOR}/bin}"
readonly PG_USER="${PG_USER:-postgres}"
export PGHOST="${PGHOST:-/run/postgresql}"
export PGUSER="${PGUSER:-postgres}"

wait_for_postgres() {
    local i
    for i in $(seq 1 120); do
        "${PG_BIN}/pg_isready" -q && return 0
        sleep 1
    done
    return 1
}

# The role's password: generated once (letters and digits), readable by root only.
ensure_password() {
    umask 077
    mkdir -p "${SECRETS}"
    if [[ ! -s "${PASSWORD_FILE}" ]]; then
        bashio::log.info "Generating the password of the database role lifeops"
        head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "${PASSWORD_FILE}"
    fi
    chmod 600 "${PASSWORD_FILE}"
}

# The SQL, on psql's standard input. The password comes in through the environment
# (\getenv), never on a command line, and is quoted by format(%L).
create_database() {
    LIFEOPS_DB_PASSWORD="$(< "${PASSWORD_FILE}")" \
        s6-setuidgid "${PG_USER}" "${PG_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
\getenv lifeops_password LIFEOPS_DB_PASSWORD
SELECT format('CREATE ROLE lifeops LOGIN PASSWORD %L', :'lifeops_password')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lifeops') \gexec
SELECT format('ALTER ROLE lifeops LOGIN PASSWORD %L', :'lifeops_password') \gexec
SELECT 'CREATE DATABASE lifeops OWNER lifeops'
    WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'lifeops') \gexec
\connect lifeops
CREATE EXTENSION IF NOT EXISTS timescaledb;
SQL
}

main() {
    if [[ -f "${DISABLED}" ]]; then
        bashio::log.warning "TimescaleDB is off; the lifeops database is not checked"
        return 0
    fi
    if ! wait_for_postgres; then
        bashio::log.error "PostgreSQL did not answer within 120 s; the lifeops database is not" \
            "checked (the next start tries again)"
        return 0
    fi
    ensure_password
    if ! create_database; then
        bashio::log.error "Could not prepare the lifeops database (see above); the sync service" \
            "runs on, and the next start tries again"
        return 0
    fi
    bashio::log.info "The lifeops database is ready (role lifeops, TimescaleDB extension)"
}

main "$@"
