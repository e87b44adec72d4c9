#!/usr/bin/env bash
# Installs and starts the real services the integration tests use, on private sockets and
# loopback ports, and writes the settings to .test-services.env (KEY=value lines).
# Idempotent: running it again reuses what is already up. State lives in .test-services/.
#
#   bash scripts/test-services.sh         install (root, apt) and start what is not running
#   bash scripts/test-services.sh stop    stop them, by the PIDs they recorded; idempotent
#
# TEST_SERVICES_STATE names another state folder (the tests of `stop` use a throw-away one).
set -euo pipefail
cd "$(dirname "$0")/.."
export ROOT="$PWD" STATE="${TEST_SERVICES_STATE:-$PWD/.test-services}" ENV_FILE="$PWD/.test-services.env"

if [ "${1:-}" = "stop" ]; then
  # Each service by the pid file it wrote, and only if that PID still runs the program that wrote it
  # (a PID can be reused by something else after a reboot). TERM first, KILL after 20 s.
  stopped=0
  stop_pidfile() { # pidfile program
    local file="$1" program="$2" pid comm
    [ -f "$file" ] || return 0
    pid="$(tr -dc '0-9' < "$file")"
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$file"; return 0
    fi
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    if [ "$comm" != "$program" ]; then
      echo "test-services: $file names PID $pid, which runs \"$comm\", not $program: left alone" >&2
      rm -f "$file"; return 0
    fi
    echo "test-services: stopping $program (PID $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "test-services: $program (PID $pid) still running after 20 s: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
    stopped=$((stopped + 1))
  }
  # nginx's container and load balancers talk to dockerd: stop the front-ends first, dockerd last.
  stop_pidfile "$STATE/nginx/nginx.pid" nginx
  stop_pidfile "$STATE/prometheus/prometheus.pid" prometheus
  stop_pidfile "$STATE/haproxy/haproxy.pid" haproxy
  for file in "$STATE"/redis/redis-*.pid; do stop_pidfile "$file" redis-server; done
  stop_pidfile "$STATE/docker.pid" dockerd
  if [ "$stopped" -eq 0 ]; then echo "test-services: nothing was running"; else echo "test-services: stopped $stopped"; fi
  exit 0
fi
if [ $# -gt 0 ]; then echo "usage: bash scripts/test-services.sh [stop]" >&2; exit 2; fi
mkdir -p "$STATE"
: > "$ENV_FILE.tmp"

need_apt=()
for pkg in docker.io haproxy nginx redis-server busybox-static prometheus; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test-services: installing ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "test-services: need root to apt-get install ${need_apt[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

for part in scripts/services/*.sh; do
  # shellcheck source=/dev/null
  source "$part"
done
mv "$ENV_FILE.tmp" "$ENV_FILE"
echo "test-services: ready; settings in $ENV_FILE"
cat "$ENV_FILE"
