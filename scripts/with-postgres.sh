#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster.
#
# Usage: scripts/with-postgres.sh CMD [ARGS...]
#
# Creates a fresh cluster in a temp dir, exports
# DATABASE_URL=postgres://postgres@127.0.0.1:PORT/portal, runs CMD, then
# always stops the cluster and deletes the temp dir (also on failure/Ctrl-C).
# Exits with CMD's status.
set -euo pipefail

if (($# == 0)); then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

log() { echo "with-postgres: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# --- Find the server binaries ------------------------------------------------
# pg_config may come from libpq-dev alone (no server), so check for initdb.
bindir=""
if candidate=$(pg_config --bindir 2>/dev/null) && [[ -x "$candidate/initdb" ]]; then
    bindir=$candidate
else
    # Debian keeps servers out of PATH; take the newest major version.
    newest=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true)
    if [[ -n "$newest" ]]; then
        bindir=$(dirname "$newest")
    elif candidate=$(command -v initdb 2>/dev/null); then
        # Non-Debian installs (Homebrew, Postgres.app...) put initdb on PATH.
        bindir=$(dirname "$(readlink -f "$candidate")")
    fi
fi
[[ -n "$bindir" ]] || die "no PostgreSQL server found (initdb); run scripts/system-deps.sh --with-postgres"
# "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)" -> "15.14"
version=$("$bindir/postgres" --version | sed -E 's/^[^0-9]*([0-9][0-9.]*).*/\1/')

# --- Who runs the server -----------------------------------------------------
# PostgreSQL refuses to run as root, so as root use the `postgres` system user.
if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' system user to run the server as"
    command -v runuser >/dev/null 2>&1 || die "running as root but runuser is missing"
    pg_owner=postgres
    # cd into the temp dir first: postgres may not be able to read our cwd.
    as_pg() { (cd "$tmpdir" && runuser -u postgres -- "$@"); }
else
    pg_owner=$(id -un)
    as_pg() { (cd "$tmpdir" && "$@"); }
fi

# --- Cleanup (installed before anything is created) --------------------------
tmpdir=""
port=""
started=0
# shellcheck disable=SC2317  # invoked via trap, not unreachable
cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM HUP
    # Check the pid file, not just $started: Ctrl-C can land while pg_ctl is
    # still waiting for a server that is already running (detached from us).
    if [[ -n "$tmpdir" && -f "$tmpdir/data/postmaster.pid" ]]; then
        # Throwaway data: fast shutdown, and don't hang forever on it.
        as_pg "$bindir/pg_ctl" -D "$tmpdir/data" -m fast -t 30 stop >/dev/null 2>&1 ||
            as_pg "$bindir/pg_ctl" -D "$tmpdir/data" -m immediate stop >/dev/null 2>&1
        log "stopped PostgreSQL $version${port:+ on 127.0.0.1:$port}"
    fi
    if [[ -n "$tmpdir" && -d "$tmpdir" ]]; then
        rm -rf -- "$tmpdir"
    fi
    exit "$status"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap runs (128+signal number).
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Short path under /tmp: the unix socket path must stay under ~107 bytes.
tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/portal-pg.XXXXXX")
if ((EUID == 0)); then
    chown postgres: "$tmpdir"
    as_pg test -w "$tmpdir" || die "user postgres cannot write to $tmpdir (check permissions of its parent dirs)"
fi

# --- initdb ------------------------------------------------------------------
# C.UTF-8 gives sane collation for UTF-8 text; not every system has it, and
# plain C works with UTF8 encoding too.
locale_opt=--locale=C
if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
    locale_opt=--locale=C.UTF-8
fi
# --username=postgres: the bootstrap superuser is `postgres` whoever runs it;
# the test runner needs superuser rights to create test_portal.
if ! as_pg "$bindir/initdb" -D "$tmpdir/data" --username=postgres --auth=trust \
    --encoding=UTF8 "$locale_opt" --no-sync >"$tmpdir/initdb.log" 2>&1; then
    cat "$tmpdir/initdb.log" >&2
    die "initdb failed (see above)"
fi

# --- Start on a free port ------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Retry on the next port if we lose a race with another process for it.
for candidate in $(seq 54329 54428); do
    port_in_use "$candidate" && continue
    opts="-c listen_addresses=127.0.0.1 -c port=$candidate"
    opts+=" -c unix_socket_directories='$tmpdir'"
    # Throwaway cluster: durability is worthless, speed is not.
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if as_pg "$bindir/pg_ctl" -D "$tmpdir/data" -l "$tmpdir/server.log" \
        -o "$opts" -w -t 60 start >/dev/null 2>&1; then
        port=$candidate
        started=1
        break
    fi
    if ! grep -qiE 'could not (bind|create listen socket)|address already in use' "$tmpdir/server.log" 2>/dev/null; then
        cat "$tmpdir/server.log" >&2 2>/dev/null || true
        die "PostgreSQL failed to start (server log above)"
    fi
    : >"$tmpdir/server.log"
done
((started)) || die "no free port found in 54329-54428"

"$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres portal ||
    die "could not create database portal"

log "started PostgreSQL $version on 127.0.0.1:$port (run as $pg_owner, data in $tmpdir)"

export DATABASE_URL="postgres://postgres@127.0.0.1:$port/portal"

# Run in the foreground (keeps stdin/tty for interactive commands); capture the
# status instead of letting set -e exit, so it is what we return.
status=0
"$@" || status=$?
exit "$status"
