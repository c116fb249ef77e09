# tlsticket: `make demo` runs the main job, `make test` runs every test.
GO       ?= go
FUZZTIME ?= 10s
COUNT    ?= 10
BENCH    ?= .
BENCHTIME ?= 1s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all demo test deps short fuzz bench bench-handshake plot lint generate cover

all: lint test

demo:
	$(GO) run ./cmd/ticketctl demo
	cd quic && $(GO) run ./cmd/quicdemo

# test installs what the interop and store tests need when it is missing,
# runs the lint checks (gofmt, vet, staticcheck; the dependency rules are
# tests in conformance/layout_test.go), then every test with the race
# detector.
test: deps lint
	$(GO) test -race -timeout 12m ./...
	cd quic && $(GO) test -race -timeout 5m ./...

deps:
	@sh scripts/ensure-deps.sh

short:
	$(GO) test -short ./...

# fuzz runs every native fuzz target for FUZZTIME and prints one line each.
fuzz:
	@sh scripts/fuzz.sh $(FUZZTIME)

# bench runs every package's benchmarks COUNT times in interleaved rounds
# (each round runs each benchmark once, so a burst of load on a shared
# machine hits one sample of many benchmarks rather than all samples of
# one), appends the results to bench/latest.txt and summarises them with
# benchstat. BenchmarkParallel runs at -cpu=$(PARALLEL_CPU) for the
# speed-up (PARALLEL_CPU= leaves it out). Quick run: make bench BENCHTIME=100ms COUNT=2.
BENCHPKGS ?= $(shell grep -l '^func Benchmark' $$($(GO) list -f '{{$$d := .Dir}}{{range .TestGoFiles}}{{$$d}}/{{.}} {{end}}{{range .XTestGoFiles}}{{$$d}}/{{.}} {{end}}' ./...) | xargs -n1 dirname | sort -u | sed 's|^$(CURDIR)|.|')
PARALLEL_CPU ?= 1,2

bench:
	@mkdir -p bench
	@rm -f bench/latest.txt
	@for i in $$(seq $(COUNT)); do \
		echo "bench: round $$i of $(COUNT)" >&2; \
		$(GO) test -run='^$$' -bench='$(BENCH)' -skip='^BenchmarkParallel$$' -benchmem -benchtime=$(BENCHTIME) -count=1 $(BENCHPKGS) >> bench/latest.txt || exit 1; \
		if [ -n "$(PARALLEL_CPU)" ]; then $(GO) test -run='^$$' -bench='^BenchmarkParallel$$' -benchmem -benchtime=$(BENCHTIME) -count=1 -cpu=$(PARALLEL_CPU) ./seal >> bench/latest.txt || exit 1; fi; \
	done
	$(GO) tool benchstat bench/latest.txt

# bench-handshake compares resumed handshakes with the adapter's tickets
# and with crypto/tls's own: COUNT rounds, each running the four
# Handshake/Resumed benchmarks in a shuffled order and each in its own
# process (the first benchmark a process runs is the slowest, which biased
# the stack that always ran first), then benchstat with the two stacks side
# by side and the p-value of each difference.
HANDSHAKES = stack=Adapter/TLS12 stack=CryptoTLS/TLS12 stack=Adapter/TLS13 stack=CryptoTLS/TLS13
bench-handshake:
	@mkdir -p bench
	$(GO) test -c -o bench/benchmarks.test ./benchmarks
	@rm -f bench/handshake.txt
	@for i in $$(seq $(COUNT)); do \
		echo "bench-handshake: round $$i of $(COUNT)" >&2; \
		for b in $$(printf '%s\n' $(HANDSHAKES) | shuf); do \
			(cd benchmarks && ../bench/benchmarks.test -test.run='^$$' -test.bench="^BenchmarkHandshake\$$/Resumed/$$b\$$" \
				-test.benchtime=$(BENCHTIME) -test.benchmem) >> bench/handshake.txt || exit 1; \
		done; \
	done
	$(GO) tool benchstat -col '/stack@(CryptoTLS Adapter)' bench/handshake.txt

# plot draws docs/performance.png from bench/latest.txt (run make bench first).
plot:
	$(GO) run ./internal/tools/benchplot -o docs/performance.png bench/latest.txt

# lint: gofmt, vet and staticcheck (pinned, through the module proxy). The
# dependency allow-list and import rules are conformance/layout_test.go,
# which make test runs. govulncheck needs vuln.go.dev, which this workplace
# cannot reach; run it where you can.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd quic && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

generate:
	$(GO) generate ./...
	git diff --exit-code

cover:
	$(GO) test -coverprofile=cover.out ./...
	$(GO) tool cover -func=cover.out | tail -1

# soak runs `ticketctl serve` for SOAKTIME or SOAKHANDSHAKES handshakes,
# whichever comes first, with Go clients resuming TLS 1.2 and TLS 1.3
# sessions across a key rotation, and prints resumptions, failures and the
# server's heap. make test runs a short form.
.PHONY: soak
SOAKTIME ?= 60s
SOAKHANDSHAKES ?= 50000
soak:
	$(GO) test -count=1 -timeout 5m -run '^TestSoak$$' -v ./cmd/ticketctl -soak.duration=$(SOAKTIME) -soak.handshakes=$(SOAKHANDSHAKES)

# redis-fleet is the long form of the Redis Cluster and Sentinel tests:
# each failover test REDISFLEET_COUNT times (a new topology each time), with
# 0-RTT ClientHellos flowing for REDISFLEET_FLOW from REDISFLEET_WORKERS
# goroutines per setting before the master is SIGKILLed, the key-
# distribution failover tests as often, and the replay-store benchmark on a
# single server and a cluster, with and without replica acknowledgement.
# make test runs one short failover per topology.
.PHONY: redis-fleet
REDISFLEET_COUNT ?= 5
REDISFLEET_FLOW ?= 3s
REDISFLEET_WORKERS ?= 8
redis-fleet: deps
	$(GO) test -count=$(REDISFLEET_COUNT) -timeout 30m -run '^TestFailover' -v ./conformance -redisfleet.flow=$(REDISFLEET_FLOW) -redisfleet.workers=$(REDISFLEET_WORKERS)
	$(GO) test -count=$(REDISFLEET_COUNT) -timeout 10m -run 'Cluster|Sentinel' -v ./keydist/rediskeys
	$(GO) test -count=5 -run '^$$' -bench '^BenchmarkCheckAndStore$$' -benchtime 5000x ./resumption/redisreplay
