# Capsule — one entry point. `make run` serves the example plugins over stdio; `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
PLUGIN_OUT := target/plugins
EXAMPLES_DIR := target/examples
# `legacy` is built on the frozen capsule:plugin@0.1.0 (wit/0.1.0): the host must keep running such plugins.
# `wasmcp_echo` (plugins/wasmcp-echo) is built the way the wasmcp toolchain builds components: Capsule serves it unchanged.
PLUGINS := hello textkit notes fixture mallory fetch legacy hostile wasmcp_echo
# Plain components (issue #16): plain wit-bindgen, no capsule:plugin export. Package `plain-x` builds
# `plain_x.wasm`. (The JavaScript, Python and WAT ones are built by sdk-guest/guests.mk.)
PLAIN_PLUGINS := plain-types plain-files plain-fetch plain-config
EXAMPLES := hello textkit notes

.PHONY: setup wasm-target plugins conformance-plugin conformance build dist run demo check-layers test test-unit test-e2e fmt clean
.DEFAULT_GOAL := build

# Guest SDKs for Python, TypeScript/JavaScript and C, and their example plugins.
include sdk-guest/guests.mk
plugins: guest-plugins
test-unit: guest-test

# JavaScript MCP clients for the HTTP tests (TypeScript SDK v2, MCP Inspector CLI, a Node 22 runtime),
# pinned by tests/e2e/js/package-lock.json.
JS_CLIENTS := tests/e2e/js/node_modules/.capsule-ok
# A real OAuth authorization server for the auth tests (panva's oidc-provider), pinned by
# tests/e2e/auth/package-lock.json.
AUTH_SERVER := tests/e2e/auth/node_modules/.capsule-ok

setup: $(VENV)/.ok $(JS_CLIENTS) $(AUTH_SERVER) wasm-target

$(AUTH_SERVER): tests/e2e/auth/package.json tests/e2e/auth/package-lock.json
	cd tests/e2e/auth && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

$(JS_CLIENTS): tests/e2e/js/package.json tests/e2e/js/package-lock.json
	cd tests/e2e/js && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

# The Rust target plugins build for (a no-op when installed).
wasm-target:
	@rustup target add wasm32-wasip2 >/dev/null 2>&1 || rustup target add wasm32-wasip2

$(VENV)/.ok: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r tests/requirements.txt
	touch $@

# Each plugin is built on its own: the SDK's features choose which interfaces a plugin exports,
# and one cargo invocation would unify them across plugins.
plugins: wasm-target
	@mkdir -p $(PLUGIN_OUT) $(EXAMPLES_DIR)
	@for p in $(PLUGINS) $(PLAIN_PLUGINS); do \
	  $(CARGO) build --quiet --profile plugin --target wasm32-wasip2 -p $$p || exit 1; \
	  cp target/wasm32-wasip2/plugin/$${p//-/_}.wasm $(PLUGIN_OUT)/$${p//-/_}.wasm; \
	done
	@for p in $(EXAMPLES); do cp $(PLUGIN_OUT)/$$p.wasm $(EXAMPLES_DIR)/; done
	@# The hostile fixture's variant that sleeps inside `describe` (before any policy applies).
	@$(CARGO) build --quiet --profile plugin --target wasm32-wasip2 -p hostile --features describe-sleeps
	@cp target/wasm32-wasip2/plugin/hostile.wasm $(PLUGIN_OUT)/hostile_slow.wasm
	@$(CARGO) build --quiet --profile plugin --target wasm32-wasip2 -p hostile
	@cp plugins/notes/notes.toml $(EXAMPLES_DIR)/notes.toml
	@ls -la $(PLUGIN_OUT)

# The MCP conformance suite's fixture (plugins/conformance), installed as test.wasm: Capsule publishes
# a plugin's tools and prompts as <file stem>_<name>, so `simple_text` becomes the suite's `test_simple_text`.
plugins: conformance-plugin
conformance-plugin: wasm-target
	@mkdir -p $(PLUGIN_OUT)
	$(CARGO) build --quiet --profile plugin --target wasm32-wasip2 -p conformance
	cp target/wasm32-wasip2/plugin/conformance.wasm $(PLUGIN_OUT)/test.wasm

# The official conformance suite (pinned @modelcontextprotocol/conformance, which needs Node >= 22: a
# Node 22 runtime comes from npm too), pinned by tests/conformance/package-lock.json.
CONFORMANCE_SUITE := tests/conformance/node_modules/.capsule-ok

$(CONFORMANCE_SUITE): tests/conformance/package.json tests/conformance/package-lock.json
	cd tests/conformance && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

# Serve the conformance plugin over HTTP and run the suite's 2025-11-25 and 2026-07-28 requirement sets;
# fails when a scored scenario fails. Results: tests/conformance/results/.
conformance: $(CONFORMANCE_SUITE) conformance-plugin
	$(CARGO) build -p capsule-host
	$(PYTHON) tests/conformance/run.py --capsule target/debug/capsule --plugin $(PLUGIN_OUT)/test.wasm

# `make build` / `make run`: the release profile (optimized, a few minutes from scratch). `make dist`:
# whole-program LTO, smaller and faster, several times longer to build (Cargo.toml, README).
build:
	$(CARGO) build --release -p capsule-host

dist:
	$(CARGO) build --profile dist -p capsule-host

run: plugins build
	./target/release/capsule serve --plugins $(EXAMPLES_DIR)

demo: setup plugins build
	$(VENV)/bin/python tests/demo.py -- ./target/release/capsule serve --plugins $(EXAMPLES_DIR)

# The host's crates (host/: common, sandbox, auth, server, and capsule-host with the binary).
HOST_CRATES := -p capsule-common -p capsule-sandbox -p capsule-auth -p capsule-server -p capsule-host

# The layering Cargo cannot see (ARCHITECTURE.md §1): the sandbox knows no MCP, HTTP serving or
# authentication; authentication knows no MCP and no WebAssembly; common depends on no Capsule crate.
# (Cycles between crates Cargo refuses by itself.)
check-layers:
	@bad() { $(CARGO) tree -p $$1 -e normal --prefix none | awk '{print $$1}' | sort -u | grep -Ex "$$2"; }; \
	if bad capsule-sandbox 'rmcp|axum|axum-server|capsule-auth|capsule-server|capsule-host' \
	  || bad capsule-auth 'rmcp|wasmtime|capsule-sandbox|capsule-server|capsule-host' \
	  || bad capsule-common 'capsule-(sandbox|auth|server|host)'; then \
	  echo "check-layers: a crate above depends on what ARCHITECTURE.md section 1 forbids" >&2; exit 1; fi

test-unit: plugins check-layers
	$(CARGO) test $(HOST_CRATES)
	$(CARGO) test -p capsule-plugin --features tools,resources,prompts
	$(CARGO) test -p hello -p textkit -p notes -p fixture -p mallory -p fetch -p conformance -p legacy

# capsule-bench is the load of the rolling-restart test (test_load_balancer.py).
test-e2e: setup plugins
	$(CARGO) build -p capsule-host -p capsule-bench
	CAPSULE_BIN=target/debug/capsule CAPSULE_PLUGINS=$(PLUGIN_OUT) $(VENV)/bin/python -m pytest tests/e2e -q \
	  --ignore=tests/e2e/test_image.py

# The official MCP conformance suite, both revisions, zero scored failures (see `conformance`).
test: test-unit test-e2e conformance

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
	rm -rf $(VENV)

# ------------------------------------------------------------------------------------------ benchmarks
# The standard benchmark suite (tests/bench, issue #9): Capsule against a native rmcp server with the same
# tools (tests/bench/native), stdio and Streamable HTTP, both protocol eras; start-up, plugin count, hot
# reload; telemetry cost (issue #18: HTTP throughput with telemetry off, --metrics, and traces exported
# over OTLP, sampled and always-on, to a counting sink inside capsule-bench); the criterion benchmark of
# instance creation (host/sandbox/benches/instantiate.rs). Writes target/bench/
# (results.json, report.md, servers.log), the plot tests/bench/results/latency.svg, and rewrites the
# generated part of BENCHMARKS.md. About 12 minutes on 2 cores once everything is built (the dist
# profile's LTO builds take about half an hour more on a fresh clone).
BENCH_OUT := target/bench
# plain_types and wasmcp_echo: the criterion benchmark's call-kind group (one greeting per component kind).
BENCH_PLUGINS := hello textkit notes hostile wasmcp_echo
BENCH_SUITE = --examples $(EXAMPLES_DIR) --hello $(PLUGIN_OUT)/hello.wasm --spinner $(PLUGIN_OUT)/hostile.wasm

.PHONY: bench bench-plugins test-bench

bench: bench-plugins
	$(CARGO) build --profile dist -p capsule-host -p capsule-bench -p capsule-native-baseline
	rm -rf target/criterion/instantiate target/criterion/call target/criterion/call-kind
	$(CARGO) bench --profile dist -p capsule-sandbox --bench instantiate
	target/dist/capsule-bench suite $(BENCH_SUITE) --capsule target/dist/capsule \
	  --native target/dist/capsule-native-baseline --out $(BENCH_OUT) --update BENCHMARKS.md \
	  --plot tests/bench/results/latency.svg --plot-link tests/bench/results/latency.svg

# Only the Rust plugins the suite serves (no guest-language toolchains needed): the examples, and the
# hostile fixture whose `spin` tool loads the CPU in the fairness run.
bench-plugins: wasm-target
	@mkdir -p $(PLUGIN_OUT) $(EXAMPLES_DIR)
	@for p in $(BENCH_PLUGINS); do \
	  $(CARGO) build --quiet --profile plugin --target wasm32-wasip2 -p $$p || exit 1; \
	  cp target/wasm32-wasip2/plugin/$$p.wasm $(PLUGIN_OUT)/$$p.wasm; \
	done
	$(CARGO) build --quiet --profile plugin --target wasm32-wasip2 -p plain-types
	cp target/wasm32-wasip2/plugin/plain_types.wasm $(PLUGIN_OUT)/plain_types.wasm
	@for p in $(EXAMPLES); do cp $(PLUGIN_OUT)/$$p.wasm $(EXAMPLES_DIR)/; done
	@cp plugins/notes/notes.toml $(EXAMPLES_DIR)/notes.toml

# Keeps the harness from rotting: its unit tests, then the whole suite once on a tiny workload against
# debug builds (seconds per part). Nothing is timed or compared here: it only has to run.
test: test-bench
test-bench: bench-plugins
	$(CARGO) test -p capsule-bench
	$(CARGO) build -p capsule-host -p capsule-bench -p capsule-native-baseline
	target/debug/capsule-bench suite --quick $(BENCH_SUITE) --capsule target/debug/capsule \
	  --native target/debug/capsule-native-baseline --out target/bench-smoke \
	  --criterion target/bench-smoke/no-criterion

# ------------------------------------------------------------------------------------------ container image
# `make image` (issue #20): a FROM-scratch OCI image of the static `capsule` binary
# (x86_64-unknown-linux-musl, the release profile; IMAGE_PROFILE=dist for whole-program LTO), CA
# certificates and the non-root user 65532 (deploy/image/Containerfile, deploy/image/README.md).
# Built with buildah: no container engine and no base image to pull (vfs storage, chroot isolation:
# it works as root inside an unprivileged CI container). Installs buildah, musl-tools (ring's and
# aws-lc's C code) and ca-certificates from Debian when missing. Tags $(IMAGE_NAME):$(VERSION) and
# $(IMAGE_NAME):latest; --timestamp is the commit's time, so a rebuild from the same inputs is the
# same image and only the first build takes long. `make image-test` checks the image (tests/e2e/test_image.py).
IMAGE_NAME ?= capsule
VERSION ?= $(shell sed -n '/^\[workspace\.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
IMAGE_LICENSES ?= $(shell sed -n '/^\[workspace\.package\]/,/^\[/s/^license = "\(.*\)"/\1/p' Cargo.toml)
# The repository's URL, without any credentials the remote URL carries.
IMAGE_SOURCE ?= $(shell git remote get-url origin 2>/dev/null | sed -E 's#^(https?://)[^@/]*@#\1#' | grep . || echo unknown)
IMAGE_TARGET := x86_64-unknown-linux-musl
IMAGE_PROFILE ?= release
CARGO_TARGET_DIR ?= target
IMAGE_BIN = $(CARGO_TARGET_DIR)/$(IMAGE_TARGET)/$(IMAGE_PROFILE)/capsule
IMAGE_CONTEXT := target/image-context
BUILDAH := buildah --storage-driver vfs

.PHONY: image image-test

image:
	@missing=""; \
	command -v buildah >/dev/null || missing="$$missing buildah"; \
	command -v musl-gcc >/dev/null || missing="$$missing musl-tools"; \
	[ -s /etc/ssl/certs/ca-certificates.crt ] || missing="$$missing ca-certificates"; \
	if [ -n "$$missing" ]; then \
	  [ "$$(id -u)" = 0 ] || { echo "make image needs:$$missing (Debian: apt-get install$$missing, as root)" >&2; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@rustup target add $(IMAGE_TARGET) >/dev/null 2>&1 || rustup target add $(IMAGE_TARGET)
	CC_x86_64_unknown_linux_musl=musl-gcc CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) \
	  $(CARGO) build --profile $(IMAGE_PROFILE) --target $(IMAGE_TARGET) -p capsule-host --bin capsule
	@# The build context: only what the Containerfile copies (its header lists it).
	rm -rf $(IMAGE_CONTEXT)
	install -d -m 0755 $(IMAGE_CONTEXT)/dir $(addprefix $(IMAGE_CONTEXT)/rootfs/,etc/ssl/certs etc/capsule plugins var/cache var/lib)
	install -d -m 1777 $(IMAGE_CONTEXT)/rootfs/tmp
	install -m 0644 deploy/image/passwd deploy/image/group $(IMAGE_CONTEXT)/rootfs/etc/
	install -m 0644 /etc/ssl/certs/ca-certificates.crt $(IMAGE_CONTEXT)/rootfs/etc/ssl/certs/
	@# Without its symbol table (about a fifth of the file): a panic still names its file and line.
	install -s -m 0755 $(IMAGE_BIN) $(IMAGE_CONTEXT)/capsule
	@# Replaces the tags; the image they named before is removed unless another tag still names it.
	@old=$$($(BUILDAH) images --quiet --no-trunc $(IMAGE_NAME):latest 2>/dev/null); \
	$(BUILDAH) bud --isolation chroot --timestamp $$(git log -1 --format=%ct 2>/dev/null || date +%s) \
	  -f deploy/image/Containerfile \
	  --build-arg VERSION=$(VERSION) --build-arg REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
	  --build-arg SOURCE=$(IMAGE_SOURCE) --build-arg LICENSES=$(IMAGE_LICENSES) \
	  -t $(IMAGE_NAME):$(VERSION) -t $(IMAGE_NAME):latest $(IMAGE_CONTEXT) || exit 1; \
	new=$$($(BUILDAH) images --quiet --no-trunc $(IMAGE_NAME):latest); \
	if [ -n "$$old" ] && [ "$$old" != "$$new" ]; then $(BUILDAH) rmi $$old >/dev/null 2>&1 || true; fi
	$(BUILDAH) images $(IMAGE_NAME)

# Inspects the image, mounts its root filesystem, and runs its own /capsule (static): on the host with the
# hello plugin and bearer authentication, and as the image's command chrooted into it as uid 65532 (so it
# needs root, as `make image` does). Not part of `make test` (it needs the image).
image-test: $(VENV)/.ok wasm-target image
	@mkdir -p $(PLUGIN_OUT)
	$(CARGO) build --quiet --profile plugin --target wasm32-wasip2 -p hello
	@cmp -s target/wasm32-wasip2/plugin/hello.wasm $(PLUGIN_OUT)/hello.wasm \
	  || cp target/wasm32-wasip2/plugin/hello.wasm $(PLUGIN_OUT)/hello.wasm
	CAPSULE_IMAGE=$(IMAGE_NAME):$(VERSION) CAPSULE_PLUGINS=$(PLUGIN_OUT) \
	  $(VENV)/bin/python -m pytest tests/e2e/test_image.py -q
