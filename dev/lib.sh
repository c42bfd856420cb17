# Shared settings and helpers of the dev/ scripts. Source it; do not run it.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${CRM_EXTENDED_STATE:-$ROOT/.dev}
VENV=${VENV:-$ROOT/.venv}
ODOO_SRC=${ODOO_SRC:-$HOME/.local/share/crm_extended/odoo-18.0}
ODOO_BRANCH=18.0
ODOO_REPO_URL=https://github.com/odoo/odoo.git
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
ODOO_CONF=$STATE/odoo.conf
HTTP_PORT=${HTTP_PORT:-8069}

# Database server. Any standard PG* variable selects an existing server; otherwise the
# project runs its own cluster under $STATE/pg, started and stopped by these scripts.
# CRM_EXTENDED_PG_PRIVATE tells the scripts a parent script started that the PG* variables
# are the private cluster's, set below.
if [ -z "${CRM_EXTENDED_PG_PRIVATE:-}" ] && [ -n "${PGHOST:-}${PGPORT:-}${PGUSER:-}${PGPASSWORD:-}" ]; then
    PG_PRIVATE=0
else
    PG_PRIVATE=1
    export CRM_EXTENDED_PG_PRIVATE=1
    PG_BASE=$STATE/pg
    # As root the cluster belongs to the "postgres" user (see pg_owner): when that user
    # cannot reach the checkout (a home folder closed to others), the cluster lives in
    # /var/tmp under a name derived from the checkout's path instead.
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 &&
        ! runuser -u postgres -- test -x "$(dirname "$STATE")" 2>/dev/null; then
        PG_BASE=/var/tmp/crm_extended-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
    fi
    PG_DATA=$PG_BASE/data
    PG_RUN=$PG_BASE/run
    PG_LOG=$PG_BASE/server.log
    export PGHOST=$PG_RUN PGPORT=5432 PGUSER=odoo
fi
export PGDATABASE=${PGDATABASE:-postgres}

log() { printf '\033[1m[crm_extended]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[crm_extended] %s\033[0m\n' "$*" >&2; exit 1; }

# Run a command with root rights (directly as root, else through sudo).
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "Needs root to run: $* (install it by hand, or run as root)"
    fi
}

# The PostgreSQL server binaries (Debian keeps them off PATH).
pg_bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/pg_ctl" ] && echo "$d" && return 0
    done
    command -v pg_ctl >/dev/null && dirname "$(command -v pg_ctl)" && return 0
    return 1
}

# PostgreSQL refuses to run as root: the private cluster then belongs to the "postgres"
# system user that Debian's server package creates.
pg_owner() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }
as_pg_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { "$(pg_bindir)/pg_isready" -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }

# PostgreSQL client programs (psql, dropdb, ...): the server's, else those on PATH.
pg_client() {
    local bin
    bin=$(pg_bindir 2>/dev/null)/$1
    shift
    [ -x "$bin" ] || bin=$(basename "$bin")
    "$bin" "$@"
}

db_exists() { [ "$(pg_client psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]; }

# Start the project's private cluster if it is not running (no-op for an external server).
pg_start() {
    [ "$PG_PRIVATE" = 1 ] || return 0
    pg_running && return 0
    local bin
    bin=$(pg_bindir) || die "PostgreSQL server is not installed: run dev/setup"
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        log "creating the private PostgreSQL cluster in $PG_DATA"
        mkdir -p "$PG_DATA" "$PG_RUN"
        chown "$(pg_owner)" "$PG_BASE" "$PG_DATA" "$PG_RUN"
        chmod 700 "$PG_DATA"
        as_pg_owner test -w "$PG_DATA" ||
            die "user $(pg_owner) cannot write $PG_DATA: its parent folders must be searchable by it (or set CRM_EXTENDED_STATE)"
        as_pg_owner "$bin/initdb" -D "$PG_DATA" -U odoo --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$PG_DATA/postgresql.conf" <<EOF
# crm_extended private cluster: unix socket only, tuned for a developer machine
listen_addresses = ''
unix_socket_directories = '$PG_RUN'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 512MB
max_connections = 200
EOF
    fi
    mkdir -p "$PG_RUN" && chown "$(pg_owner)" "$PG_RUN"
    as_pg_owner "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null ||
        die "PostgreSQL did not start; see $PG_LOG"
}

pg_stop() {
    [ "$PG_PRIVATE" = 1 ] || return 0
    pg_running || return 0
    as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
}

# The addons path: this repository (crm_extended) and Odoo's own addons. A git checkout of
# the official repository keeps its add-ons (crm, sale, ...) in $ODOO_SRC/addons and only
# base in $ODOO_SRC/odoo/addons; the nightly and packaged trees have them all under
# odoo/addons. Both are listed when the first holds add-ons. OCA add-ons installed as
# wheels live in the virtualenv's odoo/addons, which Odoo finds by itself.
addons_path() {
    local path=$ROOT
    if compgen -G "$ODOO_SRC/addons/*/__manifest__.py" >/dev/null; then
        path+=",$ODOO_SRC/addons"
    fi
    echo "$path,$ODOO_SRC/odoo/addons"
}

write_odoo_conf() {
    mkdir -p "$STATE/data"
    local db_host=${PGHOST:-} tmp
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
[options]
addons_path = $(addons_path)
data_dir = $STATE/data
db_host = $db_host
db_port = ${PGPORT:-5432}
db_user = ${PGUSER:-odoo}
db_password = ${PGPASSWORD:-False}
http_port = $HTTP_PORT
admin_passwd = admin
list_db = True
without_demo = False
EOF
    cmp -s "$tmp" "$ODOO_CONF" 2>/dev/null && rm -f "$tmp" || mv "$tmp" "$ODOO_CONF"
}

# A stamp records the inputs a set-up step was done for; the step is skipped while they match.
stamp_ok() { [ -f "$STATE/stamps/$1" ] && [ "$(cat "$STATE/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$STATE/stamps" && printf '%s' "$2" >"$STATE/stamps/$1"; }
files_hash() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
