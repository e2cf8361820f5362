#!/usr/bin/env bash
# Ensure the Debian packages this project needs are installed.
#
# Usage: scripts/system-deps.sh [--with-postgres] [--with-browser] [--with-bench]
#
# --with-bench adds the load generator `wrk` for bench/pages_load.py.
#
# Runs before every `make run` / `make test`, so the happy path must be fast
# and silent: only dpkg-query checks, no apt-get update unless something is
# actually missing.
set -euo pipefail

usage() {
    echo "usage: $0 [--with-postgres] [--with-browser] [--with-bench]" >&2
    exit 2
}

with_postgres=0
with_browser=0
with_bench=0
for arg in "$@"; do
    case "$arg" in
        --with-postgres) with_postgres=1 ;;
        --with-browser) with_browser=1 ;;
        --with-bench) with_bench=1 ;;
        -h | --help) usage ;;
        *)
            echo "system-deps: unknown option: $arg" >&2
            usage
            ;;
    esac
done

# WeasyPrint needs Pango/HarfBuzz at runtime; Noto CJK so PDFs can render CJK
# text instead of tofu boxes.
wanted=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
# msgfmt compiles the committed translation catalogues (locale/*.po) at set-up.
wanted+=(gettext)

# python3-venv only matters if the interpreter can't build venvs by itself
# (e.g. a pyenv/uv-managed Python already can, Debian's stock one can't).
if ! python3 -I -c 'import ensurepip, venv' >/dev/null 2>&1; then
    wanted+=(python3-venv)
fi

# Any initdb will do for scripts/with-postgres.sh; don't insist on the
# Debian `postgresql` package if a server is already there some other way.
have_initdb() {
    local bindir
    if bindir=$(pg_config --bindir 2>/dev/null) && [[ -x "$bindir/initdb" ]]; then
        return 0
    fi
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
if ((with_postgres)) && ! have_initdb; then
    wanted+=(postgresql)
fi

# Browser tests drive Debian's chromium at this fixed path.
if ((with_browser)) && [[ ! -x /usr/bin/chromium ]]; then
    wanted+=(chromium)
fi

# bench/pages_load.py drives gunicorn with wrk from loopback.
if ((with_bench)); then
    wanted+=(wrk)
fi

# Not Debian/Ubuntu: we can't check or install, so just say what we'd want.
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system-deps: warning: no dpkg on this machine; make sure the equivalents of these Debian packages are installed: ${wanted[*]}" >&2
    exit 0
fi

missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    # "install ok installed" normally; "hold ok installed" is installed too.
    if [[ "$status" != *" ok installed"* ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

if ((EUID != 0)); then
    {
        echo "system-deps: missing Debian packages: ${missing[*]}"
        echo "Install them with:"
        echo
        echo "sudo apt-get install -y ${missing[*]}"
        echo
    } >&2
    exit 1
fi

echo "system-deps: installing missing Debian packages: ${missing[*]}" >&2
# Wait for a concurrent apt/dpkg (e.g. unattended-upgrades) instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=120)
apt-get "${apt_opts[@]}" update
DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"
