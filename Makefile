# Gannet build. `make` builds build/gannet; `make test` builds a sanitised copy
# (build/test/) and runs every unit and integration test.
CC      ?= gcc
CSTD    := -std=c17 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
LIBS    := -pthread -levent_core -levent_openssl -lsqlite3 -lcrypt -lssl -lcrypto
CFLAGS_RELEASE := -O2 -g
CFLAGS_TEST    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# ThreadSanitizer (`make tsan`): the code that runs off the event loop
# (util/jobs.c and what the jobs touch), checked by tests/run.sh.
CFLAGS_TSAN    := -O1 -g -fno-omit-frame-pointer -fsanitize=thread

SRCS      := $(sort $(wildcard src/*.c src/*/*.c))
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

REL_OBJS  := $(SRCS:%.c=build/obj/%.o)
TEST_OBJS := $(SRCS:%.c=build/test/obj/%.o)
TEST_LIB_OBJS := $(LIB_SRCS:%.c=build/test/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/test/unit/%)
TSAN_OBJS := $(SRCS:%.c=build/tsan/obj/%.o)
TSAN_LIB_OBJS := $(LIB_SRCS:%.c=build/tsan/obj/%.o)

.PHONY: all deps run test unit integration clean format bench install uninstall tsan

all: build/gannet

deps:
	@scripts/deps.sh

build/gannet: $(REL_OBJS)
	$(CC) $(CFLAGS_RELEASE) -o $@ $^ $(LIBS)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_RELEASE) -Isrc -MMD -MP -c -o $@ $<

build/test/gannet: $(TEST_OBJS)
	$(CC) $(CFLAGS_TEST) -o $@ $^ $(LIBS)

build/test/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_TEST) -Isrc -MMD -MP -c -o $@ $<

build/test/unit/%: tests/unit/%.c tests/unit/unit.h tests/mime_tree_check.h $(TEST_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_TEST) -Isrc -Itests/unit -o $@ $< $(TEST_LIB_OBJS) $(LIBS)

tsan: build/tsan/gannet build/tsan/unit/test_jobs

build/tsan/gannet: $(TSAN_OBJS)
	$(CC) $(CFLAGS_TSAN) -o $@ $^ $(LIBS)

build/tsan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_TSAN) -Isrc -MMD -MP -c -o $@ $<

build/tsan/unit/%: tests/unit/%.c tests/unit/unit.h $(TSAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_TSAN) -Isrc -Itests/unit -o $@ $< $(TSAN_LIB_OBJS) $(LIBS)

LOADGEN_SRCS := $(sort $(wildcard bench/loadgen/*.c))

bench: build/gannet build/loadgen

build/loadgen: $(LOADGEN_SRCS) bench/loadgen/loadgen.h
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -o $@ $(LOADGEN_SRCS)

run: deps build/gannet
	@scripts/run-dev.sh

# build/gannet too: tests/integration/test_install.py installs the release build.
test: deps
	@$(MAKE) --no-print-directory build/test/gannet $(UNIT_BINS) build/gannet tsan
	@tests/run.sh

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the release binary, the man
# pages, the example configuration and the systemd unit (README "Installing").
# Nothing goes into /etc or /var: the configuration and the data directory are
# the administrator's. DESTDIR is for packaging and for tests/integration/test_install.py.
PREFIX  ?= /usr/local
SBINDIR := $(PREFIX)/sbin
MANDIR  := $(PREFIX)/share/man
DOCDIR  := $(PREFIX)/share/doc/gannet
UNITDIR := $(PREFIX)/lib/systemd/system
INSTALLED := $(SBINDIR)/gannet $(MANDIR)/man8/gannet.8 $(MANDIR)/man5/gannet.conf.5 \
             $(DOCDIR)/gannet.conf.example $(UNITDIR)/gannet.service

# The unit names the installed binary: @SBINDIR@ is replaced at every install,
# since PREFIX may differ from the last one.
install: build/gannet
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/gannet.service.in > build/gannet.service
	install -D -m 0755 build/gannet $(DESTDIR)$(SBINDIR)/gannet
	install -D -m 0644 doc/gannet.8 $(DESTDIR)$(MANDIR)/man8/gannet.8
	install -D -m 0644 doc/gannet.conf.5 $(DESTDIR)$(MANDIR)/man5/gannet.conf.5
	install -D -m 0644 doc/gannet.conf.example $(DESTDIR)$(DOCDIR)/gannet.conf.example
	install -D -m 0644 build/gannet.service $(DESTDIR)$(UNITDIR)/gannet.service

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h) $(UNIT_SRCS) tests/unit/unit.h

clean:
	rm -rf build

# libFuzzer targets (tests/fuzz/, README "Fuzzing"). Each target lists the
# sources it needs instead of taking all of src/, so a file someone is in the
# middle of editing elsewhere cannot break the fuzz build.
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := $(CSTD) $(WARN) -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all -Isrc
FUZZ_SAN     := address,undefined
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := parser mime search mutf7
FUZZ_UTIL    := src/util/str.c src/util/base64.c
FUZZ_MIME    := $(sort $(wildcard src/mime/*.c))
FUZZ_SEARCH  := $(sort $(wildcard src/search/*.c)) src/util/date.c
FUZZ_SRCS_parser := src/imap/parser.c src/util/mutf7.c $(FUZZ_UTIL)
FUZZ_SRCS_mime   := $(FUZZ_MIME) $(FUZZ_SEARCH) src/imap/parser.c src/imap/search-parse.c \
                    src/imap/seqset.c src/util/mutf7.c $(FUZZ_UTIL)
FUZZ_SRCS_search := $(FUZZ_SRCS_mime)
FUZZ_SRCS_mutf7  := src/util/mutf7.c $(FUZZ_UTIL)
# None of the four needs a library beyond libc (iconv is glibc's).
FUZZ_LIBS    :=
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
fuzz_objs     = $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_SRCS_$(1)))

.PHONY: fuzz-build fuzz

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@scripts/fuzz.sh --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -MMD -MP -c -o $@ $<

.SECONDEXPANSION:
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(call fuzz_objs,$$*)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS)

-include $(wildcard build/fuzz/obj/src/*/*.d)

-include $(REL_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(TSAN_OBJS:.o=.d)
