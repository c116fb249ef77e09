#!/bin/sh
# fuzz.sh runs every native fuzz target in the module for the given time
# (default 10s) and prints one summary line per target:
#   <package> <target> execs=<n> new=<n> result=<ok|FAIL>
# FUZZJOBS (default 1) targets run at once, each with one fuzzing worker
# when FUZZJOBS > 1, so that a long run of every target fits the machine.
# It exits non-zero if any target fails; the failing input is written under
# the package's testdata/fuzz/<target>/ by go test. FUZZLIST=1 prints the
# targets ("<package dir> <target>") and runs none.
set -u
t=${1:-10s}
jobs=${FUZZJOBS:-1}
list=$(mktemp)
# The targets are the ones go test lists (so a "func Fuzz" inside a string
# or a comment is no target): a package's names come before its "ok" line.
if ! go test -list '^Fuzz' ./... >"$list.go" 2>&1; then
	cat "$list.go"
	rm -f "$list" "$list.go"
	exit 1
fi
mod=$(go list -m)
awk -v mod="$mod/" '
	/^Fuzz/ { names[n++] = $1; next }
	/^ok / { dir = substr($2, length(mod) + 1); if ($2 == substr(mod, 1, length(mod) - 1)) dir = "."
		for (i = 0; i < n; i++) print dir, names[i]
		n = 0 }
' "$list.go" >"$list"
rm -f "$list.go"
if [ -n "${FUZZLIST:-}" ]; then
	cat "$list"
	rm -f "$list"
	exit 0
fi
parallel=""
[ "$jobs" -gt 1 ] && parallel="-parallel=1"
export t parallel
xargs -P "$jobs" -L 1 sh -c '
	dir=$0 name=$1
	log=$(mktemp)
	if go test -run="^\$" -fuzz="^${name}\$" -fuzztime="$t" $parallel "./$dir" >"$log" 2>&1; then res=ok; else res=FAIL; fi
	last=$(grep "execs:" "$log" | tail -n 1)
	execs=$(echo "$last" | sed -n "s/.*execs: \([0-9]*\).*/\1/p")
	new=$(echo "$last" | sed -n "s/.*new interesting: \([0-9]*\).*/\1/p")
	echo "$dir $name execs=${execs:-0} new=${new:-0} result=$res"
	if [ "$res" = FAIL ]; then sed -n "1,40p" "$log"; rm -f "$log"; exit 255; fi
	rm -f "$log"
' <"$list"
status=$?
rm -f "$list"
[ "$status" -eq 0 ] || exit 1
