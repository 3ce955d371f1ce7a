#!/usr/bin/env bash
# A throwaway PostgreSQL: a fresh cluster in a temp dir, on a free 127.0.0.1 port and a unix
# socket inside the same dir, with one database; removed again when the command ends, fails
# or is interrupted.
#
#   tests/postgres/throwaway.sh COMMAND [ARGS...]
#
# runs COMMAND with DATABASE_URI and WORKBOOK_TEST_DATABASE_URI set to
# postgresql://flasky:<random password>@127.0.0.1:<port>/flasky (and PG_SOCKET_URI to the
# socket form postgresql:///flasky?host=<dir>&user=flasky...), and exits with its status.
# Without a command it prints the URI and waits until Ctrl-C.
#
# initdb refuses to run as root, so under root the server runs as the `postgres` system user
# that Debian's postgresql package creates (runuser); the client side stays with the caller.
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
    echo "throwaway.sh: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin;" \
        "install the Debian package postgresql (./workbook installs it)" >&2
    exit 2
fi

as_server=()
if [[ $(id -u) == 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "throwaway.sh: running as root needs the postgres system user" \
            "(created by the Debian package postgresql)" >&2
        exit 2
    fi
    as_server=(runuser -u postgres --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/workbook-pg.XXXXXX")
pid=""
child=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$child" ]]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    # Asked of pg_ctl, not of $pid: a server restarted meanwhile (pg_ctl restart) is no child
    # of this script, and its data directory must not be removed under it.
    if [[ -n "$pid" ]] && "${as_server[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # fast shutdown: roll back open transactions, disconnect clients, stop
        "${as_server[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
            kill "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ ${#as_server[@]} -gt 0 ]] && chown postgres: "$dir"
chmod 700 "$dir"

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$password" >"$dir/pwfile"
[[ ${#as_server[@]} -gt 0 ]] && chown postgres: "$dir/pwfile"

if ! "${as_server[@]}" "$PG_BIN/initdb" -D "$dir/data" -U flasky --pwfile="$dir/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    echo "throwaway.sh: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
fi
rm -f "$dir/pwfile"

# A free loopback port: bind port 0 and read what the kernel chose (a race with another
# program taking it before the server does is possible but rare; the start then fails loudly).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# fsync off: a test cluster need not survive a power cut, and it makes create/drop fast.
"${as_server[@]}" "$PG_BIN/postgres" -D "$dir/data" -c listen_addresses=127.0.0.1 -p "$port" \
    -c unix_socket_directories="$dir" -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off >"$dir/server.log" 2>&1 &
pid=$!

export PGPASSWORD=$password
for _ in $(seq 1 100); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "throwaway.sh: the server did not start:" >&2
        cat "$dir/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
"$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U flasky flasky
unset PGPASSWORD

uri="postgresql://flasky:$password@127.0.0.1:$port/flasky"
export DATABASE_URI=$uri WORKBOOK_TEST_DATABASE_URI=$uri
export PG_SOCKET_URI="postgresql:///flasky?host=$dir&port=$port&user=flasky&password=$password"
export PG_THROWAWAY_DIR=$dir

if [[ $# -eq 0 ]]; then
    echo "$uri"
    echo "(socket: $PG_SOCKET_URI)"
    echo "Ctrl-C stops the server and removes $dir"
    wait "$pid"
else
    # In the background, waited for: bash runs a trap only once the foreground command ends,
    # so a TERM to this script (kill, a CI cancel) would otherwise stop nothing until then.
    "$@" <&0 &
    child=$!
    wait "$child"
fi
