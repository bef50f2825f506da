#!/bin/sh
# Entrypoint of the CI-only harness image (see README.md). Runs under busybox
# sh as uid 999, so there is no privilege dropping to do.
#
# Mirrors the environment contract of the official postgres image, which is
# what testcontainers' PostgresContainer relies on:
#   POSTGRES_PASSWORD  required on first start
#   POSTGRES_USER      superuser name, default "postgres"
#   POSTGRES_DB        database to create, default = POSTGRES_USER
#   PGDATA             default /var/lib/postgresql/data
#   POSTGRES_INITDB_ARGS  extra initdb arguments (word-split)
set -eu

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

# Like the official image: no arguments or only options means "run the server".
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "entrypoint: POSTGRES_PASSWORD must be set to initialise $PGDATA" >&2
        exit 1
    fi

    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"

    # --pwfile keeps the password off the command line (and out of `ps`).
    umask 077
    pwfile=$(mktemp)
    trap 'rm -f "$pwfile"' EXIT
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"

    # The image has no locale data, so only the C locale is usable; UTF8 is
    # set explicitly because C would otherwise imply SQL_ASCII.
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is meant to be split
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" \
        --auth-host=scram-sha-256 --auth-local=trust \
        --encoding=UTF8 --locale=C ${POSTGRES_INITDB_ARGS:-}
    rm -f "$pwfile"
    trap - EXIT
    umask 022

    # Clients come in through docker's port mapping, i.e. from the bridge
    # network, not from localhost.
    printf '\nlisten_addresses = '"'*'"'\n' >>"$PGDATA/postgresql.conf"
    printf '%s\n' \
        'host all all 0.0.0.0/0 scram-sha-256' \
        'host all all ::/0 scram-sha-256' >>"$PGDATA/pg_hba.conf"

    # Single-user mode instead of a temporary server: nothing listens on TCP
    # until the real server starts, so a readiness probe can't hit a
    # half-initialised cluster, and "ready to accept connections" is logged
    # only once. Single-user mode exits 0 even on SQL errors, hence the grep.
    if [ "$POSTGRES_DB" != postgres ]; then
        db_ident=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
        out=$(printf 'CREATE DATABASE "%s";\n' "$db_ident" |
            postgres --single -D "$PGDATA" postgres 2>&1 >/dev/null)
        if [ -n "$out" ]; then printf '%s\n' "$out" >&2; fi
        case "$out" in
        *ERROR:*)
            echo "entrypoint: could not create database $POSTGRES_DB" >&2
            exit 1
            ;;
        esac
    fi
fi

# exec so postgres is PID 1 and receives docker's stop signal directly.
exec "$@"
