# optibench build.
#   make                 release build in build/ (runtime SIMD dispatch)
#   make BUILD=asan      AddressSanitizer + UBSan build in build-asan/
#   make NOSIMD=1        plain C only (no x86 intrinsics files), build-nosimd/
#   make MPI=1           with Open MPI (mpicc; `mpirun -np N optibench sweep`), build-mpi/
#   make test            build and run the whole test suite (scripts/test.sh)
#   make fuzz            libFuzzer targets (clang) in build-fuzz/
# Sources are found by wildcard: a new .c file under src/ needs no edit here.
# Files named *_avx2.c / *_avx512.c are compiled with those ISA flags only;
# everything else is plain x86-64 and the dispatch picks at run time.

BUILD ?= release
CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

PKGS := jansson libpcre2-8 libutf8proc libcurl openssl openblas lapacke yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ARCH := $(shell uname -m)
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow \
  -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP -fno-math-errno
LIBS := $(PKG_LIBS) -lm -lpthread

ifeq ($(BUILD),asan)
  O := build-asan
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDOPT := -fsanitize=address,undefined
else ifeq ($(BUILD),debug)
  O := build-debug
  OPT := -O0 -g
else
  O := build
  OPT := -O2 -g
endif

ifeq ($(MPI),1)
  O := build-mpi
  BASE_CFLAGS += -DOB_HAVE_MPI=1 $(shell mpicc --showme:compile 2>/dev/null)
  LIBS += $(shell mpicc --showme:link 2>/dev/null)
endif

ifeq ($(NOSIMD),1)
  O := build-nosimd
  SIMD_SRC :=
  BASE_CFLAGS += -DOB_NO_SIMD=1
else ifneq ($(filter x86_64 amd64,$(ARCH)),)
  SIMD_SRC := $(wildcard src/*/x86/*.c)
  BASE_CFLAGS += -DOB_HAVE_X86=1
else
  SIMD_SRC :=
endif

AVX2_FLAGS := -mavx2 -mfma -mf16c
AVX512_FLAGS := $(AVX2_FLAGS) -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16

# AVX-512 VBMI2 (vpexpandb / vpexpandw) for the sparse kernels only: other
# AVX-512 files must not get it (Cascade Lake has VNNI but not VBMI2);
# dispatch.c checks ob_cpu_has_vbmi2() before calling them.
VBMI2_FLAGS := -mavx512vbmi -mavx512vbmi2
$(O)/obj/src/kernels/x86/sparse_avx512.o: AVX512_FLAGS += $(VBMI2_FLAGS)

LIB_SRC := $(filter-out src/cli/%,$(wildcard src/*/*.c)) $(SIMD_SRC)
CLI_SRC := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(O)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(O)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(O)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(O)/bench/%)

all: $(O)/optibench $(TEST_BIN) $(BENCH_BIN)

$(O)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) $(AVX2_FLAGS) -c $< -o $@

$(O)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) $(AVX512_FLAGS) -c $< -o $@

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) -c $< -o $@

$(O)/liboptibench.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/optibench: $(CLI_OBJ) $(O)/liboptibench.a
	$(CC) $(OPT) $(LDOPT) $^ $(LIBS) -o $@

$(O)/tests/%: tests/%.c tests/check.h tests/test_util.h $(O)/liboptibench.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Itests $(OPT) $(LDOPT) $< $(O)/liboptibench.a $(LIBS) -o $@

$(O)/bench/%: bench/%.c $(O)/liboptibench.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) $(LDOPT) $< $(O)/liboptibench.a $(LIBS) -o $@

# libFuzzer targets: fuzz/fuzz_*.c, built with clang, ASan and UBSan.
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_O := build-fuzz
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_O)/obj/%.o)
$(FUZZ_O)/obj/src/kernels/x86/sparse_avx512.o: AVX512_FLAGS += $(VBMI2_FLAGS)
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
fuzz: $(FUZZ_SRC:fuzz/%.c=$(FUZZ_O)/%)
$(FUZZ_O)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	clang $(BASE_CFLAGS) $(FUZZ_FLAGS) $(AVX2_FLAGS) -c $< -o $@
$(FUZZ_O)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	clang $(BASE_CFLAGS) $(FUZZ_FLAGS) $(AVX512_FLAGS) -c $< -o $@
$(FUZZ_O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(BASE_CFLAGS) $(FUZZ_FLAGS) -c $< -o $@
$(FUZZ_O)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	clang $(BASE_CFLAGS) -MF $@.d -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(filter %.c %.o,$^) $(LIBS) -o $@

test: all
	bash scripts/test.sh $(O)

clean:
	rm -rf build build-asan build-debug build-nosimd build-fuzz

.PHONY: all test clean fuzz
.SECONDARY:

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
ifneq ($(filter fuzz build-fuzz/%,$(MAKECMDGOALS)),)
-include $(FUZZ_LIB_OBJ:.o=.d) $(wildcard $(FUZZ_O)/*.d)
endif
