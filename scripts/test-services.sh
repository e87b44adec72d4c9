#!/usr/bin/env bash
# Installs and starts the real services the integration tests use, on private sockets and
# loopback ports, and writes the settings to .test-services.env (KEY=value lines).
# Idempotent: running it again reuses what is already up. State lives in .test-services/.
set -euo pipefail
cd "$(dirname "$0")/.."
export ROOT="$PWD" STATE="$PWD/.test-services" ENV_FILE="$PWD/.test-services.env"
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
