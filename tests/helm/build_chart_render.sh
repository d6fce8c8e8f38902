#!/bin/sh
# Builds chart-render from Debian's Go packages (golang-go,
# golang-github-masterminds-sprig-dev, golang-k8s-sigs-yaml-dev), offline:
# GOPATH mode, with the /v3 import paths Sprig's module uses linked to
# Debian's unversioned source directories.
set -eu
src=$1
out=$2
gopath="$out/gopath"
mkdir -p "$gopath/src/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/semver"
ln -sfn /usr/share/gocode/src/github.com/Masterminds/sprig "$gopath/src/github.com/Masterminds/sprig/v3"
ln -sfn /usr/share/gocode/src/github.com/Masterminds/semver "$gopath/src/github.com/Masterminds/semver/v3"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$out/go-cache" GOFLAGS= \
  go build -o "$out/chart-render" "$src"
