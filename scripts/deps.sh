#!/bin/sh
# Installs the Debian packages Gannet needs to build and test, when any is
# missing and we are root. Anyone else gets a list of what to install.
# postfix and swaks are for tests/integration/test_postfix.py, which runs a
# private Postfix instance; the system one is left unconfigured. clang and
# libclang-rt-14-dev (libFuzzer and the sanitizer runtimes, only a
# Recommends of clang) build the fuzz targets (tests/fuzz/). groff-base,
# mandoc and systemd check the man pages and the unit in
# tests/integration/test_install.py (systemd-analyze, and systemd as PID 1 of
# a private PID namespace; the machine's own init is left alone); procps has
# /bin/kill, which the unit runs for a reload, and pgrep.
set -e
PKGS="gcc make pkg-config libevent-dev libsqlite3-dev libssl-dev libcrypt-dev python3 curl openssl
postfix swaks clang libclang-rt-14-dev groff-base mandoc systemd procps"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Without this, installing postfix asks how to configure the system's mail.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	echo "deps: missing Debian packages:$missing (run: sudo apt-get install$missing)" >&2
	exit 1
fi
