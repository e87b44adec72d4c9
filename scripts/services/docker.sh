# shellcheck shell=bash
# Part of scripts/test-services.sh (sourced; uses $STATE, $ENV_FILE, $ROOT).
# A private Docker Engine for the integration tests: a unix socket, plus mutual TLS on
# 127.0.0.1:2376 with a throw-away CA, a busybox image made with `docker import` (no registry is
# reachable) and a user-defined bridge network whose containers the host reaches at their own IPs.
# Idempotent: reuses a dockerd whose socket answers, the certificates, the image and the network.

docker_state="$STATE"
docker_tls="$STATE/tls"
docker_image="autoscaler-test/busybox:latest"
docker_network="autoscaler-test"
mkdir -p "$docker_state" "$docker_tls"

# Unix socket paths are limited to 108 bytes (containerd puts its own sockets under exec-root):
# fall back to a short path in /tmp when the checkout lives somewhere deep.
docker_sock="$docker_state/docker.sock"
docker_exec="$docker_state/docker-exec"
if [ ${#docker_exec} -gt 60 ]; then
  short="/tmp/autoscaler-docker-$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)"
  mkdir -p "$short"
  docker_sock="$short/docker.sock"
  docker_exec="$short/exec"
fi

docker_cli() { docker -H "unix://$docker_sock" "$@"; }

# ---------------------------------------------------------------- certificates
docker_make_ca() { # dir name
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" \
    -keyout "$1/ca-key.pem" -out "$1/ca.pem" >/dev/null 2>&1
}
docker_make_cert() { # ca-dir out-prefix cn extfile-contents
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "$2-key.pem" -out "$2.csr" >/dev/null 2>&1
  printf '%s\n' "$4" > "$2.ext"
  openssl x509 -req -in "$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca-key.pem" -CAcreateserial -days 3650 \
    -extfile "$2.ext" -out "$2-cert.pem" >/dev/null 2>&1
  rm -f "$2.csr" "$2.ext"
}
if ! command -v openssl >/dev/null 2>&1; then
  echo "test-services: docker: openssl is needed to make the test certificates (apt-get install openssl)" >&2
  exit 1
fi
if [ ! -f "$docker_tls/client/key.pem" ] || [ ! -f "$docker_tls/bad-client/key.pem" ]; then
  echo "test-services: docker: generating TLS material in $docker_tls"
  rm -rf "$docker_tls" && mkdir -p "$docker_tls/ca" "$docker_tls/bad-ca" "$docker_tls/server" "$docker_tls/client" "$docker_tls/bad-client"
  docker_make_ca "$docker_tls/ca" "autoscaler test CA"
  docker_make_ca "$docker_tls/bad-ca" "untrusted test CA"
  docker_make_cert "$docker_tls/ca" "$docker_tls/server/server" "localhost" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
  docker_make_cert "$docker_tls/ca" "$docker_tls/client/client" "autoscaler" "extendedKeyUsage=clientAuth"
  docker_make_cert "$docker_tls/bad-ca" "$docker_tls/bad-client/client" "intruder" "extendedKeyUsage=clientAuth"
  # The layout Docker clients expect: ca.pem cert.pem key.pem in one directory.
  cp "$docker_tls/ca/ca.pem" "$docker_tls/client/ca.pem"
  mv "$docker_tls/client/client-cert.pem" "$docker_tls/client/cert.pem"
  mv "$docker_tls/client/client-key.pem" "$docker_tls/client/key.pem"
  # The "wrong certificate" client trusts the real server but presents a certificate from another CA;
  # untrusted-ca.pem is for the opposite test (a server the client must not trust).
  cp "$docker_tls/ca/ca.pem" "$docker_tls/bad-client/ca.pem"
  cp "$docker_tls/bad-ca/ca.pem" "$docker_tls/bad-client/untrusted-ca.pem"
  mv "$docker_tls/bad-client/client-cert.pem" "$docker_tls/bad-client/cert.pem"
  mv "$docker_tls/bad-client/client-key.pem" "$docker_tls/bad-client/key.pem"
  chmod 600 "$docker_tls"/*/*key.pem
fi

# ---------------------------------------------------------------- the daemon
if docker_cli version >/dev/null 2>&1; then
  echo "test-services: docker: reusing dockerd on $docker_sock"
else
  pidfile="$docker_state/docker.pid"
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
  echo "test-services: docker: starting dockerd (log: $docker_state/dockerd.log)"
  setsid nohup dockerd --storage-driver=vfs --iptables=false --bridge=none \
    --host "unix://$docker_sock" --host tcp://127.0.0.1:2376 \
    --tlsverify --tlscacert "$docker_tls/ca/ca.pem" \
    --tlscert "$docker_tls/server/server-cert.pem" --tlskey "$docker_tls/server/server-key.pem" \
    --data-root "$docker_state/docker-data" --exec-root "$docker_exec" --pidfile "$pidfile" \
    >>"$docker_state/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 150); do
    docker_cli version >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! docker_cli version >/dev/null 2>&1; then
    echo "test-services: docker: dockerd did not answer within 30 s; last log lines:" >&2
    tail -20 "$docker_state/dockerd.log" >&2
    exit 1
  fi
fi

# ---------------------------------------------------------------- image and network
if ! docker_cli image inspect "$docker_image" >/dev/null 2>&1; then
  echo "test-services: docker: importing $docker_image from $(command -v busybox)"
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www" "$rootfs/data"
  # Debian's busybox-static: one static binary, so the image needs no libraries.
  cp "$(readlink -f /bin/busybox)" "$rootfs/bin/busybox"
  for applet in sh ash cat echo env false hostname httpd id kill ls mkdir nc ps rm sleep test touch true wget; do
    ln -s busybox "$rootfs/bin/$applet"
  done
  echo ok >"$rootfs/www/index.html"
  tar -C "$rootfs" -cf "$rootfs.tar" .
  docker_cli import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$rootfs.tar" "$docker_image" >/dev/null
  rm -rf "$rootfs" "$rootfs.tar"
fi
if ! docker_cli network inspect "$docker_network" >/dev/null 2>&1; then
  # A user-defined bridge works without iptables: the host routes to it, so a load balancer on the
  # host reaches each container at <container IP>:<container port>, as on a production host.
  docker_cli network create --driver bridge "$docker_network" >/dev/null
fi

{
  echo "DOCKER_HOST=unix://$docker_sock"
  echo "DOCKER_TLS_HOST=tcp://127.0.0.1:2376"
  echo "DOCKER_TLS_DIR=$docker_tls/client"
  echo "DOCKER_BAD_TLS_DIR=$docker_tls/bad-client"
  echo "TEST_IMAGE=$docker_image"
  echo "TEST_NETWORK=$docker_network"
} >>"$ENV_FILE.tmp"
