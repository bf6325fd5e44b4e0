#!/usr/bin/env bash
# Fresh-machine check (`make fresh-check`): clone the committed HEAD into a temporary
# folder and run there exactly the `make demo` and `make test` lines of the README's Install:
# `make demo` and `make test`. Any error fails the check. Uncommitted work is not
# part of the clone, on purpose: this is what a new user gets.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
head="$(git -C "$repo" rev-parse HEAD)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/lutkit-fresh.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

git clone --quiet --no-checkout "$repo" "$tmp/lutkit"
git -C "$tmp/lutkit" checkout --quiet --detach "$head"
cd "$tmp/lutkit"
echo "fresh-check: $(git log -1 --format='%h %s') in $tmp/lutkit"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "fresh-check: note: uncommitted changes in $repo are not checked"
fi

make demo
make test
echo "fresh-check: ok ($(git log -1 --format=%h))"
