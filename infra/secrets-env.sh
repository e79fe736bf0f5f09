#!/bin/sh
# Entry point of the infra/ containers that need a secret in an environment variable. For each
# variable VAR listed below:
#
#   VAR_FILE=/run/secrets/name  ->  VAR=<the file's content>, VAR_FILE unset; then exec "$@".
#
# Why: compose mounts each secret as a file under /run/secrets (made by infra/make-secrets.sh), but
# Prefect, MLflow's server and clients and libpq read theirs from the environment only. Reading the
# files here, when the container starts, keeps the values out of the compose files, out of `docker
# inspect` (which shows the configured environment, not this process's) and out of every argv (`ps`).
# The Postgres images need no wrapper: they read POSTGRES_PASSWORD_FILE themselves; Ray reads its
# token file itself (RAY_AUTH_TOKEN_PATH).
#
# A missing, unreadable or empty file stops the container with a message naming it: a service that
# asks for credentials never starts without them. POSIX sh: it runs in the project image, the
# Prefect image and the MLflow image alike.
set -eu

if [ "$#" -eq 0 ]; then
    echo "secrets-env.sh: no command to run" >&2
    exit 2
fi

# These variables and no others: a generic "every *_FILE" rule would also swallow unrelated
# variables that merely end in _FILE (a CA bundle's path, say) and export their files' contents.
SECRET_VARIABLES="
PREFECT_SERVER_API_AUTH_STRING
PREFECT_API_AUTH_STRING
PREFECT_SERVER_DATABASE_PASSWORD
MLFLOW_AUTH_ADMIN_PASSWORD
MLFLOW_FLASK_SERVER_SECRET_KEY
MLFLOW_TRACKING_PASSWORD
PGPASSWORD
"

for name in $SECRET_VARIABLES; do
    path=$(printenv "${name}_FILE" || true)
    [ -n "$path" ] || continue
    if [ ! -r "$path" ]; then
        echo "secrets-env.sh: ${name}_FILE names $path, which is missing or unreadable" \
            "(make it with infra/make-secrets.sh; compose mounts it from WEBTEXT_SECRETS_DIR)" >&2
        exit 1
    fi
    value=$(cat "$path")  # $(...) drops a trailing newline an editor may have added
    if [ -z "$value" ]; then
        echo "secrets-env.sh: $path (${name}_FILE) is empty" >&2
        exit 1
    fi
    export "$name=$value"
    unset "${name}_FILE"
done
unset SECRET_VARIABLES name path value

exec "$@"
