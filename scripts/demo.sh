#!/usr/bin/env bash
# Creates the demo root with the real pacman and runs pactidy on it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

dir=.demo
go run ./internal/demo/mkdemo "$dir" >/dev/null
root="$PWD/$dir/root"
conf="$root/etc/pacman.conf"
pactidy=(bin/pactidy --config "$conf" --root "$root")

echo "Demo root: $root (packages installed by pacman $(pacman --version | sed -n 's/.*Pacman v\([0-9.]*\).*/\1/p'))"
echo
if [ -t 0 ] && [ -t 1 ] && "${pactidy[@]}" tui --help >/dev/null 2>&1; then
	exec "${pactidy[@]}" tui
fi
# The report's last section is the cache plan (pactidy cache, dry run).
"${pactidy[@]}" report || true
echo
echo "Try: ${pactidy[*]} report --why libspell"
echo "     ${pactidy[*]} report --json"
echo "     ${pactidy[*]} cache -k1 --keep-uninstalled 0"
echo "     ${pactidy[*]} allow --file $PWD/$dir/allowlist add package libold"
