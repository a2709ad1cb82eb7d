#!/usr/bin/env bash
# The README promises that on a machine where nothing is installed yet, `make demo` and
# `make check` each work the first time they are typed. This script makes the machine fresh
# again (removes the packages `make deps` installs) and types one of those commands in a new
# clone of the repository. It needs root and removes system packages, so .ci/run calls it only
# on CI's throwaway machine (CI=true); elsewhere run it by hand: sudo tests/ci/fresh_machine.sh demo.
#   tests/ci/fresh_machine.sh demo|check [REV]   (REV: commit to clone, default HEAD)
#   tests/ci/fresh_machine.sh remove              (only make the machine fresh)
set -euo pipefail
cmd=${1:?usage: fresh_machine.sh demo|check|remove [REV]}
rev=${2:-HEAD}
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "fresh_machine: needs root (it removes packages)" >&2; exit 2; }

# What a new machine of this project's kind lacks: every package of scripts/deps.sh that the base
# image does not ship (zlib1g-dev is in the image, and removing it would take half the image).
mapfile -t pkgs < <(sed -n '/^pkgs=(/,/)/p' "$repo/scripts/deps.sh" | tr -d '()' | sed 's/pkgs=//' | tr ' ' '\n' | grep -v '^$' | grep -vx 'zlib1g-dev')
installed=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && installed+=("$p")
done
if [ ${#installed[@]} -gt 0 ]; then
  echo "fresh_machine: removing ${installed[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "${installed[@]}" >/dev/null
fi
for p in "${pkgs[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    echo "fresh_machine: $p is still installed" >&2; exit 1
  fi
done

[ "$cmd" = remove ] && exit 0

dir=$(mktemp -d /tmp/mli-fresh.XXXXXX)
trap 'rm -rf "$dir"' EXIT
git clone -q "$repo" "$dir/mli"
git -C "$dir/mli" checkout -q "$rev"
cd "$dir/mli"
echo "fresh_machine: make $cmd in a new clone of $(git rev-parse --short HEAD)"
case $cmd in
  demo)  make demo
         [ -s runs/demo/report/index.html ] || { echo "fresh_machine: make demo wrote no report" >&2; exit 1; } ;;
  check) make check ;;
  *) echo "fresh_machine: unknown command $cmd" >&2; exit 2 ;;
esac
echo "fresh_machine: make $cmd worked the first time"
