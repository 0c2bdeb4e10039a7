#!/usr/bin/env bash
# Install (Debian packages), start and prepare a PostgreSQL server for the store tests.
#
# Usage:   source .ci/postgres.sh      (exports TRIALDATA_TEST_PG_URL in this shell)
#     or:  bash .ci/postgres.sh        (prints the export line)
#
# Works as root on a fresh Debian bookworm machine without a service manager: the
# cluster is started with pg_ctlcluster directly. Idempotent: re-running it finds the
# packages installed, the server running, and the role and database present.
#
# Settings (environment, all optional):
#   TRIALDATA_PG_PORT      port to listen on           (default 5432)
#   TRIALDATA_PG_USER      role to create              (default trialdata)
#   TRIALDATA_PG_PASSWORD  its password                (default trialdata)
#   TRIALDATA_PG_DB        database to create          (default trialdata_test)
#
# The role gets CREATEDB (tests make databases) and CREATEROLE: it owns the stores the
# tests create, and a store's owner creates the store's group roles and the users'
# login roles (trialdata.store.database_roles; docs/store-security.md). It is not a
# superuser and has no BYPASSRLS, so the row-level security tests mean something.

_trialdata_pg_setup() (
    set -euo pipefail
    port="${TRIALDATA_PG_PORT:-5432}"
    user="${TRIALDATA_PG_USER:-trialdata}"
    password="${TRIALDATA_PG_PASSWORD:-trialdata}"
    db="${TRIALDATA_PG_DB:-trialdata_test}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo_cmd=(sudo)
    fi

    # 1. Packages, from Debian's own repository.
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        echo "postgres.sh: installing PostgreSQL from Debian packages" >&2
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq postgresql postgresql-contrib >&2
    fi
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

    # 2. A cluster (the package normally creates "main"; create it when it did not).
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
        echo "postgres.sh: creating cluster $version/main on port $port" >&2
        "${sudo_cmd[@]}" pg_createcluster "$version" main --port "$port" >&2
    fi
    cluster_port="$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')"
    if [ "$cluster_port" != "$port" ]; then
        echo "postgres.sh: cluster $version/main listens on $cluster_port; using that port" >&2
        port="$cluster_port"
    fi

    # 3. Start it (no service manager needed), then wait until it accepts connections.
    status="$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}')"
    if [ "$status" != "online" ]; then
        echo "postgres.sh: starting cluster $version/main" >&2
        "${sudo_cmd[@]}" pg_ctlcluster "$version" main start >&2
    fi
    as_postgres() {
        if [ "$(id -u)" -eq 0 ]; then
            runuser -u postgres -- "$@"
        else
            sudo -u postgres "$@"
        fi
    }
    for _ in $(seq 1 60); do
        if as_postgres pg_isready -q -h 127.0.0.1 -p "$port"; then
            break
        fi
        sleep 0.5
    done
    as_postgres pg_isready -q -h 127.0.0.1 -p "$port" || {
        echo "postgres.sh: PostgreSQL did not start; see /var/log/postgresql/" >&2
        exit 1
    }

    # 4. Role and database (created once; the password and the role's attributes are
    #    reset every run, so an older set-up gets CREATEROLE too).
    psql_cmd=(psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres)
    attributes="LOGIN CREATEDB CREATEROLE NOSUPERUSER NOBYPASSRLS"
    if [ "$(as_postgres "${psql_cmd[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != "1" ]; then
        as_postgres "${psql_cmd[@]}" -c "CREATE ROLE \"$user\" $attributes PASSWORD '$password'"
    else
        as_postgres "${psql_cmd[@]}" -c "ALTER ROLE \"$user\" $attributes PASSWORD '$password'"
    fi
    if [ "$(as_postgres "${psql_cmd[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
        as_postgres "${psql_cmd[@]}" -c "CREATE DATABASE \"$db\" OWNER \"$user\""
    fi

    echo "postgresql+psycopg://$user:$password@127.0.0.1:$port/$db"
)

if _trialdata_pg_url="$(_trialdata_pg_setup)"; then
    export TRIALDATA_TEST_PG_URL="$_trialdata_pg_url"
    echo "export TRIALDATA_TEST_PG_URL=$TRIALDATA_TEST_PG_URL"
    unset _trialdata_pg_url
else
    echo "postgres.sh: PostgreSQL setup failed" >&2
    unset _trialdata_pg_url
    # 'return' when sourced, 'exit' when executed.
    return 1 2>/dev/null || exit 1
fi
