# arbor: see README.md. `make demo` and `make test` are the two commands.
SHELL := /bin/bash
GO ?= go
BIN := bin/arbor
APT_PKGS := python3-torch python3-torchvision python3-numpy dataset-fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export GOFLAGS ?= -mod=mod

.PHONY: setup build test bench lint demo test-slurm clean

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

build:
	$(GO) build -o $(BIN) ./cmd/arbor

test: build
	$(GO) test -count=1 -timeout 40m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 20x ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: setup build
	./$(BIN) tree seeds

# test-slurm starts a one-node Slurm cluster on this machine (installing
# Debian's munge/slurm packages if missing), runs the Slurm integration tests
# and the per-job overhead benchmark against it, and always stops it again.
SLURM_DIR ?= /tmp/arbor-slurm
test-slurm:
	@conf=$$(testdata/slurm/start.sh $(SLURM_DIR)) || exit 1; \
	trap 'testdata/slurm/stop.sh $(SLURM_DIR)' EXIT; \
	ARBOR_SLURM_CONF=$$conf $(GO) test -count=1 -timeout 20m -v -run 'Slurm' \
	  -bench 'SlurmJob' -benchtime 5x ./train/ 2>&1 | \
	  grep -v -e '^=== ' -e 'level=INFO' ; exit $${PIPESTATUS[0]}

clean:
	rm -rf bin
