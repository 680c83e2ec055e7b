# Tollgate build tooling.
#
# Building, running and testing need only Go (generated code is committed
# under gen/). Code generation, proto linting and breaking-change checks also
# need Node/npm: buf and the google/api + google/rpc protos are pinned in
# package.json and installed into node_modules/ by `make tools`.
#
# `make` (or `make help`) lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

GO        ?= go
NPM       ?= npm
BUF       ?= node_modules/.bin/buf
# Revision `make breaking` compares the working tree's protos against.
BASE      ?= HEAD~1
# How long `make fuzz` runs each fuzz target.
FUZZTIME  ?= 10s

# Marks a completed `npm ci`; rebuilt when the lock file (or package.json)
# is newer. It lives inside node_modules/, so deleting node_modules/ also
# forces a reinstall.
NPM_STAMP := node_modules/.tollgate-npm-ci.stamp

# The google protos our .proto files (transitively) import. They are copied
# from the pinned npm package google-proto-files into the gitignored
# .protodeps/ folder, which buf.yaml declares as a workspace module.
PROTODEPS_SRC   := node_modules/google-proto-files
PROTODEPS_DIR   := .protodeps
PROTODEPS_FILES := \
	google/api/annotations.proto \
	google/api/http.proto \
	google/api/httpbody.proto \
	google/api/field_behavior.proto \
	google/api/resource.proto \
	google/api/client.proto \
	google/api/launch_stage.proto \
	google/rpc/status.proto \
	google/rpc/code.proto \
	google/rpc/error_details.proto

.PHONY: help
help: ## Show this help (default target)
	@echo 'Usage: make <target> [VAR=value]'
	@echo
	@awk 'BEGIN {FS = ":.*## "} \
		/^##@ / {printf "\n%s\n", substr($$0, 5); next} \
		/^[a-zA-Z0-9_.-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo 'Variables: BASE=$(BASE) (breaking), FUZZTIME=$(FUZZTIME) (fuzz), BUF=$(BUF)'

##@ Toolchain (needs Node/npm)

.PHONY: tools
tools: $(NPM_STAMP) protodeps ## Install pinned buf, google protos and the Connect-Node test client (npm ci if needed), then protodeps

$(NPM_STAMP): package-lock.json package.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

.PHONY: protodeps
protodeps: $(NPM_STAMP) ## Copy the google/api and google/rpc protos into .protodeps/ (idempotent)
	@for f in $(PROTODEPS_FILES); do \
		src="$(PROTODEPS_SRC)/$$f"; dst="$(PROTODEPS_DIR)/$$f"; \
		[ -f "$$src" ] || { echo "protodeps: $$src not found (is google-proto-files installed?)" >&2; exit 1; }; \
		if ! cmp -s "$$src" "$$dst"; then \
			mkdir -p "$$(dirname "$$dst")"; cp "$$src" "$$dst"; echo "protodeps: copied $$f"; \
		fi; \
	done
	@# Drop anything else: a stale extra file would silently become part of the buf workspace.
	@keep=" $(PROTODEPS_FILES) "; \
	( cd $(PROTODEPS_DIR) && find . -type f ) | sed 's|^\./||' | while read -r f; do \
		case "$$keep" in *" $$f "*) ;; *) rm -f "$(PROTODEPS_DIR)/$$f"; echo "protodeps: removed stale $$f";; esac; \
	done
	@find $(PROTODEPS_DIR) -mindepth 1 -type d -empty -delete

##@ Code generation

.PHONY: generate
generate: tools ## Regenerate gen/ from proto/ with buf (rm -rf gen first)
	rm -rf gen
	$(BUF) generate

.PHONY: checkgenerate
checkgenerate: generate ## Fail if regenerating changes gen/ (committed code out of date)
	@changes="$$(git status --porcelain --untracked-files=all -- gen/)"; \
	if [ -n "$$changes" ]; then \
		echo "checkgenerate: gen/ is out of date with proto/ (or buf.gen.yaml / plugin versions)." >&2; \
		echo "Run 'make generate' and commit the result. Changed files:" >&2; \
		echo "$$changes" >&2; \
		git --no-pager diff --stat -- gen/ >&2 || true; \
		exit 1; \
	fi
	@echo "checkgenerate: gen/ is up to date."

##@ Checks

.PHONY: lint
lint: lint-proto lint-go ## buf lint + buf format check + go vet + gofmt check

.PHONY: lint-proto
lint-proto: protodeps ## buf lint and buf format check (proto/ only)
	$(BUF) lint
	@# Only our module: the .protodeps copies are not buf-formatted upstream.
	$(BUF) format -d --exit-code proto

.PHONY: lint-go
lint-go: ## go vet ./... and gofmt check over all Go files
	$(GO) vet ./...
	scripts/check-gofmt.sh

.PHONY: breaking
breaking: protodeps ## buf breaking: working tree protos vs BASE (default HEAD~1)
	BUF="$(BUF)" scripts/buf-breaking.sh "$(BASE)"

##@ Go (needs only Go)

# The race detector needs cgo and a C compiler; on a machine without one the
# suite still runs, without -race (CI has gcc, so CI always races).
RACE := $(if $(shell command -v $$($(GO) env CC) 2>/dev/null),-race,)

.PHONY: test
test: ## Run all tests (with the race detector when a C compiler is present): the README test command
	$(GO) test $(RACE) -count=1 -timeout 5m ./...

.PHONY: bench
bench: ## Load harness: direct vs Tollgate (bare and with every policy) vs grpc-gateway vs Vanguard, one table (bench/, its own module; ~3 min)
	cd bench && $(GO) run ./cmd/loadbench

.PHONY: loadbench
loadbench: bench ## Same as bench

.PHONY: benchcheck
benchcheck: ## The load harness module is tidy, builds and vets (CI; does not run it)
	cd bench && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) build -o /dev/null ./cmd/loadbench

.PHONY: microbench
microbench: ## Run all go test benchmarks (no tests)
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: fuzz
fuzz: ## Run every Fuzz target for FUZZTIME each (default 10s)
	GO="$(GO)" scripts/fuzz.sh "$(FUZZTIME)"

.PHONY: build
build: ## Build bin/tollgate
	$(GO) build -o bin/tollgate ./cmd/tollgate

# The recipe execs the binary, so signals reach the gateway itself (go run
# would not forward them and leave it running as an orphan): Ctrl-C or
# `pkill -x tollgate` stops it.
.PHONY: run
run: ## Build bin/tollgate and run it in demo mode in the foreground (stop with Ctrl-C)
	$(GO) build -o bin/tollgate ./cmd/tollgate
	exec bin/tollgate serve --demo
