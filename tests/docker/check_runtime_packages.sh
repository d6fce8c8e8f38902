#!/usr/bin/env bash
# The Dockerfile's runtime stages must install the Debian package of every
# library each binary links directly (apt brings the rest as dependencies).
# Docker cannot run here, so this checks what a build of the image would
# miss at start: "error while loading shared libraries".
#   check_runtime_packages.sh DOCKERFILE STAGE BINARY...
set -euo pipefail
dockerfile=$1 stage=$2
shift 2
# The stage's apt-get install line(s), continuation lines joined.
listed=$(awk -v s="$stage" '
  /^FROM / { inside = ($0 ~ (" AS " s "$")) }
  inside { print }' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep "apt-get install" | tr ' ' '\n' | grep -v '^-' || true)
[[ -n $listed ]] || { echo "no apt-get install in stage $stage of $dockerfile"; exit 1; }
cache=$(ldconfig -p)
missing=0
for bin in "$@"; do
  for lib in $(objdump -p "$bin" | awk '/NEEDED/ {print $2}'); do
    path=$(awk -v l="$lib" '$1 == l {print $NF}' <<<"$cache" | head -1)
    [[ -n $path ]] || { echo "$bin: $lib not found by ldconfig"; missing=1; continue; }
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | cut -d: -f1 | head -1 || true)
    case $pkg in libc6 | libstdc++6 | libgcc-s1) continue ;; esac  # in every Debian image
    if ! grep -qx "$pkg" <<<"$listed"; then
      echo "stage $stage: $(basename "$bin") links $lib from package $pkg, which the stage does not install"
      missing=1
    fi
  done
done
((missing == 0)) && echo "stage $stage installs the packages of every library $* link"
exit $missing
