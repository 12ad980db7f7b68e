# The two commands a newcomer types: `make run` and `make test`.
GO      ?= go
BIN     := bin/grantbench
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build bench lint tools test-tools provider fuzz screenshots test-rp-matrix

## run: build and run the main job on the embedded default
run: build tools
	$(BIN) demo

## test: the whole test suite (unit tests, Ginkgo suites in headless Chrome)
test: test-tools
	$(GO) vet ./...
	$(GO) test -race -count=1 -p 4 -timeout 9m ./...

## test-rp-matrix: the bug-switch matrix of grantbench rp (each of the Go example
## app's 20 bug switches must fail exactly its P check; about 9 minutes, so not in make test)
test-rp-matrix: test-tools
	GRANTBENCH_RP_MATRIX=1 $(GO) test -count=1 -timeout 20m -run 'TestRPBugSwitchMatrix' ./cmd/grantbench/

## build: the grantbench binary in bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/grantbench

## provider: the bundled mock provider alone on 127.0.0.1:9000
provider: build
	$(BIN) provider

## bench: Go benchmarks (token endpoint, runner; browser flows beside HTTP consent), then the bars measured with
## wrk and vegeta against the pinned provider (issues 2 and 4); BARS=0 skips them,
## MILLION=1 adds the 1,000,000-flow peak-RSS run (about 6 minutes); SOAK=1 adds
## the provider's RSS under 5 minutes of authorization-code load (deploy/bench/soak.sh)
BARS    ?= 1
MILLION ?= 0
SOAK    ?= 0
bench:
	$(GO) test -run '^$$' -bench . -skip 'AuthCodeConsent' -benchmem ./...
	@echo "== authorization code flows, HTTP consent beside headless Chromium (8 at once; cpu-ms/flow counts the browser too)"
	$(GO) test -run '^$$' -bench 'AuthCodeConsent' -benchtime 15s ./flows/
ifeq ($(BARS),1)
	@scripts/ensure-tools.sh wrk curl python3 taskset time
	mockprovider/internal/benchfloor/run.sh
	SKIP_MILLION=$(if $(filter 1,$(MILLION)),,1) deploy/bench/bars.sh
endif
ifeq ($(SOAK),1)
	deploy/bench/soak.sh
endif

## fuzz: every fuzz target in turn for FUZZTIME each (make fuzz FUZZTIME=2m); the
## targets are found in the *_test.go files, so a new one is never left out
FUZZTIME ?= 30s
fuzz:
	@grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | \
	  sed -E 's#^\./(.*)/[^/]+:func (Fuzz[A-Za-z0-9_]+)\(.*#\1 \2#' | sort | \
	  while read -r pkg fn; do echo "== $$fn ($$pkg, $(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$pkg/ || exit 1; done

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## tools: install what a fresh machine lacks (Chromium as root, else a message)
tools:
	@scripts/ensure-tools.sh chromium

# The tests also start a real Prometheus and run promtool (Debian: prometheus), the
# Python example apps of examples/apps (Debian's python3-fastapi, -uvicorn, -jwt, -requests),
# and panva's oidc-provider on Node.js (Debian: nodejs, npm; internal/oidcprovider runs
# npm ci from its package-lock.json, from the npm registry, when node_modules is stale);
# the mutation matrix shares one chromium-headless-shell (half chromium's CPU per run).
test-tools:
	@scripts/ensure-tools.sh chromium chromium-headless-shell prometheus node npm py:fastapi py:uvicorn py:jwt py:requests

## screenshots: refresh docs/report.png from a real run with failures (a defect on) and a short load run
screenshots: build tools
	rm -rf out/screenshots
	-$(BIN) conform --defect alg_none --out out/screenshots --no-color
	-$(BIN) load --flow client_credentials --rate 50 --duration 6s --threshold 'client_credentials:p99<5ms' --out out/screenshots
	GRANTBENCH_SCREENSHOTS=1 GRANTBENCH_REPORT_FROM=$(CURDIR)/out/screenshots $(GO) test -count=1 -run TestHTMLInBrowser ./reports/
