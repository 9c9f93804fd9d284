#!/bin/sh
# MLflow tracking server. Backend store, first that applies:
#   MLFLOW_BACKEND_STORE_URI as given;
#   Postgres from DB_* (the database MLFLOW_DB_NAME is created when absent), as on AWS;
#   SQLite in /mlflow (a volume), as in the docker-compose stack.
# Artifacts go to MLFLOW_ARTIFACTS_DESTINATION (s3://bucket/mlflow, or a folder) and are served
# through the server (--serve-artifacts), so clients need no storage credentials.
# The URI is passed in the environment (mlflow reads MLFLOW_BACKEND_STORE_URI), not on the
# command line, so a password never shows in the process list.
set -eu
if [ -z "${MLFLOW_BACKEND_STORE_URI:-}" ]; then
    if [ -n "${DB_HOST:-}" ]; then
        python "${SCRIPTS_DIR:-/opt/scripts}/database_url.py" ensure --database "${MLFLOW_DB_NAME:-mlflow}"
        MLFLOW_BACKEND_STORE_URI="$(python "${SCRIPTS_DIR:-/opt/scripts}/database_url.py" url --database "${MLFLOW_DB_NAME:-mlflow}")"
    else
        MLFLOW_BACKEND_STORE_URI="sqlite:////mlflow/mlflow.db"
    fi
fi
export MLFLOW_BACKEND_STORE_URI
# An empty endpoint means "real AWS S3": unset it, boto3 would take "" for an address.
if [ -z "${MLFLOW_S3_ENDPOINT_URL:-}" ]; then
    unset MLFLOW_S3_ENDPOINT_URL
fi
# Host-header and CORS protection (mlflow-guard, in the image): the server answers only requests
# naming a host of MLFLOW_ALLOWED_HOSTS (comma-separated host, host:port or *.domain; unset:
# localhost, 127.0.0.1 and [::1] only) and serves cross-origin browsers only from the origins of
# MLFLOW_CORS_ALLOWED_ORIGINS (unset: none). docker-compose.yml and infrastructure/aws_prod set
# both to the names their clients use.
exec mlflow server \
    --app-name host-guard \
    --host 0.0.0.0 \
    --port "${MLFLOW_PORT:-5000}" \
    --workers "${MLFLOW_WORKERS:-2}" \
    --artifacts-destination "${MLFLOW_ARTIFACTS_DESTINATION:-/mlflow/artifacts}" \
    --serve-artifacts
