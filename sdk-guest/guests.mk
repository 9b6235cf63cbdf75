# Guest SDKs and example plugins for Python, JavaScript/TypeScript and C.
# Included by the root Makefile (`include sdk-guest/guests.mk`); also usable alone:
#     make -f Makefile -f sdk-guest/guests.mk guest-plugins
#
#   guest-setup     install the toolchains (pip into target/guest-venv, npm into sdk-guest/js/node_modules,
#                   zig from PyPI into target/guest-venv); needs no root and no apt
#   guest-plugins   build tabular.wasm (Python), markdown.wasm + markdown_sm.wasm (TypeScript on QuickJS and
#                   StarlingMonkey) and checksum.wasm (C) into $(GUEST_OUT), and the plain components below
#   guest-plain     the plain components (no capsule:plugin export, no SDK; issue #16): plain_js.wasm
#                   (componentize-js), plain_py.wasm (componentize-py), plain_missing.wasm (WAT, jco parse)
#   guest-test      the SDKs' and example plugins' own tests (native, no host needed) + generated-file checks
#   guest-python / guest-js / guest-c      one language (setup included)
#   guest-c-bindings        regenerate sdk-guest/c/bindings (wit-bindgen c; builds a small generator if
#                           `wit-bindgen` is not on PATH: about 2 CPU-minutes the first time)
#   guest-c-bindings-check  regenerate into a temporary folder and diff (needs a generator, see above)
#
# Plugins are file targets: a second `make guest-plugins` rebuilds only what changed.

GUEST_OUT ?= $(or $(PLUGIN_OUT),target/plugins)
GUEST_PYTHON ?= $(or $(PYTHON),python3)
GUEST_VENV := target/guest-venv
GUEST_PY := $(GUEST_VENV)/bin/python

.PHONY: guest-setup guest-plugins guest-test guest-wit guest-plain \
        guest-setup-python guest-python guest-test-python \
        guest-setup-js guest-js guest-test-js \
        guest-setup-c guest-c guest-test-c guest-c-bindings guest-c-bindings-check

guest-setup: guest-setup-python guest-setup-js guest-setup-c
guest-plugins: guest-python guest-js guest-c guest-plain
guest-test: guest-test-python guest-test-js guest-test-c

# The SDKs carry a copy of wit/plugin.wit (they are meant to be usable outside this repository);
# their tests fail when a copy is stale. This refreshes the copies.
guest-wit:
	cp wit/plugin.wit sdk-guest/python/capsule_plugin/wit/plugin.wit
	cp wit/plugin.wit sdk-guest/js/wit/plugin.wit

# ------------------------------------------------------------------------------------------- Python

PY_SDK := $(wildcard sdk-guest/python/capsule_plugin/*.py) sdk-guest/python/capsule_plugin/wit/plugin.wit

guest-setup-python: $(GUEST_VENV)/.python-ok

$(GUEST_VENV)/.python-ok: sdk-guest/python/requirements.txt sdk-guest/python/requirements-dev.txt
	$(GUEST_PYTHON) -m venv $(GUEST_VENV)
	$(GUEST_VENV)/bin/pip install --quiet --disable-pip-version-check -r sdk-guest/python/requirements-dev.txt
	touch $@

guest-python: $(GUEST_OUT)/tabular.wasm

$(GUEST_OUT)/tabular.wasm: plugins/tabular/tabular.py $(PY_SDK) | $(GUEST_VENV)/.python-ok
	@mkdir -p $(GUEST_OUT)
	PYTHONPATH=sdk-guest/python $(GUEST_PY) -m capsule_plugin build $< -o $@

guest-test-python: | $(GUEST_VENV)/.python-ok
	$(GUEST_PY) -m pytest -q -p no:cacheprovider sdk-guest/python/tests plugins/tabular

# ------------------------------------------------------------------------------------------- JavaScript / TypeScript
# npm packages pinned in sdk-guest/js/package-lock.json (componentize-qjs, componentize-js, jco for the
# WASI WIT files, esbuild, typescript). Needs Node >= 20 and npm.

JS_SDK := sdk-guest/js/node_modules/.capsule-ok
JS_SRC := $(wildcard sdk-guest/js/src/*.js) sdk-guest/js/wit/plugin.wit
CAPSULE_JS := node sdk-guest/js/bin/capsule-js.mjs

guest-setup-js: $(JS_SDK)

$(JS_SDK): sdk-guest/js/package-lock.json
	@node -e 'const [a]=process.versions.node.split("."); if (+a < 20) { console.error("Node >= 20 is needed for the JS guest SDK, found " + process.version); process.exit(1) }'
	@# `npm install --no-save` installs exactly the lock file's versions and leaves it untouched. (`npm ci`
	@# refuses this lock: npm records no entry for optional platform binaries a registry cannot resolve.)
	cd sdk-guest/js && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

guest-js: $(GUEST_OUT)/markdown.wasm $(GUEST_OUT)/markdown_sm.wasm

# QuickJS (componentize-qjs --sync): the SDK's default engine, ~2 MB.
$(GUEST_OUT)/markdown.wasm: plugins/markdown/markdown.ts $(JS_SRC) | $(JS_SDK)
	@mkdir -p $(GUEST_OUT)
	$(CAPSULE_JS) build $< -o $@

# The same plugin on StarlingMonkey (componentize-js), ~13 MB: the parity tests cover both engines.
$(GUEST_OUT)/markdown_sm.wasm: plugins/markdown/markdown.ts $(JS_SRC) | $(JS_SDK)
	@mkdir -p $(GUEST_OUT)
	$(CAPSULE_JS) build $< --engine starlingmonkey -o $@

guest-test-js: | $(JS_SDK)
	node --test sdk-guest/js/test/ plugins/markdown/
	sdk-guest/js/node_modules/.bin/tsc -p plugins/markdown/tsconfig.json
	sdk-guest/js/node_modules/.bin/tsc -p sdk-guest/js/test/types/tsconfig.json

# ------------------------------------------------------------------------------------------- Plain components
# Components that do not export capsule:plugin, built by each language's own toolchain with no Capsule
# SDK (issue #16; the end-to-end tests are tests/e2e/test_plain_components.py and test_plain_config.py).
# The Rust ones (plain-types, plain-files, plain-fetch, plain-config) are built by the root Makefile's
# `plugins`.

guest-plain: $(GUEST_OUT)/plain_js.wasm $(GUEST_OUT)/plain_py.wasm $(GUEST_OUT)/plain_missing.wasm

# StarlingMonkey via the componentize-js CLI, without the fetch-event and HTTP features (the world
# exports neither); ~12 MB, ~20 s.
$(GUEST_OUT)/plain_js.wasm: plugins/plain-js/plain-js.js plugins/plain-js/wit/plain-js.wit | $(JS_SDK)
	@mkdir -p $(GUEST_OUT)
	sdk-guest/js/node_modules/.bin/componentize-js $< --wit plugins/plain-js/wit --world-name plain-js \
	  --disable http fetch-event -o $@

# componentize-py on the module plain_py.py (it binds the class WitWorld); ~18 MB, ~10 s.
$(GUEST_OUT)/plain_py.wasm: plugins/plain-py/plain_py.py plugins/plain-py/wit/plain-py.wit | $(GUEST_VENV)/.python-ok
	@mkdir -p $(GUEST_OUT)
	$(GUEST_VENV)/bin/componentize-py -d plugins/plain-py/wit -w plain-py componentize plain_py \
	  -p plugins/plain-py -o $@

# Component text assembled by jco (wasm-tools parse); the check keeps it and its WIT in step.
$(GUEST_OUT)/plain_missing.wasm: plugins/plain-missing/plain-missing.wat plugins/plain-missing/wit/plain-missing.wit | $(JS_SDK)
	@mkdir -p $(GUEST_OUT)
	sdk-guest/js/node_modules/.bin/jco parse $< -o $@
	@sdk-guest/js/node_modules/.bin/jco wit $@ | tr -s ' ' | grep -qx ' import example:missing/thing;' && \
	  sdk-guest/js/node_modules/.bin/jco wit $@ | tr -s ' ' | grep -qx ' export run: func() -> u32;' || \
	  { echo "$@ does not have the world of plugins/plain-missing/wit/plain-missing.wit"; rm -f $@; exit 1; }

# ------------------------------------------------------------------------------------------- C
# zig cc (PyPI `ziglang`, in the same venv as componentize-py) compiles to a WASI reactor module;
# `jco new --wasi-reactor` (from the JS toolchain above) makes it a component.

C_WORLDS := plugin-base tools-plugin resources-plugin prompts-plugin tools-resources-plugin \
            tools-prompts-plugin resources-prompts-plugin full-plugin
C_SDK := sdk-guest/c/include/capsule.h sdk-guest/c/include/capsule_json.h sdk-guest/c/src/capsule.c \
         $(wildcard sdk-guest/c/bindings/*)
ZIG_CC := $(GUEST_PY) -m ziglang cc
C_TEST_FLAGS := -O1 -std=c11 -Wall -Wno-unknown-attributes -Wno-unused-function -fsanitize=undefined \
                -DCAPSULE_TOOLS -DCAPSULE_RESOURCES -DCAPSULE_PROMPTS \
                -Isdk-guest/c/include -Isdk-guest/c/bindings -Isdk-guest/c/test
C_TEST_SUPPORT := sdk-guest/c/test/host_stub.c sdk-guest/c/src/capsule.c sdk-guest/c/bindings/full_plugin.c
BINDGEN := target/guest-bindgen/release/capsule-c-bindgen

guest-setup-c: $(GUEST_VENV)/.zig-ok $(JS_SDK)

$(GUEST_VENV)/.zig-ok: sdk-guest/c/requirements.txt | $(GUEST_VENV)/.python-ok
	$(GUEST_VENV)/bin/pip install --quiet --disable-pip-version-check -r sdk-guest/c/requirements.txt
	touch $@

guest-c: $(GUEST_OUT)/checksum.wasm

$(GUEST_OUT)/checksum.wasm: plugins/checksum/checksum.c $(C_SDK) | $(GUEST_VENV)/.zig-ok $(JS_SDK)
	$(GUEST_PY) sdk-guest/c/capsule-cc --world full-plugin $< -o $@

guest-test-c: | $(GUEST_VENV)/.zig-ok
	@mkdir -p target/guest-c
	$(ZIG_CC) $(C_TEST_FLAGS) sdk-guest/c/test/test_sdk.c $(C_TEST_SUPPORT) -o target/guest-c/test_sdk -lm
	target/guest-c/test_sdk
	$(ZIG_CC) $(C_TEST_FLAGS) plugins/checksum/test_checksum.c plugins/checksum/checksum.c $(C_TEST_SUPPORT) \
	  -o target/guest-c/test_checksum -lm
	target/guest-c/test_checksum
	@# The bindings were generated from the current wit/plugin.wit (cheap check, no generator needed).
	@test "$$(sha256sum wit/plugin.wit | cut -d' ' -f1)" = "$$(cat sdk-guest/c/bindings/WIT_SHA256)" || \
	  { echo "sdk-guest/c/bindings are stale (wit/plugin.wit changed): run make guest-c-bindings"; exit 1; }
	@if command -v wit-bindgen >/dev/null || test -x $(BINDGEN); then $(c_bindings_check); \
	  else echo "guest-c-bindings-check skipped: no wit-bindgen generator here (the WIT_SHA256 check passed)"; fi

# The generator: `wit-bindgen c` from PATH if present, else the same generator library (wit-bindgen-c
# 0.61.1, as the Rust SDK's wit-bindgen) as a small program built once into target/.
define c_bindgen
	if command -v wit-bindgen >/dev/null; then \
	  for w in $(C_WORLDS); do wit-bindgen c --world $$w wit --out-dir $(1) >/dev/null || exit 1; done; \
	else \
	  test -x $(BINDGEN) || cargo build --release --quiet --manifest-path sdk-guest/c/tools/bindgen/Cargo.toml \
	    --target-dir target/guest-bindgen || exit 1; \
	  $(BINDGEN) wit $(1) $(C_WORLDS) >/dev/null || exit 1; \
	fi;
endef

guest-c-bindings:
	@mkdir -p sdk-guest/c/bindings
	@$(call c_bindgen,sdk-guest/c/bindings)
	sha256sum wit/plugin.wit | cut -d' ' -f1 > sdk-guest/c/bindings/WIT_SHA256

define c_bindings_check
	rm -rf target/guest-c/bindings && mkdir -p target/guest-c/bindings && \
	{ $(call c_bindgen,target/guest-c/bindings) } && \
	sha256sum wit/plugin.wit | cut -d' ' -f1 > target/guest-c/bindings/WIT_SHA256 && \
	{ diff -r sdk-guest/c/bindings target/guest-c/bindings >/dev/null || \
	  { echo "sdk-guest/c/bindings differ from freshly generated ones: run make guest-c-bindings"; exit 1; }; } && \
	echo "sdk-guest/c/bindings are current"
endef

guest-c-bindings-check:
	@$(c_bindings_check)
