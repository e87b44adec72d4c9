# shellcheck shell=bash
# Part of scripts/test-services.sh (sourced; uses $STATE, $ENV_FILE, $ROOT).
# A private Prometheus (Debian's `prometheus` package) on 127.0.0.1:18490, its data under
# $STATE/prometheus, scraping itself and HAProxy's built-in Prometheus exporter (haproxy.sh's
# 127.0.0.1:18403) every second, so the prometheus metric source is tested against a real server.
# Idempotent: reuses a Prometheus that answers /-/ready on that port.

prometheus_dir="$STATE/prometheus"
prometheus_port=18490
mkdir -p "$prometheus_dir/data"

cat > "$prometheus_dir/prometheus.yml" <<CFG
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$prometheus_port']
  - job_name: haproxy
    static_configs:
      - targets: ['127.0.0.1:18403']
CFG

prometheus_ready() {
  curl -fsS --max-time 2 "http://127.0.0.1:$prometheus_port/-/ready" >/dev/null 2>&1
}

if prometheus_ready; then
  echo "test-services: prometheus: reusing Prometheus on 127.0.0.1:$prometheus_port"
else
  echo "test-services: prometheus: starting on 127.0.0.1:$prometheus_port (log: $prometheus_dir/prometheus.log)"
  setsid prometheus \
    --config.file="$prometheus_dir/prometheus.yml" \
    --storage.tsdb.path="$prometheus_dir/data" \
    --storage.tsdb.retention.time=2h \
    --web.listen-address="127.0.0.1:$prometheus_port" \
    >>"$prometheus_dir/prometheus.log" 2>&1 </dev/null &
  echo $! > "$prometheus_dir/prometheus.pid"
  for _ in $(seq 1 100); do prometheus_ready && break; sleep 0.1; done
  if ! prometheus_ready; then
    echo "test-services: prometheus: not ready; last log lines:" >&2
    tail -n 20 "$prometheus_dir/prometheus.log" >&2
    return 1 2>/dev/null || exit 1
  fi
fi

echo "PROMETHEUS_URL=http://127.0.0.1:$prometheus_port" >> "$ENV_FILE.tmp"
