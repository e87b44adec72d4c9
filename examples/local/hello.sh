#!/usr/bin/env bash
# The service and the queue of examples/local/hello.yaml, on the test services' Docker engine and Redis.
#   bash examples/local/hello.sh start    start the first container labelled autoscaler.service=hello (busybox httpd)
#   bash examples/local/hello.sh jobs N   make the Redis list hello:jobs hold exactly N items
#   bash examples/local/hello.sh status   the service's containers and the list's length
#   bash examples/local/hello.sh stop     remove every hello container (clones included) and the list
# Settings come from the environment, else from .test-services.env (written by scripts/test-services.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -f "$root/.test-services.env" ]; then
  while IFS='=' read -r key value; do
    [[ "$key" =~ ^[A-Z0-9_]+$ ]] && [ -z "${!key:-}" ] && export "$key=$value"
  done < "$root/.test-services.env"
fi
: "${DOCKER_HOST:?not set and no .test-services.env: run bash scripts/test-services.sh first}"
: "${REDIS_URL:?not set and no .test-services.env: run bash scripts/test-services.sh first}"
export DOCKER_HOST
image="${TEST_IMAGE:-autoscaler-test/busybox:latest}"
network="${TEST_NETWORK:-bridge}"
list="hello:jobs"

case "${1:-}" in
  start)
    if [ -n "$(docker ps -q --filter label=autoscaler.service=hello)" ]; then
      echo "hello: already running: $(docker ps --filter label=autoscaler.service=hello --format '{{.Names}}' | paste -sd ' ')"
    else
      docker rm -f hello-1 >/dev/null 2>&1 || true
      docker run -d --name hello-1 --label autoscaler.service=hello --network "$network" "$image" httpd -f -p 8080 -h /www >/dev/null
      echo "hello: started hello-1 ($image, httpd on port 8080, label autoscaler.service=hello)"
    fi
    ;;
  jobs)
    count="${2:-}"
    if ! [[ "$count" =~ ^[0-9]+$ ]] || [ "$count" -gt 1000 ]; then echo "hello: jobs N: N must be a whole number from 0 to 1000 (got \"$count\")" >&2; exit 2; fi
    redis-cli -u "$REDIS_URL" DEL "$list" >/dev/null
    if [ "$count" -gt 0 ]; then redis-cli -u "$REDIS_URL" RPUSH "$list" $(seq -f 'job-%g' 1 "$count") >/dev/null; fi
    echo "hello: $list holds $(redis-cli -u "$REDIS_URL" LLEN "$list") jobs"
    ;;
  status)
    docker ps -a --filter label=autoscaler.service=hello --format '{{.Names}}  {{.Status}}'
    echo "$list: $(redis-cli -u "$REDIS_URL" LLEN "$list") jobs"
    ;;
  stop)
    ids="$(docker ps -aq --filter label=autoscaler.service=hello)"
    if [ -n "$ids" ]; then docker rm -f $ids >/dev/null; fi
    redis-cli -u "$REDIS_URL" DEL "$list" >/dev/null
    removed="$(printf '%s' "$ids" | grep -c . || true)"
    echo "hello: removed $removed container$([ "$removed" = 1 ] || echo s) and the list $list"
    ;;
  *)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
