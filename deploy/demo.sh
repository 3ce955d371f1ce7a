#!/usr/bin/env bash
# The name form through nginx, with curl (run by deploy/cluster.sh, which sets NGINX_URL and
# APP_URLS). Shows nginx serving /static itself, requests alternating between the processes,
# and a session cookie signed by one process honoured by the other.
#
#   deploy/demo.sh [--wait]     --wait: afterwards keep everything running until Ctrl-C
set -euo pipefail

: "${NGINX_URL:?run me through deploy/cluster.sh}" "${APP_URLS:?run me through deploy/cluster.sh}"
read -r -a apps <<<"$APP_URLS"
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# The page's greeting lines, without the HTML around them.
greeting() { grep -oE 'Hello, [^<]*!|Pleased to meet you!|Happy to see you again!' | paste -sd ' '; }
upstream() { grep -i '^x-upstream:' | tr -d '\r' | cut -d' ' -f2; }

say "1. nginx serves Debian's static files itself (no app process is asked):"
curl -sS -o /dev/null -D - "$NGINX_URL/static/bootstrap4/css/bootstrap.min.css" |
    grep -iE '^(HTTP|server|content-type|x-upstream)' | tr -d '\r' | sed 's/^/   /'
echo "   (no X-Upstream header: the file came from /usr/share/javascript)"
echo "   every script and stylesheet of the page, through nginx:"
for path in $(curl -sS "$NGINX_URL/" | grep -oE '(src|href)="/static/[^"]+"' | sed -E 's/.*="(.*)"/\1/'); do
    head=$(curl -sS -o /dev/null -D - "$NGINX_URL$path")
    status=$(head -1 <<<"$head" | cut -d' ' -f2)
    from=$(upstream <<<"$head" || true)
    echo "   $status $path (${from:+made by the app at }${from:-a file nginx served})"
    [[ $status == 200 ]] || {
        echo "demo: the page's $path is $status through nginx" >&2
        exit 1
    }
done

say "2. GET / through nginx, four times: round robin over the processes"
for _ in 1 2 3 4; do
    echo "   answered by $(curl -sS -o /dev/null -D - "$NGINX_URL/" | upstream)"
done

say "3. The name form: GET / (session cookie + CSRF token), POST name=Ann, follow the redirect"
page=$(curl -sS -c "$jar" -b "$jar" -D "$jar.h" "$NGINX_URL/")
echo "   GET  / answered by $(upstream <"$jar.h"): $(greeting <<<"$page")"
token=$(grep -oE 'name="csrf_token"[^>]*value="[^"]+"' <<<"$page" | sed -E 's/.*value="([^"]+)"/\1/')
[[ -n "$token" ]] || {
    echo "demo: no CSRF token on the page" >&2
    exit 1
}
name="Ann-$$"
status=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" -D "$jar.h" \
    --data-urlencode "name=$name" --data-urlencode "csrf_token=$token" "$NGINX_URL/")
echo "   POST / answered by $(upstream <"$jar.h"): HTTP $status (redirect to /; the CSRF token came from the GET)"
page=$(curl -sS -c "$jar" -b "$jar" -D "$jar.h" "$NGINX_URL/")
echo "   GET  / answered by $(upstream <"$jar.h"): $(greeting <<<"$page")"
rm -f "$jar.h"

say "4. The same cookie, sent to each process directly (bypassing nginx):"
ok=1
for app in "${apps[@]}"; do
    g=$(curl -sS -b "$jar" "$app/" | greeting)
    echo "   $app: $g"
    [[ $g == *"Hello, $name!"* ]] || ok=0
done
if [[ $ok == 1 ]]; then
    echo "   every process honours the session another one signed: one SECRET_KEY, no shared store"
else
    echo "demo: a process did not recognise the session cookie" >&2
    exit 1
fi

say "5. The row is in PostgreSQL, once:"
if command -v psql >/dev/null; then
    psql "$DATABASE_URI" -tAc "SELECT id, username FROM users WHERE username = '$name'" | sed 's/^/   /'
fi

if [[ ${1:-} == --wait ]]; then
    say "Open $NGINX_URL in a browser. Ctrl-C stops nginx, the apps and PostgreSQL."
    rm -f "$jar"
    exec sleep infinity  # a TERM or Ctrl-C ends it, and cluster.sh stops the rest
fi
