#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: gnome-keyring + D-Bus (Secret Service),
# Chromium (browser flow), tinyproxy (proxy tests), openssl, flock(1), python3 and strace (locks). Idempotent; needs root for apt-get.
set -euo pipefail
need=()
command -v dbus-run-session >/dev/null 2>&1 || need+=(dbus)
command -v gnome-keyring-daemon >/dev/null 2>&1 || need+=(gnome-keyring)
command -v secret-tool >/dev/null 2>&1 || need+=(libsecret-tools)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v tinyproxy >/dev/null 2>&1 || need+=(tinyproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
# The lock tests: Python's fcntl.flock as a second implementation of flock(2); strace proves that
# a refresh and a login start no program.
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v strace >/dev/null 2>&1 || need+=(strace)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "codex-auth: the tests need these Debian packages: ${need[*]} (run as root, or install them with apt-get)" >&2
  exit 1
fi
echo "codex-auth: installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
# tinyproxy is started by the tests on their own port; keep the system service from holding :8888.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now tinyproxy >/dev/null 2>&1 || true; fi
# Stop the service the package may have started (by its init script's pid file, not by name).
if command -v service >/dev/null 2>&1; then service tinyproxy stop >/dev/null 2>&1 || true; fi
