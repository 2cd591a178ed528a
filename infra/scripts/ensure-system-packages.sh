#!/usr/bin/env bash
# Ensure the Debian packages the test suite needs are installed:
#   chromium, fonts-noto-cjk (e2e tests, PDF reports), pango (WeasyPrint), poppler-utils (PDF
#   checks in tests), redis-server (workers sharing state) and a PostgreSQL server (only if no
#   /usr/lib/postgresql/*/bin/initdb exists). Installs missing ones with apt-get when
#   running as root or with passwordless sudo; otherwise names them and exits 1.
# Prints a single "system packages: ok" line when nothing is missing.
set -euo pipefail

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

have_pg_server() {
    local f
    for f in /usr/lib/postgresql/*/bin/initdb; do
        [[ -x "$f" ]] && return 0
    done
    return 1
}

wanted=(chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 poppler-utils redis-server)
have_pg_server || wanted+=(postgresql)

missing=()
for pkg in "${wanted[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "system packages: ok"
    exit 0
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "error: missing system packages: ${missing[*]}" >&2
    echo "install them as root with:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "installing missing system packages: ${missing[*]}" >&2
apt_opts=(-o DPkg::Lock::Timeout=300)
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -q \
    --no-install-recommends "${missing[@]}"

still_missing=()
for pkg in "${missing[@]}"; do
    is_installed "$pkg" || still_missing+=("$pkg")
done
if ((${#still_missing[@]} > 0)); then
    echo "error: still missing after apt-get install: ${still_missing[*]}" >&2
    exit 1
fi
echo "system packages: ok (installed ${missing[*]})"
