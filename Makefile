# cgunicorn - gunicorn in C with a live terminal dashboard.
#
#   make          build build/cgunicorn-top (and the build/cgunicorn link)
#   make run      install missing Debian packages (as root), build, serve examples/app.py
#   make test     ASan+UBSan build, unit + integration + dashboard tests
#   make fuzz     run the libFuzzer targets for FUZZ_SECONDS each
#   make install  PREFIX=/usr/local

PYTHON_CONFIG ?= /usr/bin/python3-config
PREFIX ?= /usr/local
CC ?= cc
FUZZ_SECONDS ?= 60

PY_CFLAGS := $(shell $(PYTHON_CONFIG) --includes 2>/dev/null)
PY_LIBS := $(shell $(PYTHON_CONFIG) --embed --ldflags 2>/dev/null)
CURSES_CFLAGS := $(shell pkg-config --cflags ncursesw 2>/dev/null)
CURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wno-missing-field-initializers
PY_EXE := $(shell $(PYTHON_CONFIG) --prefix 2>/dev/null)/bin/python3
DEFS := -D_GNU_SOURCE -DCG_PYTHON_EXE='"$(PY_EXE)"'
INCS := -Iinclude -Isrc $(PY_CFLAGS)
LIBS := $(PY_LIBS) -lyaml -lpthread

MODE ?= release
ifeq ($(MODE),asan)
  B := build/asan
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
  B := build
  OPT := -O2 -g
endif

ENGINE_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
UI_SRC := $(wildcard ui/*.c)
ENGINE_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(ENGINE_SRC))
UI_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(UI_SRC))
MAIN_OBJ := $(B)/obj/src/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
INTEG_SRC := $(wildcard tests/integration/test_*.c)
INTEG_BIN := $(patsubst tests/integration/%.c,$(B)/tests/%,$(INTEG_SRC))
HARNESS_SRC := $(wildcard tests/integration/harness.c tests/integration/client.c tests/integration/bad_cases.c)

.PHONY: all run test unit-bins fuzz install clean format format-check deps-run deps-test bench

all: $(B)/cgunicorn-top $(B)/cgunicorn

$(B)/obj/%.o: %.c $(wildcard include/cgunicorn/*.h include/cgunicorn/*.def src/*.h ui/*.h)
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(WARN) $(OPT) $(DEFS) $(INCS) $(CURSES_CFLAGS) -c $< -o $@

$(B)/libcgunicorn.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libcgui.a: $(UI_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(B)/cgunicorn-top: $(MAIN_OBJ) $(B)/libcgui.a $(B)/libcgunicorn.a
	@echo "LD $@"
	@$(CC) $(OPT) -o $@ $(MAIN_OBJ) $(B)/libcgui.a $(B)/libcgunicorn.a $(LIBS) $(CURSES_LIBS) -Wl,-export-dynamic

$(B)/cgunicorn: $(B)/cgunicorn-top
	ln -sf cgunicorn-top $@

$(B)/tests/test_fuzz_corpus: tests/unit/test_fuzz_corpus.c $(wildcard tests/fuzz/fuzz_*.c) $(B)/libcgunicorn.a
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(WARN) -Wno-missing-prototypes $(OPT) $(DEFS) $(INCS) -o $@ $< $(wildcard tests/fuzz/fuzz_*.c) $(B)/libcgunicorn.a $(LIBS) -lcmocka

$(B)/tests/test_%: tests/unit/test_%.c $(B)/libcgui.a $(B)/libcgunicorn.a
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(WARN) $(OPT) $(DEFS) $(INCS) -Iui -o $@ $< $(B)/libcgui.a $(B)/libcgunicorn.a $(LIBS) $(CURSES_LIBS) -lcmocka

$(B)/tests/test_%: tests/integration/test_%.c $(HARNESS_SRC) tests/integration/harness.h tests/integration/client.h tests/integration/bad_cases.h
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(WARN) $(OPT) $(DEFS) $(INCS) -Itests/integration -o $@ $< $(HARNESS_SRC) -lcmocka

unit-bins: all $(UNIT_BIN) $(INTEG_BIN)

deps-run:
	@sh scripts/deps.sh run
deps-test:
	@sh scripts/deps.sh test

run: deps-run
	@$(MAKE) --no-print-directory all
	./build/cgunicorn --chdir examples --bind 127.0.0.1:8000 --access-logfile - app:app

test: deps-test
	@$(MAKE) --no-print-directory MODE=asan unit-bins
	@sh tests/run.sh build/asan

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(ENGINE_SRC)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(DEFS) $(INCS) -o $@ $< $(filter src/http_%.c src/iowait.c src/proxy_protocol.c src/ipmatch.c,$(ENGINE_SRC))

fuzz: deps-test $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do n=$$(basename $$t); mkdir -p build/fuzz/corpus-$$n; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/$$n.dict build/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

bench: deps-run
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	sh bench/bench_sync.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 build/cgunicorn-top $(DESTDIR)$(PREFIX)/bin/cgunicorn-top
	ln -sf cgunicorn-top $(DESTDIR)$(PREFIX)/bin/cgunicorn

format:
	clang-format -i $(wildcard src/*.[ch] ui/*.[ch] include/cgunicorn/*.h tests/*/*.[ch])
format-check:
	clang-format --dry-run --Werror $(wildcard src/*.[ch] ui/*.[ch] include/cgunicorn/*.h tests/*/*.[ch])

clean:
	rm -rf build
