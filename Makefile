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

clean:
	rm -rf bin
