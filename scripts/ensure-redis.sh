#!/usr/bin/env bash
# Makes sure `redis-server` is installed: the shared definition cache tests
# (flags-runtime/tests/redis_cache.rs) start their own server on a free port, and in CI they
# must run, not skip. Installs Debian's `redis-server` package when the binary is missing.
# Does not start a server.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-redis: redis-server is missing and this is not a Debian-like system; install Redis (7.x) yourself" >&2
  exit 1
fi
sudo=""
if [[ "$(id -u)" -ne 0 ]]; then sudo="sudo"; fi
echo "ensure-redis: installing redis-server from the Debian packages" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
command -v redis-server >/dev/null
