#!/command/with-contenv bashio
# shellcheck shell=bash
# Prepares /data before the services start: secrets, a restored backup, the PostgreSQL guard.
# Everything it makes is readable by root only (umask 077, folders 0700).
set -euo pipefail

readonly SECRETS=/data/secrets
readonly PGDATA=/data/postgres
readonly SYNC=/data/sync
readonly BACKUP=/data/backup

# A secret: the option if set, else one generated once and kept in /data/secrets (0600).
ensure_secret() {
    local option="$1" file="${SECRETS}/$1"
    if bashio::config.has_value "${option}"; then
        bashio::config "${option}" > "${file}"
    elif [[ ! -s "${file}" ]]; then
        bashio::log.info "Generating ${option} into ${file}"
        head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "${file}"
    fi
    chmod 600 "${file}"
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
    umask 077
    mkdir -p "${SECRETS}" "${SYNC}" "${BACKUP}"
    chmod 700 "${SECRETS}" "${SYNC}" "${BACKUP}"
    ensure_secret timescaledb_password
    ensure_secret api_secret
    restore_from_backup
    /usr/local/bin/lifeops-pg-guard
}

main "$@"
