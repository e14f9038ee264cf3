# ckpt build and test entry points. `make test` is what CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build install docs test race fuzz bench vet clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ckpt ./cmd/ckpt

# `make install` puts the binary, one man page per command and the bash,
# zsh and fish completions under PREFIX (PREFIX=$$HOME/.local for a user;
# DESTDIR for packaging). Man pages and completions come from the binary
# itself, so they always match it.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
install: build
	rm -rf bin/man && bin/ckpt generate --man bin/man
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(MANDIR)/man1' \
		'$(DESTDIR)$(DATADIR)/bash-completion/completions' \
		'$(DESTDIR)$(DATADIR)/zsh/site-functions' \
		'$(DESTDIR)$(DATADIR)/fish/vendor_completions.d'
	install -m 0755 bin/ckpt '$(DESTDIR)$(BINDIR)/ckpt'
	install -m 0644 bin/man/*.1 '$(DESTDIR)$(MANDIR)/man1/'
	bin/ckpt completion bash > '$(DESTDIR)$(DATADIR)/bash-completion/completions/ckpt'
	bin/ckpt completion zsh > '$(DESTDIR)$(DATADIR)/zsh/site-functions/_ckpt'
	bin/ckpt completion fish > '$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/ckpt.fish'

# The command reference in docs/cli, generated from the commands' help.
# A test (TestDocsCurrent) fails while it is stale: run this and commit.
docs: build
	bin/ckpt generate --markdown docs/cli

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
bench-all: bench bench-shred bench-crypto bench-mem bench-scan bench-diff bench-audit

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
	$(GO) test -run '^$$' -bench . -benchtime 3x -count 1 -timeout 60m ./mem/ ./internal/procmem/

# Audit log (issue 13): durable appends from 1, 64 and 256 goroutines,
# verify of one million records on one core (wall and CPU time; it builds
# an 870 MB log in the temp dir first), and what access monitoring costs a
# 1 GiB cat and one open (the monitoring halves need root).
.PHONY: bench-audit
bench-audit:
	$(GO) test -run '^$$' -bench 'Append' -benchtime 3s -count 1 ./audit/
	$(GO) test -run '^$$' -bench 'Verify1M' -benchtime 2x -cpu 1 -count 1 -timeout 30m ./audit/
	$(GO) test -run '^$$' -bench 'Monitor' -benchtime 5x -count 1 ./audit/

# --- ckpt agent (issue 12) ---
# The agent's figures: plaintext dwell of a 1 GiB archive against
# `ckpt seal --shred-source`, 200 small archives at once against one
# `ckpt seal` call, and an idle agent over 10,000 sealed sets (CPU, RSS).
# Not part of `make test`: it writes a few GiB to CKPT_BENCH_DIR.
.PHONY: bench-agent
bench-agent:
	$(GO) test -run '^$$' -bench 'Dwell1GiB|Burst200' -benchtime 3x -count 1 -timeout 60m ./agent/
	$(GO) test -run '^$$' -bench 'Idle10k' -benchtime 1x -count 1 -timeout 10m ./agent/

# Cost shapes (issue 11): archives that grow in one direction each —
# 100 to 10,000 processes, a million pagemap entries, 100,000 mappings,
# 100,000 fds, 1/4 GiB of pages for diff (16 GiB with CKPT_SHAPES_BIG=1) —
# built with internal/testgen into CKPT_BENCH_DIR (default
# $$TMPDIR/ckpt-bench, about 12 GiB; 16 GiB more with the big one). Prints a
# table of median wall time and peak RSS per command. CKPT_SHAPES=procs,fds
# picks shapes by name prefix; CKPT_SHAPES_RUNS sets the runs (default 3).
.PHONY: bench-shapes
bench-shapes:
	$(GO) test -run '^$$' -bench 'Shapes' -benchtime 1x -count 1 -timeout 120m ./cmd/ckpt/

# --- transfer: `ckpt push` of a 1 GiB sealed set to a local MinIO against
# `curl --aws-sigv4 -T`, and `ckpt pull` (with verification) against curl
# and sha256sum, with peak RSS. Needs MinIO (see .ci/run); the set is cached
# in CKPT_BENCH_DIR (default the temp dir); not part of `make test`.
.PHONY: bench-transfer
bench-transfer:
	$(GO) test -run '^$$' -bench 'Push|Pull' -benchtime 3x -count 1 -timeout 60m ./remote/
