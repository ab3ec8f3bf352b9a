# arbor: see README.md. `make demo` and `make test` are the two commands.
SHELL := /bin/bash
GO ?= go
BIN := bin/arbor
APT_PKGS := python3-torch python3-torchvision python3-numpy dataset-fashion-mnist
# bubblewrap confines untrusted children (train.sandbox, mine.sandbox).
APT_PKGS += bubblewrap
# Debian's Chromium drives the dashboard's browser tests (evolve/dashboard).
APT_PKGS += chromium fonts-liberation
# onnx checks the files `arbor best --onnx` writes (onnx.checker).
APT_PKGS += python3-onnx
# graphviz (dot) checks the DOT that `arbor lineage --dot` writes.
APT_PKGS += graphviz
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export GOFLAGS ?= -mod=mod

.PHONY: setup build test bench lint lint-tools demo test-slurm clean

# setup is idempotent: it installs only the Debian packages that are missing.
setup:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "setup: Debian packages present"; fi
	$(GO) mod download
	@/usr/bin/python3 -c 'import torch, torchvision; print("setup: torch", torch.__version__, "torchvision", torchvision.__version__)'
	@$(MAKE) --no-print-directory lint-tools

build:
	$(GO) build -o $(BIN) ./cmd/arbor

# test: a dependency that `make setup` installs and that a test finds missing
# fails the test (train/testenv); only the Slurm tests skip, for test-slurm.
test: build
	ARBOR_TEST_REQUIRE=all $(GO) test -count=1 -timeout 40m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 20x ./...

# The linters, pinned, installed into bin/ (make setup installs them too).
STATICCHECK_VERSION := v0.8.2
DEADCODE_VERSION := v0.39.0
TOOLS := $(CURDIR)/bin

lint-tools:
	@[ -x $(TOOLS)/staticcheck ] && $(TOOLS)/staticcheck -version | grep -q $(STATICCHECK_VERSION:v%=%) || \
	  GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@[ -x $(TOOLS)/deadcode ] && $(GO) version -m $(TOOLS)/deadcode | grep -q 'mod.*$(DEADCODE_VERSION)' || \
	  GOBIN=$(TOOLS) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)

# lint: gofmt, go vet, staticcheck and deadcode (-test: code that neither
# the command nor a test reaches), each must come back clean.
lint: lint-tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "gofmt: clean"
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	@out=$$($(TOOLS)/deadcode -test ./...); if [ -n "$$out" ]; then echo "deadcode: unreachable functions:"; echo "$$out"; exit 1; fi
	@echo "deadcode: clean"

# demo: set-up, build, mine torchvision, run a real short search, write the report.
# A second run reuses the packages, the build and the mined catalog (content-hash cache).
DEMO_LLM := $(if $(OPENAI_API_KEY),ARBOR_LLM_BASE_URL=$${ARBOR_LLM_BASE_URL:-https://api.openai.com/v1} ARBOR_LLM_MODEL=$${ARBOR_LLM_MODEL:-gpt-4o-mini},)
# DEMO_BUDGET=N trains N candidates instead of examples/demo.yaml's 16
# (CI runs `make demo DEMO_BUDGET=4`: the same targets and paths, less time).
DEMO_BUDGET ?=
demo: setup build
	@mkdir -p demo
	./$(BIN) mine /usr/lib/python3/dist-packages/torchvision/models --probe -o demo/catalog.json
	./$(BIN) catalog list demo/catalog.json --usable | head -20
	rm -rf demo/run
	$(DEMO_LLM) ./$(BIN) evolve --config examples/demo.yaml$(if $(DEMO_BUDGET), --budget $(DEMO_BUDGET))
	./$(BIN) status demo/run
	./$(BIN) best demo/run -o demo/best.py
	./$(BIN) lineage demo/run $$(./$(BIN) best demo/run --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
	./$(BIN) report demo/run -o demo/report
	@echo "demo: report at $(CURDIR)/demo/report/index.html, best model at demo/best.py"

# test-slurm starts a one-node Slurm cluster on this machine (installing
# Debian's munge/slurm packages if missing), runs the Slurm integration tests
# (the evaluator, and `arbor evolve` on Slurm with a kill -9 and --resume)
# and the per-job overhead benchmark against it, and always stops it again.
SLURM_DIR ?= /tmp/arbor-slurm
test-slurm: build
	@conf=$$(testdata/slurm/start.sh $(SLURM_DIR)) || exit 1; \
	trap 'testdata/slurm/stop.sh $(SLURM_DIR)' EXIT; \
	ARBOR_SLURM_CONF=$$conf ARBOR_TEST_REQUIRE=all,slurm $(GO) test -count=1 -timeout 20m -v -run 'Slurm' \
	  -bench 'SlurmJob' -benchtime 5x ./train/ ./cmd/arbor/ 2>&1 | \
	  grep -v -e '^=== ' -e 'level=INFO' ; exit $${PIPESTATUS[0]}

clean:
	rm -rf bin
