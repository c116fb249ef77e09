#!/bin/sh
# ensure-deps.sh installs the real components the tests run against
# (redis-server, openssl, gnutls-cli, and a C compiler with libssl's headers
# for the test that makes tickets with the real OpenSSL library) when they
# are missing. It needs root
# and Debian's apt-get; without them it says what is missing, and the tests
# that need a missing component fail under CI=true.
set -u
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v redis-cli >/dev/null 2>&1 || missing="$missing redis-tools" # redis-cli --cluster create
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v gnutls-cli >/dev/null 2>&1 || missing="$missing gnutls-bin"
command -v cc >/dev/null 2>&1 || missing="$missing gcc libc6-dev"
[ -f /usr/include/openssl/ssl.h ] || missing="$missing libssl-dev"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "ensure-deps: installing$missing"
	# apt's output (progress, debconf warnings) is kept in a file and shown
	# only if it fails.
	log=$(mktemp) || exit 1
	if ! { apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "ensure-deps: apt-get failed for$missing" >&2
		exit 1
	fi
	rm -f "$log"
else
	echo "ensure-deps: missing$missing (run as root on Debian to install them)" >&2
fi
