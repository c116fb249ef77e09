#!/bin/sh
# check-deps.sh enforces the dependency allow-list of STYLE.md and the
# one-way import rule: the core packages pull no Redis client.
set -eu
allowed='^(golang.org/x/crypto|golang.org/x/sys|golang.org/x/perf|gonum.org/v1/plot|github.com/cloudflare/circl|github.com/google/go-cmp|github.com/redis/go-redis/v9)$'
bad=$(go list -m -f '{{if and (not .Main) (not .Indirect)}}{{.Path}}{{end}}' all | grep -Ev "$allowed" || true)
if [ -n "$bad" ]; then echo "check-deps: dependencies outside the allow-list:"; echo "$bad"; exit 1; fi
core=$(go list -deps ./format ./seal/... ./status ./resumption ./engine/... ./keyfile | grep -E 'redis|cloudflare/circl' || true)
if [ -n "$core" ]; then echo "check-deps: core packages import Redis or circl:"; echo "$core"; exit 1; fi
echo "check-deps: ok"
