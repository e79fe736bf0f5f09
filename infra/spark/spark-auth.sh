#!/bin/sh
# Entry point of the Spark master and workers: turns on spark.authenticate with the cluster's shared
# secret, then runs the daemon ("$@", a spark-class command).
#
# Spark standalone takes the secret from spark.authenticate.secret only (spark.authenticate.secret.file
# is for Kubernetes), and the same secret on every daemon and every application: a worker hands its own
# to the executors it launches. Passing it with -D in SPARK_MASTER_OPTS would show it in `ps` and
# `docker inspect`; so it goes into a spark-defaults.conf written here, when the container starts, from
# the mounted secret file, in a folder of this container's /tmp that only its user reads (0700/0600),
# and SPARK_CONF_DIR points there. The Master and Worker load that file themselves. Nothing of it is
# committed. The driver (the flow's process) sets the same two settings from the run config's
# services.spark.auth_secret_file (or webtext's --spark-auth-secret-file).
#
# The web UIs are made read-only too: no kill links (spark.ui.killEnabled), no worker decommissioning
# from the master's UI, no REST submission server. They still show applications and executors' logs:
# the master's UI is published (read-only status), the workers' only on the Docker host's loopback.
set -eu

secret_path=${SPARK_AUTH_SECRET_PATH:-/run/secrets/spark_secret}
if [ ! -r "$secret_path" ]; then
    echo "spark-auth.sh: the Spark secret $secret_path is missing or unreadable" \
        "(make it with infra/make-secrets.sh; compose mounts it from WEBTEXT_SECRETS_DIR)" >&2
    exit 1
fi
secret=$(cat "$secret_path")
if [ -z "$secret" ]; then
    echo "spark-auth.sh: the Spark secret $secret_path is empty" >&2
    exit 1
fi

umask 077
SPARK_CONF_DIR=$(mktemp -d "${TMPDIR:-/tmp}/spark-conf.XXXXXX")
export SPARK_CONF_DIR
cat > "$SPARK_CONF_DIR/spark-defaults.conf" <<EOF
spark.authenticate true
spark.authenticate.secret $secret
spark.ui.killEnabled false
spark.master.ui.decommission.allow.mode DENY
spark.master.rest.enabled false
EOF
unset secret secret_path

exec "$@"
