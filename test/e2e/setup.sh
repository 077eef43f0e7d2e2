#!/usr/bin/env bash
# Prepares everything the end-to-end suite needs to run the extension in a real
# VS Code (code-server, driven by Chromium through playwright-core):
#   - Debian packages: chromium, libkrb5-dev, ripgrep, pkg-config (+ a C/C++
#     toolchain and python3 for the native modules, when missing)
#   - code-server@4.100.3 (= VS Code 1.100.3, the newest release that runs on
#     Node 20), installed from the npm registry into a cache folder outside the
#     repository, keyed by version.
#
# Idempotent: every step is skipped when already done, so a warm run takes
# seconds. The last line printed on stdout is the path of the code-server
# binary; everything else goes to stderr.
#
# Environment:
#   JIT_E2E_CACHE        cache root (default: $HOME/.cache/jit-explorer-e2e)
#   JIT_E2E_SKIP_APT=1   do not touch Debian packages
#   JIT_E2E_FORCE=1      reinstall code-server even if the cache is complete
set -euo pipefail

CS_VERSION=4.100.3
RG_PKG_VERSION=1.15.11   # @vscode/ripgrep version pinned by code-server 4.100.3
RG_RELEASE=v13.0.0-10    # ripgrep-prebuilt release that @vscode/ripgrep fetches

CACHE_ROOT="${JIT_E2E_CACHE:-${HOME:?HOME is not set}/.cache/jit-explorer-e2e}"
DEST="$CACHE_ROOT/code-server-$CS_VERSION"
BIN="$DEST/bin/code-server"
MARKER="$DEST/.install-complete"
LOG="$CACHE_ROOT/code-server-$CS_VERSION-install.log"

log() { printf '[e2e-setup] %s\n' "$*" >&2; }
die() { printf '[e2e-setup] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# ---------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------
is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

ensure_apt_packages() {
  if [ "${JIT_E2E_SKIP_APT:-}" = 1 ]; then
    log "JIT_E2E_SKIP_APT=1: not checking Debian packages"
    return
  fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "dpkg-query not found (not Debian?): skipping system packages"
    return
  fi
  local wanted=(chromium libkrb5-dev ripgrep pkg-config)
  command -v make >/dev/null 2>&1 || wanted+=(make)
  command -v g++ >/dev/null 2>&1 || wanted+=(g++)
  command -v python3 >/dev/null 2>&1 || wanted+=(python3)
  # Without any font the workbench renders empty boxes in screenshots.
  if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list 2>/dev/null | head -n 1)" ]; then
    wanted+=(fonts-dejavu-core)
  fi

  local missing=()
  local p
  for p in "${wanted[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages present: ${wanted[*]}"
    return
  fi

  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Only refresh the package lists when an install from the current lists fails
  # (fresh containers ship without lists).
  if ! as_root apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    log "apt-get update (package lists missing or stale)"
    as_root apt-get update >&2
    as_root apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
}

# ---------------------------------------------------------------------------
# 2. code-server from the npm registry
# ---------------------------------------------------------------------------
node_major() { node -p 'process.versions.node.split(".")[0]'; }

# Checks that the postinstall really ran: the server's native modules are built
# and load, ripgrep is in place, and the binary answers --version.
verify_install() {
  local root="$1"
  local vs="$root/node_modules/code-server/lib/vscode"
  [ -x "$root/bin/code-server" ] || { log "missing $root/bin/code-server"; return 1; }
  [ -e "$vs/node_modules.asar" ] || { log "missing $vs/node_modules.asar (postinstall did not run)"; return 1; }
  [ -x "$vs/node_modules/@vscode/ripgrep/bin/rg" ] || { log "missing ripgrep in $vs/node_modules/@vscode/ripgrep/bin"; return 1; }
  [ -d "$vs/extensions/node_modules/typescript" ] || { log "built-in extensions' dependencies missing"; return 1; }
  (cd "$vs" && node -e '
    for (const m of ["kerberos", "node-pty", "@vscode/spdlog", "@parcel/watcher", "native-watchdog", "@vscode/deviceid"]) {
      try { require(m); } catch (e) { console.error("cannot load " + m + ": " + e.message); process.exit(1); }
    }') >&2 || return 1
  # (--config: keep it from writing a default config file into ~/.config)
  local out
  out="$("$root/bin/code-server" --config "$root/.verify-config.yaml" --version 2>&1)" || {
    log "code-server --version failed: $out"; return 1; }
  rm -f "$root/.verify-config.yaml"
  printf '%s\n' "$out" | grep -q "^$CS_VERSION " || { log "unexpected code-server --version output: $out"; return 1; }
}

install_code_server() {
  [ "$(node_major)" = 20 ] || die "code-server $CS_VERSION needs Node 20; found $(node --version)"
  command -v rg >/dev/null 2>&1 || die "ripgrep (rg) not found; install the Debian package 'ripgrep'"

  local stage="$CACHE_ROOT/.stage-$CS_VERSION-$$"
  local tmp="$stage.tmp"
  rm -rf "$stage" "$tmp"
  mkdir -p "$stage" "$tmp"
  trap 'rm -rf "$stage" "$tmp"' EXIT

  # @vscode/ripgrep downloads a release asset from GitHub unless it finds it in
  # its cache ($TMPDIR/vscode-ripgrep-cache-<version>/): seed that cache with
  # Debian's rg so the install works with only the npm registry reachable.
  local arch target
  arch="$(uname -m)"
  case "$arch" in
    x86_64) target=x86_64-unknown-linux-musl ;;
    aarch64 | arm64) target=aarch64-unknown-linux-musl ;;
    *) die "unsupported architecture for the ripgrep seed: $arch" ;;
  esac
  local rgcache="$tmp/vscode-ripgrep-cache-$RG_PKG_VERSION"
  mkdir -p "$rgcache/rgseed"
  cp "$(command -v rg)" "$rgcache/rgseed/rg"
  tar -czf "$rgcache/ripgrep-$RG_RELEASE-$target.tar.gz" -C "$rgcache/rgseed" rg
  rm -rf "$rgcache/rgseed"

  # npm 11 skips dependency install scripts unless they are allowed, and
  # code-server's postinstall runs nested project-scoped `npm install`s (for
  # VS Code's server and its built-in extensions) that build native modules.
  # An allow-list does not work here: npm exports it to the postinstall's
  # environment as npm_config_allow_scripts, and the nested installs then fail
  # with EALLOWSCRIPTS ("--allow-scripts is not allowed in project-scoped
  # installs"). So allow all install scripts, for this install only; the
  # dependency trees are pinned by code-server's npm-shrinkwrap.json files.
  # (npm versions without the setting ignore it and run the scripts anyway.)
  printf '{ "name": "jit-explorer-e2e-code-server", "private": true }\n' >"$stage/package.json"

  log "installing code-server@$CS_VERSION into $DEST (takes a few minutes; log: $LOG)"
  local start=$SECONDS
  if ! (
    cd "$stage"
    # unsafe_perm: code-server's postinstall refuses to run as root without it.
    # yes: a nested `npx node-gyp` would otherwise stop at a prompt.
    # Not `npm install -g`: the -g would be exported to the nested installs.
    TMPDIR="$tmp" \
    npm_config_dangerously_allow_all_scripts=true \
    npm_config_unsafe_perm=true \
    npm_config_yes=true \
    npm_config_ignore_scripts=false \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false \
      npm install --no-save --foreground-scripts "code-server@$CS_VERSION"
  ) >"$LOG" 2>&1; then
    tail -n 60 "$LOG" >&2 || true
    die "npm install code-server@$CS_VERSION failed (full log: $LOG)"
  fi
  if grep -q 'not yet covered by allowScripts\|install scripts were skipped' "$LOG"; then
    log "warning: npm reported skipped install scripts:"
    grep -A12 'not yet covered by allowScripts\|install scripts were skipped' "$LOG" >&2 || true
  fi

  mkdir -p "$stage/bin"
  ln -sfn ../node_modules/code-server/out/node/entry.js "$stage/bin/code-server"
  verify_install "$stage" || die "code-server installed but incomplete (full log: $LOG)"

  rm -rf "$DEST"
  mv "$stage" "$DEST"
  verify_install "$DEST" || die "code-server does not work after moving it into $DEST"
  printf '%s\n' "$CS_VERSION" >"$MARKER"
  rm -rf "$tmp"
  trap - EXIT
  log "code-server@$CS_VERSION installed in $((SECONDS - start))s"
}

ensure_code_server() {
  mkdir -p "$CACHE_ROOT"
  # Serialise concurrent runs sharing the same cache.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE_ROOT/.lock-$CS_VERSION"
    flock 9
  fi
  if [ "${JIT_E2E_FORCE:-}" != 1 ] && [ -f "$MARKER" ] && [ -x "$BIN" ]; then
    log "code-server@$CS_VERSION already installed in $DEST"
    return
  fi
  install_code_server
}

ensure_apt_packages
ensure_code_server
[ -x /usr/bin/chromium ] || log "warning: /usr/bin/chromium not found"
printf '%s\n' "$BIN"
