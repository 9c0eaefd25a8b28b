#!/usr/bin/env bash
# Installs the system packages pactidy needs to build, test and benchmark.
# Idempotent: packages already present are not reinstalled. Works as root
# or through sudo, on Debian/Ubuntu (apt) and on Arch Linux (pacman).
set -euo pipefail

# Only installing needs root: a normal user with everything present (make
# build, make test) must not need sudo.
SUDO=""
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			SUDO="sudo"
		else
			echo "install-deps: missing packages: $*" >&2
			echo "install-deps: not root and sudo is not available; install them as root" >&2
			exit 1
		fi
	fi
}

if command -v apt-get >/dev/null 2>&1; then
	pkgs=(libalpm-dev libarchive-dev pacman-package-manager makepkg libarchive-tools zstd fakeroot
		tmux fd-find findutils pkg-config gcc make git time)
	missing=()
	for p in "${pkgs[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		exit 0
	fi
	need_root "${missing[@]}"
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif command -v pacman >/dev/null 2>&1 && [ -f /etc/arch-release ]; then
	pkgs=(pacman pacman-contrib libarchive zstd fakeroot tmux fd findutils pkgconf gcc make git go time)
	missing=()
	for p in "${pkgs[@]}"; do
		pacman -Qq "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		exit 0
	fi
	need_root "${missing[@]}"
	$SUDO pacman -S --needed --noconfirm "${missing[@]}"
else
	echo "install-deps: unsupported system (need apt-get or pacman)" >&2
	exit 1
fi
