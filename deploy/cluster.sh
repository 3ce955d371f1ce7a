#!/usr/bin/env bash
# Several `flasky runserver` processes (production config) behind nginx, on this machine:
#
#   DATABASE_URI=postgresql://... deploy/cluster.sh [--apps N] FLASKY_BIN [COMMAND [ARGS...]]
#
# creates the tables once, starts N app processes (default 2) on free 127.0.0.1 ports, all with
# one generated SECRET_KEY (a session cookie signed by one must verify on the others), then
# nginx (Debian's) as a foreground process with a config generated from nginx.conf.template in
# a temp dir: it serves /static itself and proxies the rest to the apps. Then it runs COMMAND
# with NGINX_URL, APP_URLS and APP_PIDS (the last two space-separated) exported and exits with
# its status; without a command it waits until Ctrl-C. Everything it started is stopped and the
# temp dir removed on exit, failure or Ctrl-C.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
apps=2
if [[ ${1:-} == --apps ]]; then
    apps=$2
    shift 2
fi
[[ $# -ge 1 ]] || {
    echo "usage: DATABASE_URI=... $0 [--apps N] FLASKY_BIN [COMMAND ...]" >&2
    exit 2
}
flasky=$1
shift
[[ -x "$flasky" ]] || {
    echo "cluster.sh: $flasky is not an executable; build it (cmake --build build --target flasky_manage)" >&2
    exit 2
}
[[ -n "${DATABASE_URI:-}" ]] || {
    echo "cluster.sh: set DATABASE_URI (e.g. run under tests/postgres/throwaway.sh)" >&2
    exit 2
}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$nginx" ]] || {
    echo "cluster.sh: nginx is not installed (apt-get install nginx; ./workbook installs it)" >&2
    exit 2
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/workbook-deploy.XXXXXX")
pids=()
child=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local p
    for p in $child "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    [[ -z "$child" ]] || wait "$child" 2>/dev/null || true
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for_port() {  # port pid name log
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "cluster.sh: $3 exited before listening on port $1:" >&2
            cat "$4" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "cluster.sh: $3 did not listen on port $1 within 10 s" >&2
    return 1
}

# ANCHOR: processes
# Production refuses the default secret; every process must sign with the same one.
export SECRET_KEY=${SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export FLASKY_CONFIG=production

# The tables once, before any server: two processes racing through create_all() would both
# see no table and the second CREATE TABLE would fail.
"$flasky" db create >"$dir/db-create.log" 2>&1 || {
    echo "cluster.sh: flasky db create failed:" >&2
    cat "$dir/db-create.log" >&2
    exit 1
}

upstreams=""
app_urls=""
for i in $(seq 1 "$apps"); do
    port=$(free_port)
    # Two event loops each: N processes share the machine's cores with nginx and PostgreSQL.
    "$flasky" runserver --host 127.0.0.1 --port "$port" --threads 2 >"$dir/app$i.log" 2>&1 &
    pids+=($!)
    wait_for_port "$port" "$!" "app $i" "$dir/app$i.log"
    upstreams+="server 127.0.0.1:$port max_fails=0; "
    app_urls+="${app_urls:+ }http://127.0.0.1:$port"
done
# ANCHOR_END: processes

nginx_port=$(free_port)
mkdir -p "$dir/nginx"
sed -e "s|@DIR@|$dir/nginx|g" -e "s|@PORT@|$nginx_port|g" -e "s|@UPSTREAMS@|$upstreams|" \
    "$here/nginx.conf.template" >"$dir/nginx/nginx.conf"
as_worker=()
if [[ $(id -u) == 0 ]]; then
    # Not as root: nginx runs wholly as Debian's web-server user, which owns the run directory.
    chmod 755 "$dir"
    chown -R www-data: "$dir/nginx"
    as_worker=(runuser -u www-data --)
fi
"${as_worker[@]}" "$nginx" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" \
    -g 'daemon off;' >"$dir/nginx/stdout.log" 2>&1 &
pids+=($!)
wait_for_port "$nginx_port" "$!" nginx "$dir/nginx/error.log"

export NGINX_URL="http://127.0.0.1:$nginx_port" APP_URLS=$app_urls DEPLOY_DIR=$dir
export APP_PIDS="${pids[*]:0:$apps}"
echo "cluster: nginx $NGINX_URL -> $apps flasky processes ($APP_URLS), database $(
    sed -E 's|//([^:@/]*):[^@/]*@|//\1:***@|' <<<"$DATABASE_URI")"

if [[ $# -eq 0 ]]; then
    echo "Ctrl-C stops nginx, the app processes and the database"
    wait "${pids[@]}"
else
    "$@" <&0 &  # waited for in the background, so that a TERM runs the trap at once
    child=$!
    wait "$child"
fi
