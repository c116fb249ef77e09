#!/bin/sh
# fuzz.sh runs every native fuzz target in the module for the given time
# (default 10s) and prints one summary line per target:
#   <package> <target> execs=<n> new=<n> result=<ok|FAIL>
# It exits non-zero if any target fails; the failing input is written under
# the package's testdata/fuzz/<target>/ by go test.
set -u
t=${1:-10s}
status=0
for f in $(git ls-files '*_test.go'); do
	dir=$(dirname "$f")
	for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$f"); do
		log=$(mktemp)
		if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$t" "./$dir" >"$log" 2>&1; then res=ok; else res=FAIL; status=1; fi
		last=$(grep 'execs:' "$log" | tail -n 1)
		execs=$(echo "$last" | sed -n 's/.*execs: \([0-9]*\).*/\1/p')
		new=$(echo "$last" | sed -n 's/.*new interesting: \([0-9]*\).*/\1/p')
		echo "$dir $name execs=${execs:-0} new=${new:-0} result=$res"
		[ "$res" = FAIL ] && sed -n '1,40p' "$log"
		rm -f "$log"
	done
done
exit $status
