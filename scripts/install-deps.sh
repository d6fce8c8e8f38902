#!/usr/bin/env bash
# Installs what building, testing and the demo need, from Debian 12's
# packages. Safe to run again: it only installs what is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libboost-dev libboost-program-options-dev libssl-dev
  nlohmann-json3-dev libyaml-cpp-dev libre2-dev prometheus-cpp-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc librdkafka-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev
  # the Helm chart's test renderer: Go's text/template with Sprig, as Helm
  golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev
  prometheus curl jq
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Tools that may already come from elsewhere (another kubectl or Node.js):
# Debian's packages only when the command is missing.
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
