#!/bin/sh
# Makes every secret the infra/ services share, one file each, in a folder only you can read:
#
#   infra/make-secrets.sh [DIR]     # DIR: $WEBTEXT_SECRETS_DIR, else infra/secrets (git ignores it)
#
# The compose files mount these files as /run/secrets/NAME (their folder: WEBTEXT_SECRETS_DIR, an
# absolute path, or infra/secrets by default); docs/security.md says which service reads which.
# The folder is mode 0700 and each file 0600. A file that already exists is kept as it is, never
# overwritten: a Postgres volume or an MLflow user store keeps the password it was created with, so
# changing one means rotating it (docs/security.md), not rerunning this. Run it as the user whose
# uid you give the containers (WEBTEXT_UID): the project image reads the files as that user.
set -eu

dir=${1:-${WEBTEXT_SECRETS_DIR:-$(dirname "$0")/secrets}}

# 32 random bytes as 64 hex digits: safe in URLs, env files and Basic auth alike (Ray's own
# `ray get-auth-token --generate` makes tokens of this form).
random_hex() {
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

umask 077  # before anything is created: no moment where a file is readable by others
mkdir -p "$dir"
chmod 700 "$dir"

# name -> content. prefect_auth_string is user:password, the form Prefect's UI login asks for.
make_secret() {
    name=$1
    value=$2
    path=$dir/$name
    if [ -e "$path" ]; then
        mode=$(stat -c %a "$path" 2>/dev/null || echo "?")
        if [ "$mode" != 600 ] && [ "$mode" != 400 ]; then
            echo "kept    $path (mode $mode: chmod 600 it)"
        else
            echo "kept    $path"
        fi
        return 0
    fi
    # noclobber: the redirection itself fails if the file appeared meanwhile, so nothing is overwritten.
    # No trailing newline: Ray reads RAY_AUTH_TOKEN_PATH's file as it is.
    (set -C && printf '%s' "$value" > "$path")
    echo "created $path"
}

make_secret ray_token "$(random_hex)"
make_secret spark_secret "$(random_hex)"
make_secret prefect_auth_string "webtext:$(random_hex)"
make_secret prefect_postgres_password "$(random_hex)"
make_secret mlflow_password "$(random_hex)"
make_secret mlflow_flask_secret_key "$(random_hex)"
make_secret mlflow_postgres_password "$(random_hex)"
