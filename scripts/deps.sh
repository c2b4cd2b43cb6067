#!/bin/sh
# Installs the Debian packages Gannet needs to build and test, when any is
# missing and we are root. Anyone else gets a list of what to install.
# postfix and swaks are for tests/integration/test_postfix.py, which runs a
# private Postfix instance; the system one is left unconfigured. dovecot-imapd
# is for tests/integration/test_dovecot_import.py (and bench/run), which run a
# private Dovecot; the package's own service is kept from starting (below).
# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes, only a
# Recommends of clang) build the fuzz targets (tests/fuzz/). isync (mbsync),
# offlineimap3, fetchmail, neomutt and tmux are the real clients that
# tests/integration/test_clients.py runs against the server. groff-base,
# mandoc and systemd check the man pages and the unit in
# tests/integration/test_install.py (systemd-analyze, and systemd as PID 1 of
# a private PID namespace; the machine's own init is left alone); procps has
# /bin/kill, which the unit runs for a reload, and pgrep. libtsan2 is gcc's
# ThreadSanitizer runtime, for `make tsan` (tests/run.sh runs that build too).
set -e
PKGS="gcc make pkg-config libevent-dev libsqlite3-dev libssl-dev libcrypt-dev python3 curl openssl
postfix swaks dovecot-imapd clang libclang-rt-14-dev isync offlineimap3 fetchmail neomutt tmux
groff-base mandoc systemd procps libtsan2"
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
	# No service starts while we install (invoke-rc.d asks policy-rc.d; 101 =
	# action forbidden): dovecot-core would otherwise start the system Dovecot
	# on ports 143 and 993. Only a policy we put there is removed again.
	policy=/usr/sbin/policy-rc.d
	made_policy=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs packages\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
		trap 'rm -f "$policy"' EXIT INT TERM
	fi
	had_dovecot=""
	dpkg-query -W -f='${Status}' dovecot-core 2>/dev/null | grep -q "install ok installed" && had_dovecot=1
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	if [ -n "$made_policy" ]; then
		rm -f "$policy"
		trap - EXIT INT TERM
	fi
	# The package also enables its service for the next boot: a Dovecot we
	# installed for the tests is left disabled (one that was there is not ours).
	if [ -z "$had_dovecot" ]; then
		if command -v systemctl >/dev/null && [ -e /lib/systemd/system/dovecot.service ]; then
			systemctl disable --quiet dovecot.service dovecot.socket >/dev/null 2>&1 ||
				echo "deps: could not disable dovecot.service (systemctl)" >&2
		fi
		if command -v update-rc.d >/dev/null && [ -e /etc/init.d/dovecot ]; then
			update-rc.d dovecot disable >/dev/null 2>&1 ||
				echo "deps: could not disable /etc/init.d/dovecot (update-rc.d)" >&2
		fi
	fi
	exit 0
else
	echo "deps: missing Debian packages:$missing (run: sudo apt-get install$missing)" >&2
	exit 1
fi
