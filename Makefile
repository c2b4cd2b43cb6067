# Gannet build. `make` builds build/gannet; `make test` builds a sanitised copy
# (build/test/) and runs every unit and integration test.
CC      ?= gcc
CSTD    := -std=c17 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
LIBS    := -levent_core -levent_openssl -lsqlite3 -lcrypt -lssl -lcrypto
CFLAGS_RELEASE := -O2 -g
CFLAGS_TEST    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

SRCS      := $(sort $(wildcard src/*.c src/*/*.c))
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

REL_OBJS  := $(SRCS:%.c=build/obj/%.o)
TEST_OBJS := $(SRCS:%.c=build/test/obj/%.o)
TEST_LIB_OBJS := $(LIB_SRCS:%.c=build/test/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/test/unit/%)

.PHONY: all deps run test unit integration clean format bench

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

build/test/unit/%: tests/unit/%.c tests/unit/unit.h $(TEST_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_TEST) -Isrc -Itests/unit -o $@ $< $(TEST_LIB_OBJS) $(LIBS)

LOADGEN_SRCS := $(sort $(wildcard bench/loadgen/*.c))

bench: build/gannet build/loadgen

build/loadgen: $(LOADGEN_SRCS) bench/loadgen/loadgen.h
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -o $@ $(LOADGEN_SRCS)

run: deps build/gannet
	@scripts/run-dev.sh

test: deps
	@$(MAKE) --no-print-directory build/test/gannet $(UNIT_BINS)
	@tests/run.sh

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h) $(UNIT_SRCS) tests/unit/unit.h

clean:
	rm -rf build

-include $(REL_OBJS:.o=.d) $(TEST_OBJS:.o=.d)
