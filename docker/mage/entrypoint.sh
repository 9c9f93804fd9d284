#!/bin/sh
# Mage's entrypoint: build its database URL from DB_* (password URL-quoted) unless it is given
# whole, then run the command. Secrets only ever arrive through the environment at run time.
set -eu
if [ -z "${MAGE_DATABASE_CONNECTION_URL:-}" ] && [ -n "${DB_HOST:-}" ]; then
    MAGE_DATABASE_CONNECTION_URL="$(python "${SCRIPTS_DIR:-/opt/scripts}/database_url.py" url)"
    export MAGE_DATABASE_CONNECTION_URL
fi
exec "$@"
