# ckpt build and test entry points. `make test` is what CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build install test race fuzz bench vet clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ckpt ./cmd/ckpt

install:
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/ckpt

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }

test: vet
	$(GO) test -count=1 ./...

race:
	$(GO) test -race -count=1 ./...

clean:
	rm -rf bin

# Every fuzz target for FUZZTIME each (default 1m). Crashers land in the
# package's testdata/fuzz and become regression seeds.
FUZZTIME ?= 1m
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x $$pkg || exit 1; \
		done; \
	done

# `ckpt inspect --all` on synthetic plain archives with 64 MiB, 1 GiB and
# 4 GiB of memory pages (time must stay flat, peak RSS small) and on a
# 1 GiB zstd archive against one `zstd -d` of it. Archives are cached in
# CKPT_BENCH_DIR (default $$TMPDIR/ckpt-bench, about 6 GiB).
bench:
	$(GO) test -run '^$$' -bench 'Inspect' -benchtime 3x -count 1 -timeout 60m ./cmd/ckpt/

# All benchmarks of every area.
.PHONY: bench-all
bench-all: bench bench-shred bench-crypto bench-mem bench-scan bench-diff

# Shredding 1 GiB with one pass and removal, ckpt against GNU shred -n1 -u,
# side by side on one filesystem (CKPT_BENCH_DIR, default the temp dir).
# Not part of `make test`: it writes several GiB.
.PHONY: bench-shred
bench-shred:
	$(GO) test -run '^$$' -bench 'Shred1GiB$$' -benchtime 3x -count 1 ./shred/

# Sealing and opening 1 GiB: ckpt against age alone through its Go API,
# against `sha256sum A && age -r R -o A.age A && sha256sum A.age`, and
# against `age -d`, with the peak RSS of the CLI runs; plus the CPU cost
# alone in memory. On CKPT_BENCH_DIR (default the temp dir); not part of
# `make test`: it writes several GiB.
.PHONY: bench-crypto
bench-crypto:
	$(GO) test -run '^$$' -bench '1GiB$$|Mem$$' -benchtime 3x -count 1 -timeout 60m ./crypto/seal/

# Diffing two synthetic archives with 1 GiB of memory pages each, plain and
# zstd, in process and through the CLI (with its peak RSS). On
# CKPT_BENCH_DIR (default the temp dir); not part of `make test`: it writes
# 4 GiB of archives.
.PHONY: bench-diff
bench-diff:
	$(GO) test -run '^$$' -bench 'Diff1GiB|DiffCLI1GiB|HashPages' -benchtime 3x -count 1 -timeout 60m ./diff/

# Secret scanning: the matcher in memory (memory-like, text and crafted
# content), a synthetic plain tar with 1 GiB of pages in process, and
# `ckpt scan` on 1 GiB plain and zstd and on 4 GiB (peak RSS). Archives go
# to CKPT_BENCH_DIR (default the temp dir); not part of `make test`: it
# writes about 7 GiB.
.PHONY: bench-scan
bench-scan:
	$(GO) test -run '^$$' -bench 'Matcher|ScanArchive|ScanCLI' -benchtime 3x -count 1 -timeout 60m ./scan/

# Memory forensics: search (literal, regex), hexdump and core in process on
# a synthetic plain tar with 1 GiB of pages (CKPT_BENCH_SIZE), then every
# `ckpt mem` command through the CLI on 1 GiB and 4 GiB
# (CKPT_BENCH_BIG_SIZE) with wall and CPU rates and peak RSS (a run over
# 64 MiB fails). Archives go to CKPT_BENCH_DIR (default the temp dir); not
# part of `make test`: it writes about 5 GiB.
.PHONY: bench-mem
bench-mem:
	$(GO) test -run '^$$' -bench . -benchtime 3x -count 1 -timeout 60m ./mem/ ./mem/procmem/

# --- transfer: `ckpt push` of a 1 GiB sealed set to a local MinIO against
# `curl --aws-sigv4 -T`, and `ckpt pull` (with verification) against curl
# and sha256sum, with peak RSS. Needs MinIO (see .ci/run); the set is cached
# in CKPT_BENCH_DIR (default the temp dir); not part of `make test`.
.PHONY: bench-transfer
bench-transfer:
	$(GO) test -run '^$$' -bench 'Push|Pull' -benchtime 3x -count 1 -timeout 60m ./remote/
