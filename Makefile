# mli — build, test, benchmark. See README.md.
#   make          build/mli (float engine)
#   make check    every test, then a sanitized (ASan+UBSan) pass of the fast tests
#   make demo     deps + build + `mli run` on FashionMNIST
#   make bench    benchmarks (not tests), figures relative to the measured sgemm rate
#   make fuzz     libFuzzer targets for the untrusted-file parsers
PREFIX   ?= /usr/local
CC       ?= cc
PKGS     := openblas lapacke zlib libcjson libprotobuf-c
OPT      ?= -O3
WARN     := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-format-truncation
CFLAGS   += $(OPT) -g -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I$(GEN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# GSL's own cblas is left out on purpose: OpenBLAS provides cblas for the whole program.
# CFLAGS and LDLIBS are expanded when used ('=' and '+=', never ':='): on a fresh machine
# `make demo` and `make check` install the packages pkg-config describes before anything is
# compiled or linked, so the flags must not be computed when the Makefile is read.
LDLIBS    = -lgsl $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
TESTLIBS := -lcmocka

# ONNX models (src/io/onnx.c) are decoded and encoded by protobuf-c (libprotobuf-c-dev) from C
# that protoc-c (protobuf-c-compiler) generates at build time from the schema of Debian's
# libonnx-dev; generated code is never committed, so the schema and the generator stay in step.
GEN      := build/gen
ONNX_PROTO := /usr/include/onnx/onnx.proto
GEN_SRC  := $(GEN)/onnx.pb-c.c
SRC      := $(sort $(wildcard src/io/*.c src/data/*.c src/nn/*.c src/train/*.c src/geometry/*.c src/report/*.c src/sweep/*.c))
LIB_SRC  := $(SRC) $(GEN_SRC)
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TESTS    := $(sort $(basename $(notdir $(wildcard tests/test_*.c))))
# Tests that check derivatives link the engine built in double precision.
DBL_TESTS := $(filter %_dbl,$(TESTS))
FLT_TESTS := $(filter-out $(DBL_TESTS),$(TESTS))
# The sanitized pass runs every C unit test (they are all fast); slow end-to-end
# tests are shell scripts and run once, in the optimized build.
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Keep the test objects: make would otherwise delete them after the link (and print so after
# the test summary, which must be the last line of `make check`).
.SECONDARY:

.PHONY: all check check-run test-unit test-san test-e2e demo deps bench fuzz install clean paper
all: build/mli

# Every object waits for the generated header (order-only: its -MMD dependencies take over
# once it exists), since nothing says in advance which sources include it.
build/f/%.o: %.c | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
build/d/%.o: %.c | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMLI_DOUBLE -MMD -MP -c $< -o $@
build/s/%.o: %.c | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

# One run of protoc-c makes both files (a grouped target, GNU make >= 4.3).
$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h &: $(ONNX_PROTO)
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -I$(dir $(ONNX_PROTO)) $(notdir $(ONNX_PROTO))

build/f/libmli.a: $(LIB_SRC:%.c=build/f/%.o)
	$(AR) rcs $@ $^
build/d/libmli.a: $(LIB_SRC:%.c=build/d/%.o)
	$(AR) rcs $@ $^
build/s/libmli.a: $(LIB_SRC:%.c=build/s/%.o)
	$(AR) rcs $@ $^

build/mli: $(CLI_SRC:%.c=build/f/%.o) build/f/libmli.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/tests/%: build/f/tests/%.o build/f/tests/testutil.o build/f/libmli.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(TESTLIBS) $(LDLIBS)
build/tests/%_dbl: build/d/tests/%_dbl.o build/d/tests/testutil.o build/d/libmli.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMLI_DOUBLE -o $@ $^ $(TESTLIBS) $(LDLIBS)
build/san/%: build/s/tests/%.o build/s/tests/testutil.o build/s/libmli.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(TESTLIBS) $(LDLIBS)

# the ONNX test models of tests/e2e_onnx.sh, written with the io/onnx.h builder
build/tests-bin/mkonnx: build/f/tests/mkonnx.o build/f/libmli.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# mli itself under the sanitizers, for a small end-to-end pass (tests/e2e_sanitized.sh)
build/san/mli: $(CLI_SRC:%.c=build/s/%.o) build/s/libmli.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

# `make check` and `make demo` are the README's first commands on a fresh machine: each installs
# what is missing first, then builds in a second make, so that no compile or link starts before
# the packages are there (also under make -j).
check: deps
	@$(MAKE) --no-print-directory check-run
check-run: build/mli build/san/mli $(TESTS:%=build/tests/%) $(FLT_TESTS:%=build/san/%) build/tests-bin/mkonnx
	@bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory build/mli
	./build/mli run $(DEMO_ARGS)

deps:
	@bash scripts/deps.sh

# A failed run still leaves the table and report of the others. The study of README "make paper": one sweep per part (paper/*.grid but the cluster's
# reference-fcnet.grid) into runs/paper/<part>/, then the study page runs/paper/report/: 135 runs, under an hour on 2 cores.
paper: build/mli
	@bash scripts/paper.sh

# SLURM end to end on a single-node cluster it starts itself (needs root; not part of check).
check-slurm: build/mli
	bash tests/slurm/run.sh

BENCHES := $(sort $(basename $(notdir $(wildcard bench/bench_*.c))))
build/bench/%: build/f/bench/%.o build/f/libmli.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
bench: build/mli $(BENCHES:%=build/bench/%)
	@bash bench/run.sh $(BENCHES)

FUZZERS := $(sort $(basename $(notdir $(wildcard fuzz/fuzz_*.c))))
FUZZ_CFLAGS = -g -O1 -std=c11 -D_GNU_SOURCE -Isrc -I$(GEN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -fsanitize=fuzzer,address,undefined
build/fuzz/%: fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)
FUZZ_SECONDS ?= 60
fuzz: $(FUZZERS:%=build/fuzz/%)
	@for f in $(FUZZERS); do mkdir -p fuzz/corpus-$$f; \
	  ./build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/corpus-$$f fuzz/seeds/$$f 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' ; done

install: build/mli
	install -D -m 755 build/mli $(DESTDIR)$(PREFIX)/bin/mli
	@if [ -f doc/mli.1 ]; then install -D -m 644 doc/mli.1 $(DESTDIR)$(PREFIX)/share/man/man1/mli.1; fi

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
