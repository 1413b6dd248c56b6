#!/usr/bin/env bash
# Installs the Debian packages given as arguments when they are missing,
# with apt-get (through sudo when not root). Sourced by the other scripts.
install_missing() {
	local missing=()
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if ((${#missing[@]})); then
		echo "installing Debian packages: ${missing[*]}"
		local sudo_cmd=()
		if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
		"${sudo_cmd[@]}" apt-get update -qq
		DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}
