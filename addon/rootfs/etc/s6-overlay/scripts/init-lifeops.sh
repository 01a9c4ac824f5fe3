#!/command/with-contenv bashio
# shellcheck shell=bash
# Prepares /data before the services start: secrets, a restored backup, the PostgreSQL guard.
set -euo pipefail

readonly SECRETS=/data/secrets
readonly PGDATA=/data/postgres
readonly SYNC=/data/sync
readonly BACKUP=/data/backup

# The TimescaleDB password: the option if set, else one generated once and kept in /data.
ensure_password() {
    mkdir -p "${SECRETS}"
    chmod 700 "${SECRETS}"
    if bashio::config.has_value 'timescaledb_password'; then
        bashio::config 'timescaledb_password' > "${SECRETS}/timescaledb_password"
    elif [[ ! -s "${SECRETS}/timescaledb_password" ]]; then
        bashio::log.info "Generating the TimescaleDB password into ${SECRETS}/timescaledb_password"
        head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "${SECRETS}/timescaledb_password"
    fi
    chmod 600 "${SECRETS}/timescaledb_password"
}

# After a restore the live folders (excluded from backups) are missing: rebuild them from the
# consistent copies backup_pre made.
restore_from_backup() {
    if [[ ! -f "${SYNC}/sync.db" && -f "${BACKUP}/sync.db" ]]; then
        bashio::log.warning "Restoring the sync replica from ${BACKUP}/sync.db;" \
            "sync with a peer before writing, so this node's change numbers catch up"
        mkdir -p "${SYNC}"
        cp "${BACKUP}/sync.db" "${SYNC}/sync.db"
    fi
    if [[ ! -f "${PGDATA}/PG_VERSION" && -f "${BACKUP}/timescaledb.sql.gz" ]]; then
        bashio::log.info "TimescaleDB will be restored from ${BACKUP}/timescaledb.sql.gz"
        touch /run/lifeops-restore-postgres
    fi
}

main() {
    mkdir -p "${SYNC}" "${BACKUP}"
    ensure_password
    restore_from_backup
    /usr/local/bin/lifeops-pg-guard
}

main "$@"
