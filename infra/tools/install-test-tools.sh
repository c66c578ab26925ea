#!/usr/bin/env bash
# Tools that the tests run and that npm does not bring:
#   - kcat, a Kafka client that is not ours: the savers' tests produce with it (every codec, bursts
#     of bad messages), the bad-event suite and the reliability faults too;
#   - Debian's chromium, which serving-api's browser test drives with puppeteer-core
#     (puppeteer-core downloads no browser; /usr/bin/chromium is the one it opens);
#   - schemathesis (PyPI), in a Python venv at <repo>/.cache/venv, which the fuzz test runs
#     against the API's OpenAPI document.
# Idempotent: what is already there (at the pinned version) is left alone, so running it again
# costs a second. Any failure exits non-zero with one line saying what is missing: the tests need
# these tools, so CI must stop here rather than skip them.
#
# Usage: infra/tools/install-test-tools.sh
# Environment:
#   LAMBDAMART_VENV   where the venv goes (default <repo>/.cache/venv)
# Installing chromium (and python3-venv where python3 lacks venv) needs root and apt-get.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${LAMBDAMART_VENV:-$ROOT/.cache/venv}"
SCHEMATHESIS_VERSION=4.32.5
CHROMIUM=/usr/bin/chromium

log() { printf 'test-tools: %s\n' "$*" >&2; }
die() {
  printf 'test-tools: error: %s\n' "$*" >&2
  exit 1
}
trap 'printf "test-tools: error: unexpected failure (exit %s) at %s:%s running: %s\n" "$?" "${BASH_SOURCE[0]}" "$LINENO" "$BASH_COMMAND" >&2' ERR

# apt-get update at most once per run, and only when something is to be installed.
apt_updated=0
apt_install() { # PACKAGE...
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand (this script expects Debian)"
  [[ $(id -u) -eq 0 ]] || die "installing $* needs root (apt-get); run this script as root or install them first"
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

# --- kcat ------------------------------------------------------------------------------------
if ! command -v kcat >/dev/null 2>&1; then
  apt_install kcat
  command -v kcat >/dev/null 2>&1 || die "kcat was installed but is not on PATH"
fi
log "kcat: $(kcat -V 2>/dev/null | head -n 1)"

# --- chromium --------------------------------------------------------------------------------
if [[ ! -x $CHROMIUM ]]; then
  apt_install chromium
  [[ -x $CHROMIUM ]] || die "chromium was installed but $CHROMIUM is missing"
fi
# A browser that cannot start fails here, not as a confusing timeout in the test.
"$CHROMIUM" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 ||
  die "$CHROMIUM does not start: $("$CHROMIUM" --headless --no-sandbox --version 2>&1 | tail -n 1)"
log "chromium: $("$CHROMIUM" --version 2>/dev/null)"

# --- schemathesis in a venv ------------------------------------------------------------------
installed_version() { "$VENV/bin/schemathesis" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1; }

if [[ "$(installed_version || true)" != "$SCHEMATHESIS_VERSION" ]]; then
  if [[ ! -x $VENV/bin/pip ]]; then
    # Debian's python3 has venv and ensurepip only with the python3-venv package.
    python=$(command -v python3 || true)
    if [[ -z $python ]] || ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      apt_install python3 python3-venv
      python=/usr/bin/python3
    fi
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    log "python venv at $VENV ($("$python" --version 2>&1))"
    "$python" -m venv "$VENV" || die "python3 -m venv $VENV failed"
  fi
  log "pip install schemathesis==$SCHEMATHESIS_VERSION"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
    die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
  [[ "$(installed_version || true)" == "$SCHEMATHESIS_VERSION" ]] ||
    die "schemathesis $SCHEMATHESIS_VERSION is not runnable from $VENV/bin/schemathesis after installing it"
fi
log "schemathesis $SCHEMATHESIS_VERSION at $VENV/bin/schemathesis"
