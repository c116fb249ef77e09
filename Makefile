# tlsticket: `make demo` runs the main job, `make test` runs every test.
GO       ?= go
FUZZTIME ?= 10s
COUNT    ?= 10
BENCH    ?= .
BENCHTIME ?= 1s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all demo test deps short fuzz bench lint generate cover

all: lint test

demo:
	$(GO) run ./cmd/ticketctl demo
	cd quic && $(GO) run ./cmd/quicdemo

# test installs what the interop and store tests need when it is missing,
# then vets and runs every test with the race detector.
test: deps
	$(GO) vet ./...
	$(GO) test -race -timeout 12m ./...
	cd quic && $(GO) vet ./... && $(GO) test -race -timeout 5m ./...

deps:
	@sh scripts/ensure-deps.sh

short:
	$(GO) test -short ./...

# fuzz runs every native fuzz target for FUZZTIME and prints one line each.
fuzz:
	@sh scripts/fuzz.sh $(FUZZTIME)

# bench writes benchstat-format results to bench/latest.txt.
bench:
	@mkdir -p bench
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) -count=$(COUNT) ./... | tee bench/latest.txt

# lint: vet, gofmt, staticcheck (pinned, through the module proxy) and the
# dependency allow-list. govulncheck needs vuln.go.dev, which this
# workplace cannot reach; run it where you can.
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@sh scripts/check-deps.sh

generate:
	$(GO) generate ./...
	git diff --exit-code

cover:
	$(GO) test -coverprofile=cover.out ./...
	$(GO) tool cover -func=cover.out | tail -1
