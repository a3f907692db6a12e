# SPDX-License-Identifier: Apache-2.0
# lade: one plain Makefile. `make demo` and `make test` are the two commands a newcomer needs.

CC      ?= cc
PREFIX  ?= /usr/local
B       := build
PKGS    := libarchive libcurl jansson libpcre2-8 openssl zlib libseccomp

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -MMD -MP -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wwrite-strings -Wformat=2 -Wimplicit-fallthrough \
           -Wno-format-nonliteral -fno-common -I.
# Every C file, the tests and fuzz targets too, gets the banned list (see the header for why first).
BANNED  := -include builder/common/banned.h
CFLAGS  += $(BANNED)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl is not linked: layers/registry/curl_dl.c loads it with dlopen when a command talks to
# a registry (its headers are still needed, and libcurl4 at run time). lade does not link
# libarchive either (layers/archive_dl.h); the tests do, and call it directly.
PKG_LIBS   = $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null)
LADE_LIBS  = $(shell pkg-config --libs $(filter-out libcurl libarchive,$(PKGS)) 2>/dev/null)
ifeq ($(CI),true)
CFLAGS  += -Werror
endif
ifdef SANITIZE
CFLAGS  += -fsanitize=$(SANITIZE) -fno-sanitize-recover=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif
ALL_CFLAGS = $(CFLAGS) $(PKG_CFLAGS)

# Debian packages: libraries to build, tools the tests run against (DESIGN.md "Real parts").
DEB_BUILD := gcc make pkg-config libarchive-dev libssl-dev libcurl4-openssl-dev libjansson-dev \
             libpcre2-dev libcmocka-dev zlib1g-dev libseccomp-dev
DEB_TEST  := skopeo umoci oci-image-tool podman runc busybox-static docker-registry docker.io \
             apache2-utils openssl uidmap iptables ca-certificates python3 openssh-client \
             openssh-server git man-db zstd keyutils curl slirp4netns strace debootstrap \
             qemu-user-static
# t_registry_cache.sh parses the CI recipes (testdata/recipes/)
DEB_TEST  += python3-yaml
# t_attest.sh validates the attestations against JSON Schemas (tests/integration/schemas/)
DEB_TEST  += python3-jsonschema
# make bench's baselines and tools (tests/bench/README.md)
DEB_BENCH := pigz hyperfine buildah valgrind
DEB_CHECK = dpkg-query -W -f='$${Status}\n' $(1) 2>/dev/null | grep -c 'ok installed'

COMMON_SRC  := $(wildcard builder/common/*.c)
PARSER_SRC  := $(wildcard parser/*.c)
LAYERS_SRC  := $(wildcard layers/*.c layers/*/*.c)
BUILDER_SRC := $(filter-out builder/cmd/main.c,$(wildcard builder/*.c builder/sandbox/*.c builder/cmd/*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
LIBCOMMON  := $(B)/libcommon.a
LIBPARSER  := $(B)/libparser.a
LIBLAYERS  := $(B)/liblayers.a
LIBBUILDER := $(B)/libbuilder.a
LADE       := $(B)/lade
# deps-build's check passed for this build dir: dpkg and apt run once, not on every make; it
# follows the Makefile, where the package list lives.
DEPS_STAMP := $(B)/.deps-build
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps deps-bench deps-build demo bench bench-buildah test check unit integration conformance \
        differential asan fuzz format format-check hdr-check layer-check man install clean
all: $(LADE)

# Order-only: objects wait for the build packages (jansson.h...) under make -j, but a newer stamp
# rebuilds nothing.
$(B)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBPARSER): $(call obj,$(PARSER_SRC))
$(LIBLAYERS): $(call obj,$(LAYERS_SRC))
$(LIBBUILDER): $(call obj,$(BUILDER_SRC))
$(B)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# `lade version` names the commit it was built from (with -dirty for local changes). The header
# is written when make reads this file, and rewritten only when the commit changes, so main.c
# is recompiled (and lade relinked) only then.
LADE_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell \
               git rev-parse HEAD >/dev/null 2>&1 && ! git diff --quiet HEAD -- 2>/dev/null && echo -dirty)
$(shell mkdir -p $(B) && printf '#define LADE_COMMIT "%s"\n' '$(LADE_COMMIT)' >$(B)/commit.h.tmp && \
        { cmp -s $(B)/commit.h.tmp $(B)/commit.h && rm -f $(B)/commit.h.tmp || mv $(B)/commit.h.tmp $(B)/commit.h; })
$(B)/obj/builder/cmd/main.o: $(B)/commit.h
$(B)/obj/builder/cmd/main.o: ALL_CFLAGS += -include $(B)/commit.h

# layers/ and builder/ call libarchive through the table of layers/archive_dl.h.
$(call obj,$(LAYERS_SRC) $(BUILDER_SRC) builder/cmd/main.c): ALL_CFLAGS += -include layers/archive_dl.h

$(LADE): $(call obj,builder/cmd/main.c) $(LIBBUILDER) $(LIBLAYERS) $(LIBPARSER) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LADE_LIBS) -lpthread

# ---- dependencies (Debian) ----
deps-build: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@if [ "$$(for p in $(DEB_BUILD); do $(call DEB_CHECK,$$p); done | grep -c 1)" != "$(words $(DEB_BUILD))" ]; then \
	  echo "make: installing build packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_BUILD); \
	fi
	@mkdir -p $(dir $@) && touch $@
deps: deps-build
	@if [ "$$(for p in $(DEB_TEST); do $(call DEB_CHECK,$$p); done | grep -c 1)" != "$(words $(DEB_TEST))" ]; then \
	  echo "make: installing test packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_TEST); \
	fi
deps-bench: deps
	@if [ "$$(for p in $(DEB_BENCH); do $(call DEB_CHECK,$$p); done | grep -c 1)" != "$(words $(DEB_BENCH))" ]; then \
	  echo "make: installing benchmark packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_BENCH); \
	fi

# ---- tests ----
# A unit test tests/<dir>/test_<module>.c links only the libraries of its directory.
UNIT_SRC   := $(wildcard tests/*/test_*.c)
UNIT_BINS  := $(patsubst tests/%.c,$(B)/tests/%,$(UNIT_SRC))
TEST_HELPERS := $(call obj,$(wildcard tests/helpers/*.c))
libs_for = $(if $(filter tests/common/%,$(1)),$(LIBCOMMON),\
           $(if $(filter tests/parser/%,$(1)),$(LIBPARSER) $(LIBCOMMON),\
           $(if $(filter tests/layers/%,$(1)),$(LIBLAYERS) $(LIBCOMMON),\
           $(LIBBUILDER) $(LIBLAYERS) $(LIBPARSER) $(LIBCOMMON))))
.SECONDARY:
.SECONDEXPANSION:
$(B)/tests/%: $(B)/obj/tests/%.o $(TEST_HELPERS) $$(call libs_for,tests/$$*)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka -lpthread

# Small drivers the scripts use (conformance, fuzz replay).
DRIVER_SRC := $(wildcard tests/drivers/*.c)
DRIVER_BINS := $(patsubst tests/drivers/%.c,$(B)/drivers/%,$(DRIVER_SRC))
$(B)/drivers/%: $(B)/obj/tests/drivers/%.o $(LIBLAYERS) $(LIBPARSER) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Fuzz targets (tests/fuzz/fuzz_X.c) also build as plain replay binaries over testdata/fuzz/X/.
REPLAY_BINS := $(patsubst tests/fuzz/fuzz_%.c,$(B)/replay/%,$(FUZZ_SRC))
$(B)/replay/%: $(B)/obj/tests/fuzz/fuzz_%.o $(B)/obj/tests/fuzz/replay.o $(LIBLAYERS) $(LIBPARSER) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

unit: deps layer-check $(UNIT_BINS)
	@tests/run-unit $(UNIT_BINS)

# Calls go down: no file of layers/registry uses a symbol of a higher level (the levels are in
# the script; the builder's step/driver check there is not enabled yet).
layer-check: $(call obj,$(wildcard layers/registry/*.c) $(BUILDER_SRC))
	@tests/layers/check-registry-layers.sh $(B)

integration: deps $(LADE)
	@tests/integration/run $(LADE)

conformance: deps-build $(DRIVER_BINS)
	@tests/conformance/run $(B)/drivers

# lade against docker BuildKit 20.10 (its own dockerd) on testdata/differential: tests/differential/README.md
differential: deps $(LADE)
	@tests/differential/run $(LADE)

# make test: unit tests, conformance (when ../shared is there) and integration tests.
test: deps layer-check $(LADE) $(UNIT_BINS) $(DRIVER_BINS) $(REPLAY_BINS)
	@tests/run-all $(B)
check: test

# CFLAGS through the environment, so the Makefile's own flags are still appended.
asan:
	CFLAGS="-O1 -g" $(MAKE) B=build/asan SANITIZE=address,undefined test

# libFuzzer binaries: the libraries get coverage instrumentation too (fuzzer-no-link), or the
# fuzzer would only see its harness.
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
fuzz:
	@CFLAGS="$(FUZZ_FLAGS)" $(MAKE) --no-print-directory B=build/fuzz CC=clang \
	    build/fuzz/libparser.a build/fuzz/liblayers.a build/fuzz/libcommon.a || exit 1; \
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -I. $(BANNED) $(PKG_CFLAGS) $$f \
	    build/fuzz/liblayers.a build/fuzz/libparser.a build/fuzz/libcommon.a $(PKG_LIBS) \
	    -o build/fuzz/$$n || exit 1; \
	  echo "built build/fuzz/$$n (run: mkdir -p build/fuzz/corpus-$${n#fuzz_} &&" \
	    "build/fuzz/$$n -max_total_time=60 build/fuzz/corpus-$${n#fuzz_} testdata/fuzz/$${n#fuzz_})"; done

# ---- benchmarks (tests/bench/README.md): lade against buildah on the same machine ----
# `make bench` prints issue 12's table (BENCH_FLAGS="--quick --goal 3,4" selects);
# bench-buildah the older lade-vs-buildah cases and the registry client against skopeo.
bench: deps-bench $(LADE)
	@tests/bench/goals $(BENCH_FLAGS) $(LADE)
bench-buildah: deps-bench $(LADE)
	@tests/bench/run $(LADE)
	@tests/bench/registry $(LADE)

# ---- demo ----
demo: deps $(LADE)
	@tests/demo.sh $(LADE)

# ---- formatting and headers ----
FMT_SRC = $(shell git ls-files '*.c' '*.h' ':!testdata' 2>/dev/null)
format:
	clang-format -i $(FMT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FMT_SRC) && echo "format-check: ok"
hdr-check: $(DEPS_STAMP)
	@for h in $$(git ls-files '*.h' ':!testdata'); do \
	  echo "#include \"$$h\"" | $(CC) $(ALL_CFLAGS) -fsyntax-only -x c - || exit 1; done; echo "hdr-check: ok"

# ---- man pages, completion, install ----
# The man pages are rendered by lade from its option tables (builder/cmd/cli_help.c), the one
# source of --help too; the completion scripts (builder/cmd/doc/) ask lade for its words.
man: $(LADE)
	@rm -rf $(B)/man && mkdir -p $(B)/man && $(LADE) help --man >$(B)/man/lade.1 && \
	  for c in $$($(LADE) help --words); do $(LADE) help --man $$c >$(B)/man/lade-$$c.1 || exit 1; done

# A stripped binary unless STRIP= (empty) asks for the symbols.
STRIP   ?= strip
MANDIR  ?= $(PREFIX)/share/man
install: $(LADE) man
	install -D -m 0755 $(if $(STRIP),-s --strip-program=$(STRIP)) $(LADE) $(DESTDIR)$(PREFIX)/bin/lade
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(B)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -D -m 0644 builder/cmd/doc/lade.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/lade
	install -D -m 0644 builder/cmd/doc/lade.zsh $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_lade

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
