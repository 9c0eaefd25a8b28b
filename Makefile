# pactidy build, test and demo.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)

# libalpm 13 (pacman 6.0) names two list/handle structs differently from the
# headers go-alpm v2.3.1 expects; these defines bridge that and are harmless
# on newer headers. They must reach every cgo build, test and vet.
# Recursively expanded on purpose: the check runs when a recipe runs, after
# "deps" has installed the headers on a fresh machine, not when make starts.
ALPM13_DEFINES = $(shell [ "$$(pkg-config --modversion libalpm 2>/dev/null | cut -d. -f1)" = 13 ] && echo -D__alpm_list_t=_alpm_list_t -D__alpm_handle_t=_alpm_handle_t)
export CGO_CFLAGS = -O2 -g $(ALPM13_DEFINES)

.PHONY: all deps build test vet fmt-check unit demo bench bench-smoke clean dist

all: build

# Installs system packages (idempotent; quick when nothing is missing).
deps:
	@bash scripts/install-deps.sh

build: deps
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pactidy ./cmd/pactidy

vet: deps
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

unit: deps
	$(GO) test -count=1 -timeout 30m ./...

test: deps vet fmt-check unit

demo: build
	@bash scripts/demo.sh

# Benchmarks (minutes; not part of make test). The harness times pactidy
# against pacman, fd, find and ls on generated roots cached in .bench/roots
# and writes .bench/results/latest.{md,json}; see BENCHMARKS.md.
BENCH_ARGS ?= -sizes small,large,db5k,xlarge -reps 5
bench: build
	$(GO) run ./bench $(BENCH_ARGS) -pactidy bin/pactidy -out .bench/results
	@$(MAKE) --no-print-directory bench-micro

.PHONY: bench-micro
bench-micro: deps
	$(GO) test -run '^$$' -bench . -benchmem ./scan/ ./cache/ ./internal/vercmp/

# The release tarball of the tag v$(PKGVER) (the PKGBUILD's source).
PKGVER = $(shell sed -n 's/^pkgver=//p' PKGBUILD)
dist:
	@mkdir -p dist
	bash scripts/dist.sh v$(PKGVER) dist/pactidy-$(PKGVER).tar.gz
	@sha256sum dist/pactidy-$(PKGVER).tar.gz

clean:
	rm -rf bin dist
