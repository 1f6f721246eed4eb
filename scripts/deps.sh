#!/usr/bin/env bash
# Install every Debian package frond needs to build, test, benchmark and run
# its demo. Idempotent: packages already present are not touched, and apt is
# only asked when something is missing. Both ./scripts/demo.sh and
# ./scripts/test.sh call this first.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  # libfrond and the binaries
  libmicrohttpd-dev libgnutls28-dev libcrypt-dev zlib1g-dev libyaml-dev
  libcurl4-openssl-dev libyajl-dev libmongoc-dev libbson-dev librabbitmq-dev
  libprotobuf-c-dev protobuf-c-compiler libsnappy-dev libsystemd-dev libicu-dev
  # real servers and tools the tests drive
  rabbitmq-server prometheus prometheus-alertmanager amqp-tools
  systemd systemd-journal-remote
  # Python stand-ins (MongoDB wire protocol, Loki push receiver)
  python3 python3-mockupdb python3-pymongo python3-snappy python3-protobuf
  python3-yaml protobuf-compiler python3-pika
  # benchmarks
  wrk hyperfine valgrind time procps curl openssl
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node.js runs the LogQL lint; any recent one will do, so keep one that is already there.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
