#!/command/with-contenv bashio
# shellcheck shell=bash
# Once the database and the sync service are up: announce the add-on to the Supervisor, which
# has Home Assistant offer LifeOps' "Use the LifeOps add-on". Secrets go from their files to the
# announcement, never through a command line. A failed announcement is logged, not fatal.
set -euo pipefail

main() {
    if [[ -f /run/lifeops-postgres-disabled || ! -s /data/secrets/lifeops_password ]]; then
        bashio::log.warning "TimescaleDB is not ready: the add-on is not announced to LifeOps"
        return 0
    fi
    if /opt/lifeops/venv/bin/python -m lifeops_sync announce \
        --config /data/options.json \
        --host "$(hostname)" \
        --api-secret-file /data/secrets/api_secret \
        --database-password-file /data/secrets/lifeops_password; then
        bashio::log.info "Announced to Home Assistant: LifeOps can now be set up with this add-on"
    else
        bashio::log.warning "Could not announce the add-on to Home Assistant (see above);" \
            "set LifeOps' long-term store and sync up by hand, or restart the add-on"
    fi
}

main "$@"
