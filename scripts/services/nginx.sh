# shellcheck shell=bash
# Part of scripts/test-services.sh (sourced; uses $STATE, $ENV_FILE, $ROOT).
# A private nginx (own prefix and config under $STATE/nginx, not the system one) listening on
# 127.0.0.1:18480 and proxying to upstream `web`, whose servers live in an included file the
# nginx load balancer plug-in rewrites. Idempotent: reuses a master whose pid file is alive.

nginx_prefix="$STATE/nginx"
nginx_port=18480
mkdir -p "$nginx_prefix/logs" "$nginx_prefix/conf.d" "$nginx_prefix/tmp"
nginx_conf="$nginx_prefix/nginx.conf"
nginx_upstream="$nginx_prefix/conf.d/web-upstream.conf"

cat > "$nginx_conf" <<CFG
daemon on;
worker_processes 1;
pid $nginx_prefix/nginx.pid;
error_log $nginx_prefix/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $nginx_prefix/tmp/body;
    proxy_temp_path $nginx_prefix/tmp/proxy;
    fastcgi_temp_path $nginx_prefix/tmp/fastcgi;
    uwsgi_temp_path $nginx_prefix/tmp/uwsgi;
    scgi_temp_path $nginx_prefix/tmp/scgi;
    include $nginx_prefix/conf.d/*.conf;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { proxy_pass http://web; }
    }
}
CFG
# The upstream must exist before the first start; the tests rewrite it.
[ -f "$nginx_upstream" ] || printf 'upstream web {\n    server 127.0.0.1:18489;\n}\n' > "$nginx_upstream"

if [ -f "$nginx_prefix/nginx.pid" ] && kill -0 "$(cat "$nginx_prefix/nginx.pid")" 2>/dev/null; then
  echo "test-services: nginx: reusing nginx on 127.0.0.1:$nginx_port"
else
  echo "test-services: nginx: starting (log: $nginx_prefix/logs/error.log)"
  nginx -p "$nginx_prefix" -c "$nginx_conf" -t -q
  nginx -p "$nginx_prefix" -c "$nginx_conf"
fi

{
  echo "NGINX_PREFIX=$nginx_prefix"
  echo "NGINX_CONF=$nginx_conf"
  echo "NGINX_UPSTREAM_FILE=$nginx_upstream"
  echo "NGINX_URL=http://127.0.0.1:$nginx_port"
} >> "$ENV_FILE.tmp"
