#!/usr/bin/env bash
# Writes the release tarball of a tag: what the PKGBUILD's source URL serves
# and its sha256sums entry checks. Deterministic for a given tag (git archive
# writes fixed timestamps; gzip -n leaves out the name and time).
# Usage: scripts/dist.sh TAG OUTPUT
set -euo pipefail
tag=${1:?usage: dist.sh TAG OUTPUT}
out=${2:?usage: dist.sh TAG OUTPUT}
ver=${tag#v}
git archive --format=tar --prefix="pactidy-$ver/" "$tag^{commit}" | gzip -9n >"$out.tmp"
mv "$out.tmp" "$out"
