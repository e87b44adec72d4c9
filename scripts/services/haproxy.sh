# shellcheck shell=bash
# Part of scripts/test-services.sh (sourced; uses $STATE, $ENV_FILE, $ROOT).
# A private HAProxy 2.6 for the integration tests: runtime API on 127.0.0.1:18400 (and a unix
# socket), frontend 127.0.0.1:18401 -> backend `web`, frontend 127.0.0.1:18402 -> backend `metrics`,
# and the built-in Prometheus exporter on 127.0.0.1:18403/metrics.
# Both backends use roundrobin (a dynamic-friendly algorithm) so `add server` works at runtime;
# `web` holds one static, disabled server that the product must never touch.
# Idempotent: reuses an HAProxy whose runtime API answers.

haproxy_dir="$STATE/haproxy"
mkdir -p "$haproxy_dir"
haproxy_runtime_port=18400
haproxy_frontend_port=18401
haproxy_metrics_port=18402
haproxy_exporter_port=18403
# Unix socket paths are limited to 108 bytes: fall back to a short path in /tmp for deep checkouts.
haproxy_sock="$haproxy_dir/admin.sock"
if [ ${#haproxy_sock} -gt 90 ]; then
  haproxy_sock="/tmp/autoscaler-haproxy-$(printf '%s' "$STATE" | cksum | cut -d' ' -f1).sock"
fi

cat > "$haproxy_dir/haproxy.cfg" <<CFG
global
    stats socket ipv4@127.0.0.1:$haproxy_runtime_port level admin
    stats socket $haproxy_sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch

frontend web_in
    bind 127.0.0.1:$haproxy_frontend_port
    default_backend web

backend web
    balance roundrobin
    # A server from the static configuration: disabled (no traffic), and out of the product's reach.
    server static-1 127.0.0.1:18409 disabled

frontend metrics_in
    bind 127.0.0.1:$haproxy_metrics_port
    default_backend metrics

backend metrics
    balance roundrobin

# HAProxy's built-in Prometheus exporter, scraped by the test Prometheus (prometheus.sh).
frontend prometheus_exporter
    bind 127.0.0.1:$haproxy_exporter_port
    http-request use-service prometheus-exporter if { path /metrics }
CFG

haproxy_answers() {
  printf 'show info\n' | timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$haproxy_runtime_port; cat >&3; cat <&3" 2>/dev/null | grep -q '^Name: HAProxy'
}

haproxy_runtime() {
  printf '%s\n' "$1" | timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$haproxy_runtime_port; cat >&3; cat <&3" 2>/dev/null
}
# A reused HAProxy must still hold its static server (a test that deleted it would skew the next run).
if haproxy_answers && ! haproxy_runtime 'show servers state web' | grep -q ' static-1 '; then
  echo "test-services: haproxy: static server missing; restarting"
  [ -f "$haproxy_dir/haproxy.pid" ] && kill "$(cat "$haproxy_dir/haproxy.pid")" 2>/dev/null || true
  for _ in $(seq 1 30); do haproxy_answers || break; sleep 0.1; done
fi

if haproxy_answers; then
  echo "test-services: haproxy: reusing HAProxy on 127.0.0.1:$haproxy_runtime_port"
else
  haproxy -c -q -f "$haproxy_dir/haproxy.cfg"
  echo "test-services: haproxy: starting (log: $haproxy_dir/haproxy.log)"
  rm -f "$haproxy_sock"
  haproxy -D -p "$haproxy_dir/haproxy.pid" -f "$haproxy_dir/haproxy.cfg" >>"$haproxy_dir/haproxy.log" 2>&1 </dev/null
  for _ in $(seq 1 50); do haproxy_answers && break; sleep 0.1; done
  if ! haproxy_answers; then
    echo "test-services: haproxy: runtime API did not answer; last log lines:" >&2
    tail -n 20 "$haproxy_dir/haproxy.log" >&2
    return 1 2>/dev/null || exit 1
  fi
fi

{
  echo "HAPROXY_RUNTIME=127.0.0.1:$haproxy_runtime_port"
  echo "HAPROXY_SOCKET=$haproxy_sock"
  echo "HAPROXY_FRONTEND=127.0.0.1:$haproxy_frontend_port"
  echo "HAPROXY_BACKEND=web"
  echo "HAPROXY_STATIC_SERVER=static-1"
  echo "HAPROXY_METRICS_FRONTEND=127.0.0.1:$haproxy_metrics_port"
  echo "HAPROXY_METRICS_BACKEND=metrics"
  echo "HAPROXY_PROMETHEUS_EXPORTER=127.0.0.1:$haproxy_exporter_port"
  echo "HAPROXY_CONFIG=$haproxy_dir/haproxy.cfg"
} >> "$ENV_FILE.tmp"
