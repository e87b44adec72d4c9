#!/usr/bin/env bash
# What `npm test` and `npm run demo` run: brings what the job needs, then runs it under Node 24.
#
#   bash scripts/bootstrap.sh test [vitest args…]   the test suite (unit + integration)
#   bash scripts/bootstrap.sh demo [demo args…]     the live demo (autoscaler demo)
#
# Each step runs only when needed, so a second run goes straight to the job:
#   - Node 24 and the packages: scripts/setup.sh, when node_modules has not been installed or the
#     machine's Node is older than 24 and .tools/node is missing;
#   - the services (Docker, HAProxy, nginx, Redis, Prometheus): scripts/test-services.sh, when .test-services.env
#     is missing or a service it names does not answer (it reuses whatever is already up);
#   - then the job runs with .tools/node/bin first on PATH (when present) and the settings exported.
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-}"
case "$job" in
  test | demo) shift ;;
  *) echo "usage: bash scripts/bootstrap.sh test|demo [args…]" >&2; exit 2 ;;
esac

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
project_node_on_path() { if [ -x .tools/node/bin/node ]; then export PATH="$PWD/.tools/node/bin:$PATH"; fi; }

# ---------------------------------------------------------------- Node 24 and the packages
project_node_on_path
# npm ci writes node_modules/.package-lock.json: its absence means the packages were never installed.
# (After a pull that changes package-lock.json, run `bash scripts/setup.sh` again.)
if [ "$(node_major)" -lt 24 ] || [ ! -f node_modules/.package-lock.json ]; then
  echo "bootstrap: installing Node 24 and the packages (scripts/setup.sh)"
  AUTOSCALER_BOOTSTRAP=1 bash scripts/setup.sh   # its "put Node 24 on your PATH" note is not for us
  project_node_on_path
fi
if [ "$(node_major)" -lt 24 ]; then
  echo "bootstrap: still no Node 24 after scripts/setup.sh (node is $(node -v 2>/dev/null || echo missing))" >&2
  exit 1
fi

# ---------------------------------------------------------------- the services
services_answer() {
  [ -f .test-services.env ] || return 1
  (
    set -a; . ./.test-services.env; set +a
    command -v docker >/dev/null && docker version >/dev/null 2>&1 || exit 1
    command -v redis-cli >/dev/null && redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG || exit 1
    # The HAProxy runtime API answers "show info" on a TCP address or a unix socket.
    case "$HAPROXY_RUNTIME" in
      /*) [ -S "$HAPROXY_RUNTIME" ] || exit 1 ;;
      *) timeout 3 bash -c 'exec 3<>"/dev/tcp/${0%:*}/${0##*:}"' "$HAPROXY_RUNTIME" 2>/dev/null || exit 1 ;;
    esac
    if [ -n "${NGINX_URL:-}" ]; then timeout 3 bash -c 'h=${0#http://}; h=${h%%/*}; exec 3<>"/dev/tcp/${h%:*}/${h##*:}"' "$NGINX_URL" 2>/dev/null || exit 1; fi
    # Settings written before Prometheus joined the services lack PROMETHEUS_URL: start it then.
    [ -n "${PROMETHEUS_URL:-}" ] || exit 1
    timeout 3 bash -c 'h=${0#http://}; h=${h%%/*}; exec 3<>"/dev/tcp/${h%:*}/${h##*:}"' "$PROMETHEUS_URL" 2>/dev/null || exit 1
  )
}
if ! services_answer; then
  echo "bootstrap: starting the services (scripts/test-services.sh)"
  bash scripts/test-services.sh
fi
set -a; . ./.test-services.env; set +a

# ---------------------------------------------------------------- the job
case "$job" in
  test) exec node_modules/.bin/vitest run "$@" ;;
  demo) exec node cli/main.ts demo "$@" ;;
esac
