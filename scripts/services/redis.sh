# shellcheck shell=bash
# Part of scripts/test-services.sh (sourced; uses $STATE, $ENV_FILE, $ROOT).
# Two private Redis servers (no persistence): an open one on 127.0.0.1:18379, and one on
# 127.0.0.1:18380 that requires a password, kept in a file (mode 600) as endpoints reference it.
# Idempotent: reuses servers that answer PING.

redis_dir="$STATE/redis"
mkdir -p "$redis_dir"
redis_password_file="$redis_dir/password"
if [ ! -s "$redis_password_file" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$redis_password_file")
fi

redis_start() { # port extra-args...
  local port="$1"; shift
  if REDISCLI_AUTH="$(cat "$redis_password_file")" redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
    echo "test-services: redis: reusing Redis on 127.0.0.1:$port"
    return 0
  fi
  echo "test-services: redis: starting on 127.0.0.1:$port (log: $redis_dir/redis-$port.log)"
  # The password goes in through a config file on stdin, never on a command line (ps would show it).
  { printf 'bind 127.0.0.1\nport %s\ndir %s\nsave ""\nappendonly no\ndaemonize yes\n' "$port" "$redis_dir"
    printf 'pidfile %s\nlogfile %s\n' "$redis_dir/redis-$port.pid" "$redis_dir/redis-$port.log"
    for line in "$@"; do printf '%s\n' "$line"; done
  } | redis-server - >/dev/null   # it prints "# Reading config from stdin"; errors go to stderr and the log
  for _ in $(seq 1 50); do
    REDISCLI_AUTH="$(cat "$redis_password_file")" redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "test-services: redis: 127.0.0.1:$port did not answer; last log lines:" >&2
  tail -n 20 "$redis_dir/redis-$port.log" >&2
  return 1
}

redis_start 18379 || { return 1 2>/dev/null || exit 1; }
redis_start 18380 "requirepass $(cat "$redis_password_file")" || { return 1 2>/dev/null || exit 1; }

{
  echo "REDIS_URL=redis://127.0.0.1:18379"
  echo "REDIS_AUTH_URL=redis://127.0.0.1:18380"
  echo "REDIS_PASSWORD_FILE=$redis_password_file"
} >> "$ENV_FILE.tmp"
