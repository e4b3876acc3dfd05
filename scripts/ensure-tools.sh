# Installs what `npm start` and `npm test` need on a fresh Debian machine that has only
# Node and npm, and does nothing (quietly) when everything is already there.
# Sourced, not executed, so that a Bun installed here is on the caller's PATH.
#   ensure_tools            Bun, the locked dependencies, Caddy
#   ensure_tools chromium   the same plus Chromium (browser tests)
#   ensure_local_redis      redis-server, when REDIS_URL is local and nothing answers there

BUN_VERSION=1.4.5
_apt_updated=0

_say() { echo "[setup] $*" >&2; }

# Root with apt-get installs a missing Debian package; anyone else is told exactly what to run.
_apt_install() {
  local package=$1 why=$2
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    _say "$package is missing ($why). Install it, then run this again:"
    _say "  sudo apt-get update && sudo apt-get install -y $package"
    exit 1
  fi
  _say "installing $package ($why)…"
  if [ "$_apt_updated" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || { _say "apt-get update failed"; exit 1; }
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null || { _say "apt-get install $package failed"; exit 1; }
}

_require_command() {
  command -v "$1" >/dev/null 2>&1 || { _say "$1 is still not on PATH after installing it"; exit 1; }
}

_ensure_bun() {
  # npm's global bin folder is not always on PATH (e.g. a custom npm prefix).
  if ! command -v bun >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    PATH="$(npm prefix -g)/bin:$PATH"
  fi
  if ! command -v bun >/dev/null 2>&1; then
    if ! command -v npm >/dev/null 2>&1; then
      _say "Bun is missing and npm is not there to install it. Install Node.js and npm, or Bun $BUN_VERSION (https://bun.sh)."
      exit 1
    fi
    _say "installing bun@$BUN_VERSION with npm…"
    # npm warns about the package's install script; the binary it ships works regardless.
    npm install -g --no-fund --no-audit --loglevel=error "bun@$BUN_VERSION" >/dev/null || { _say "npm install -g bun@$BUN_VERSION failed"; exit 1; }
    hash -r
  fi
  local version
  version=$(bun --version 2>/dev/null) || { _say "bun is installed but does not run: $(command -v bun)"; exit 1; }
  if [ "$version" != "$BUN_VERSION" ]; then
    _say "note: bun $version found, the project is tested with $BUN_VERSION"
  fi
  export PATH
}

_ensure_dependencies() {
  local output
  if ! output=$(bun install --frozen-lockfile 2>&1); then
    echo "$output" >&2
    _say "bun install --frozen-lockfile failed (is bun.lock in sync with package.json?)"
    exit 1
  fi
}

_ensure_caddy() {
  command -v caddy >/dev/null 2>&1 && return
  _apt_install caddy "the reverse proxy in front of the services"
  _require_command caddy
  # Debian's package also starts a system-wide Caddy on :80 with its admin API on
  # localhost:2019, where ours wants to be. We only use the binary.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet caddy 2>/dev/null; then
    _say "stopping and disabling the caddy.service that the Debian package started (only the binary is used)"
    systemctl disable --now caddy >/dev/null 2>&1 || true
  fi
}

_ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 && return
  _apt_install chromium "browser tests"
  _require_command chromium
}

ensure_tools() {
  _ensure_bun
  _ensure_dependencies
  _ensure_caddy
  if [ "${1:-}" = chromium ]; then _ensure_chromium; fi
}

# `bun run dev` starts a redis-server itself when REDIS_URL is local and nothing answers,
# so on a fresh machine only the binary is needed. "Local" means the hosts of LOCAL_HOSTS
# in scripts/net.ts.
ensure_local_redis() {
  local url=${REDIS_URL:-redis://127.0.0.1:6379}
  [[ $url =~ ^rediss?://([^@/]*@)?(127\.0\.0\.1|localhost|\[::1\])(:([0-9]+))?(/|$) ]] || return 0
  local host=${BASH_REMATCH[2]} port=${BASH_REMATCH[4]:-6379}
  host=${host#\[}
  host=${host%\]}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
  command -v redis-server >/dev/null 2>&1 && return 0
  _apt_install redis-server "nothing answers at $url"
  _require_command redis-server
}
