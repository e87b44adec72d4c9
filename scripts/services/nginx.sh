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

# ---------------------------------------------------------------- an nginx image for the docker-exec path
# No registry is reachable: `docker import` a root file system holding the host's nginx binary,
# the shared libraries ldd names, busybox (sh, rm, cat for exec) and a minimal /etc/nginx whose
# upstream file (/etc/nginx/conf.d/web-upstream.conf) the plug-in rewrites through the archive API.
nginx_docker_host="$(grep -m1 '^DOCKER_HOST=' "$ENV_FILE.tmp" 2>/dev/null | cut -d= -f2- || true)"
nginx_image="autoscaler-test/nginx:latest"
if [ -n "$nginx_docker_host" ] && docker -H "$nginx_docker_host" version >/dev/null 2>&1; then
  if ! docker -H "$nginx_docker_host" image inspect "$nginx_image" >/dev/null 2>&1; then
    echo "test-services: nginx: importing $nginx_image from the host's nginx and libraries"
    rootfs=$(mktemp -d)
    mkdir -p "$rootfs/usr/sbin" "$rootfs/bin" "$rootfs/etc/nginx/conf.d" "$rootfs/var/log/nginx" \
      "$rootfs/var/lib/nginx" "$rootfs/run" "$rootfs/tmp" "$rootfs/var/lock" "$rootfs/usr/share/nginx"
    cp "$(readlink -f "$(command -v nginx)")" "$rootfs/usr/sbin/nginx"
    for lib in $(ldd "$(command -v nginx)" | grep -o '/[^ )]*'); do cp -L --parents "$lib" "$rootfs"; done
    cp "$(readlink -f /bin/busybox)" "$rootfs/bin/busybox"
    for applet in sh cat rm ls sleep; do ln -s busybox "$rootfs/bin/$applet"; done
    printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
    cat > "$rootfs/etc/nginx/nginx.conf" <<'CFG'
user nobody nogroup;
worker_processes 1;
error_log stderr warn;
events { worker_connections 256; }
http {
    access_log off;
    include /etc/nginx/conf.d/*.conf;
    server {
        listen 80;
        location / { proxy_pass http://web; }
    }
}
CFG
    printf 'upstream web {\n    server 127.0.0.1:9 down;\n}\n' > "$rootfs/etc/nginx/conf.d/web-upstream.conf"
    tar -C "$rootfs" -cf "$rootfs.tar" .
    docker -H "$nginx_docker_host" import --change 'CMD ["/usr/sbin/nginx","-g","daemon off;"]' \
      --change 'ENV PATH=/usr/sbin:/bin' "$rootfs.tar" "$nginx_image" >/dev/null
    rm -rf "$rootfs" "$rootfs.tar"
  fi
  echo "NGINX_IMAGE=$nginx_image" >> "$ENV_FILE.tmp"
else
  echo "test-services: nginx: no Docker engine answers; the docker-exec nginx tests will skip" >&2
fi
