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

# Go itself: Debian 12's golang-go (1.19) is older than go.mod needs, so on
# Debian it comes from go.dev (/usr/local/go); Arch's go package is current.
check_go() {
	local go=""
	if command -v go >/dev/null 2>&1; then
		go=go
	elif [ -x /usr/local/go/bin/go ]; then
		go=/usr/local/go/bin/go
	else
		echo "install-deps: Go is not installed: install Go 1.23 or newer (https://go.dev/dl/, into /usr/local/go)" >&2
		exit 1
	fi
	local v
	v=$("$go" env GOVERSION 2>/dev/null)
	v=${v#go}
	case "$v" in
	1.[0-9] | 1.[0-9].* | 1.1[0-9] | 1.1[0-9].* | 1.2[0-2] | 1.2[0-2].*)
		echo "install-deps: Go $v is too old: pactidy needs Go 1.23 or newer (https://go.dev/dl/)" >&2
		exit 1
		;;
	esac
}
trap 'rc=$?; if [ $rc -eq 0 ]; then check_go; fi; exit $rc' EXIT

if command -v apt-get >/dev/null 2>&1; then
	pkgs=(libalpm-dev libarchive-dev pacman-package-manager makepkg libarchive-tools zstd fakeroot
		tmux fd-find findutils pkg-config gcc make git time
		systemd prometheus)
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
	pkgs=(pacman pacman-contrib libarchive zstd fakeroot tmux fd findutils pkgconf gcc make git go time
		systemd prometheus)
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
