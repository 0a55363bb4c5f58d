#!/usr/bin/env bash
# Usage: scripts/keyring-session.sh <command...>
#
# Runs <command> with a working, unlocked Secret Service (the Linux keyring Codex uses).
# - Already inside a session whose default keyring collection is unlocked: runs the command as is.
# - Otherwise: starts a private D-Bus session bus (dbus-run-session) and a throwaway gnome-keyring
#   in it (`gnome-keyring-daemon --unlock --components=secrets`, password on stdin, keyring files in
#   a temporary directory — never your own ~/.local/share/keyrings), checks that a secret can be
#   stored and read back with secret-tool, runs the command, and tears everything down.
# Needs the Debian packages dbus, gnome-keyring and libsecret-tools (scripts/system-deps.sh).
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <command...>" >&2
  exit 2
fi

# Is there a session bus whose default Secret Service collection exists and is unlocked?
# Read-only (a property read), so it never pops up a password prompt on a desktop.
keyring_ready() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || return 1
  command -v dbus-send >/dev/null 2>&1 || return 1
  local out
  out="$(timeout 5 dbus-send --session --print-reply --dest=org.freedesktop.secrets \
    /org/freedesktop/secrets/aliases/default org.freedesktop.DBus.Properties.Get \
    string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null)" || return 1
  printf '%s' "$out" | grep -q "boolean false"
}

secrets_owned() {
  timeout 5 dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"
}

restore_var() { # restore_var NAME: put back the caller's value (or unset it), saved by the outer half
  local saved="CODEX_AUTH_KS_SAVED_$1"
  if [ "${!saved+set}" = "set" ] && [ "${!saved}" != "__unset__" ]; then export "$1=${!saved}"; else unset "$1"; fi
  unset "$saved"
}

if [ "${1:-}" = "--inside-private-session" ]; then
  shift
  data_dir="$CODEX_AUTH_KS_DIR"
  unset CODEX_AUTH_KS_DIR
  cleanup() { rm -rf "$data_dir"; }
  trap cleanup EXIT
  # XDG_DATA_HOME / XDG_RUNTIME_DIR point into $data_dir for the bus and everything it starts, so
  # no keyring file of yours is read or written, even if D-Bus auto-starts another gnome-keyring.
  # A throwaway password for a throwaway keyring: it only exists inside this session.
  password="codex-auth-test-$$-$RANDOM"
  printf '%s' "$password" | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
  for _ in $(seq 1 50); do secrets_owned && break; sleep 0.1; done
  # The daemon creates and unlocks the default "login" collection; prove a round trip works.
  probe="probe-$$"
  ok=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    if printf '%s' "$probe" | timeout 5 secret-tool store --label="codex-auth keyring-session probe" codex-auth-probe "$probe" 2>/dev/null \
      && [ "$(timeout 5 secret-tool lookup codex-auth-probe "$probe" 2>/dev/null)" = "$probe" ]; then
      timeout 5 secret-tool clear codex-auth-probe "$probe" 2>/dev/null || true
      ok=1
      break
    fi
    sleep 0.2
  done
  if [ -z "$ok" ] || ! keyring_ready; then
    echo "keyring-session: gnome-keyring started but its default collection is not usable (store/lookup with secret-tool failed)" >&2
    exit 1
  fi
  restore_var XDG_DATA_HOME
  restore_var XDG_RUNTIME_DIR
  status=0
  "$@" || status=$?
  exit "$status"
fi

if keyring_ready; then
  exec "$@"
fi

for tool in dbus-run-session gnome-keyring-daemon secret-tool dbus-send; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "keyring-session: $tool is missing; install the Debian packages dbus, gnome-keyring and libsecret-tools (scripts/system-deps.sh, as root)" >&2
    exit 1
  fi
done

data_dir="$(mktemp -d "${TMPDIR:-/tmp}/codex-auth-keyring.XXXXXX")"
mkdir -p "$data_dir/data" "$data_dir/runtime"
chmod 700 "$data_dir/runtime"
export CODEX_AUTH_KS_DIR="$data_dir"
export CODEX_AUTH_KS_SAVED_XDG_DATA_HOME="${XDG_DATA_HOME-__unset__}"
export CODEX_AUTH_KS_SAVED_XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR-__unset__}"
export XDG_DATA_HOME="$data_dir/data" XDG_RUNTIME_DIR="$data_dir/runtime"
# dbus-run-session ends the bus (and with it gnome-keyring) when the command exits. (In unprivileged
# containers its daemon prints a harmless "Failed to set fd limit" notice.)
exec dbus-run-session -- "$0" --inside-private-session "$@"
