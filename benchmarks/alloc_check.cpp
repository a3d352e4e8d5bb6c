/// @file alloc_check.cpp
/// @brief Proves (or disproves) that the hot loop is allocation-free: replaces the global
/// allocation functions with counting ones and runs machine.update() and machine.sample()
/// after a warm-up.
///
/// Both allocation routes are counted: global operator new/delete (std::vector, xtensor's
/// shapes) and the C allocator (xtensor's containers use xsimd::aligned_allocator, which
/// calls posix_memalign directly, bypassing operator new). Allocations from any thread are
/// counted; each is attributed by its backtrace either to the BLAS (a frame inside
/// libopenblas/libblas: multithreaded OpenBLAS 0.3.21 mallocs a 512 KiB job array in every
/// threaded GEMM call) or to nlm and everything else. The first few of the latter are printed
/// with their backtrace (resolve addresses with addr2line -Cife nlm_alloc_check).
///
///   build-bench/benchmarks/nlm_alloc_check
///   DNNL_MAX_CPU_ISA=AVX2 build-bench/benchmarks/nlm_alloc_check --bf16-only
/// (the second: only the bf16 machine, on the CPU class oneDNN is told it runs on; ctest runs
/// it for each class this CPU can emulate, see benchmarks/CMakeLists.txt.)
/// Exit status 0 iff the steady state makes no allocation outside the BLAS; run it with
/// OPENBLAS_NUM_THREADS=1 to see the BLAS allocate nothing either.
#include <dlfcn.h>
#include <execinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <span>
#include <type_traits>

#include <nlm/langevin_machine.hpp>
#ifdef NLM_HAVE_ONEDNN
#include <nlm/bf16.hpp>
#endif

extern "C" {
void* __libc_malloc(std::size_t);
void __libc_free(void*);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<long> news{0};        // operator new / new[]
std::atomic<long> c_allocs{0};    // malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign
std::atomic<long> frees{0};       // free and operator delete of non-null pointers
std::atomic<long> bytes{0};

constexpr int max_traces = 2048;
constexpr int trace_depth = 24;
void* traces[max_traces][trace_depth];
int trace_lengths[max_traces];
std::atomic<int> traced{0};
thread_local bool inside = false;  // backtrace() may itself allocate

void note(std::atomic<long>& counter, std::size_t size) {
  if (!counting.load(std::memory_order_relaxed) || inside) return;
  counter.fetch_add(1, std::memory_order_relaxed);
  bytes.fetch_add(long(size), std::memory_order_relaxed);
  const int slot = traced.fetch_add(1, std::memory_order_relaxed);
  if (slot < max_traces) {
    inside = true;
    trace_lengths[slot] = backtrace(traces[slot], trace_depth);
    inside = false;
  }
}
void note_free(void* p) {
  if (p && counting.load(std::memory_order_relaxed) && !inside)
    frees.fetch_add(1, std::memory_order_relaxed);
}

void* new_impl(std::size_t size, std::size_t align = 0) {
  note(news, size);
  void* p = align ? __libc_memalign(align, size ? size : 1) : __libc_malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

// ---- the C allocator ----------------------------------------------------------------------
extern "C" {
void* malloc(std::size_t size) noexcept {
  note(c_allocs, size);
  return __libc_malloc(size);
}
void free(void* p) noexcept {
  note_free(p);
  __libc_free(p);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  note(c_allocs, n * size);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  note(c_allocs, size);
  return __libc_realloc(p, size);
}
int posix_memalign(void** out, std::size_t align, std::size_t size) noexcept {
  note(c_allocs, size);
  void* p = __libc_memalign(align, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void* aligned_alloc(std::size_t align, std::size_t size) noexcept {
  note(c_allocs, size);
  return __libc_memalign(align, size);
}
void* memalign(std::size_t align, std::size_t size) noexcept {
  note(c_allocs, size);
  return __libc_memalign(align, size);
}
}

// ---- global operator new / delete ---------------------------------------------------------
void* operator new(std::size_t n) { return new_impl(n); }
void* operator new[](std::size_t n) { return new_impl(n); }
void* operator new(std::size_t n, std::align_val_t a) { return new_impl(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return new_impl(n, std::size_t(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try { return new_impl(n); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try { return new_impl(n); } catch (...) { return nullptr; }
}
void operator delete(void* p) noexcept { note_free(p); __libc_free(p); }
void operator delete[](void* p) noexcept { note_free(p); __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { note_free(p); __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { note_free(p); __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { note_free(p); __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { note_free(p); __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { note_free(p); __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { note_free(p); __libc_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { note_free(p); __libc_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { note_free(p); __libc_free(p); }

namespace {

struct Counts {
  long news, c_allocs, frees, bytes;
  long allocations() const { return news + c_allocs; }
};

template <class F>
Counts count(F&& f) {
  news = 0;
  c_allocs = 0;
  frees = 0;
  bytes = 0;
  traced = 0;
  counting = true;
  f();
  counting = false;
  return {news.load(), c_allocs.load(), frees.load(), bytes.load()};
}

/// Whether the allocation was made inside the library whose file name contains one of `names`.
bool from_library(int trace, std::initializer_list<const char*> names) {
  for (int f = 0; f < trace_lengths[trace]; ++f) {
    Dl_info info;
    if (dladdr(traces[trace][f], &info) && info.dli_fname)
      for (const char* name : names)
        if (std::strstr(info.dli_fname, name)) return true;
  }
  return false;
}
bool from_blas(int trace) { return from_library(trace, {"openblas", "libblas"}); }
/// oneDNN 2.6's dnnl_primitive_execute builds an execution context (a few small blocks) on
/// every call; nothing in its public API avoids it. Counted apart, like OpenBLAS's buffers.
bool from_onednn(int trace) { return from_library(trace, {"libdnnl"}); }

/// Prints a phase's counts, split into BLAS and non-BLAS allocations, and the backtraces of the
/// first non-BLAS ones; returns true if nothing outside the BLAS allocated.
bool report(const char* phase, const Counts& c) {
  const int n = std::min(traced.load(), max_traces);
  long blas = 0, onednn = 0;
  for (int i = 0; i < n; ++i) {
    blas += from_blas(i);
    onednn += !from_blas(i) && from_onednn(i);
  }
  const long outside = c.allocations() - blas - onednn;
  std::printf("%-62s allocations: %4ld (operator new %ld, C %ld), in the BLAS: %4ld, in oneDNN: %4ld, "
              "outside: %4ld; bytes: %ld\n",
              phase, c.allocations(), c.news, c.c_allocs, blas, onednn, outside, c.bytes);
  for (int i = 0, shown = 0; i < n && shown < 3; ++i) {
    if (from_blas(i) || from_onednn(i)) continue;
    std::printf("  allocation outside the BLAS, backtrace:\n");
    std::fflush(stdout);
    backtrace_symbols_fd(traces[i], trace_lengths[i], STDOUT_FILENO);
    ++shown;
  }
  return outside == 0 && c.allocations() <= max_traces;
}

template <nlm::Scalar S, class Backend>
using Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay,
                                     nlm::EulerMaruyama, S, Backend>;

template <nlm::Scalar S, class Backend = nlm::BlasProducts>
bool check(const char* type, nlm::Hyperparameters hp) {
  Machine<S, Backend> machine(hp);
  nlm::Matrix<S> batch = nlm::Matrix<S>::from_shape({hp.batch_size, hp.neurons});
  nlm::detail::Xoshiro256 engine(2);
  nlm::detail::fill_uniform<S>(engine, std::span<S>(batch.data(), batch.size()));
  nlm::Matrix<S> generated = machine.random_states(36);
  nlm::Matrix<S> d = nlm::Matrix<S>::from_shape({hp.neurons, hp.neurons});

  std::printf("-- %s, N = %zu, %zu chains, batch %zu, n_t = %zu\n", type, hp.neurons,
              hp.persistent_chains, hp.batch_size, hp.langevin_steps);
  // Warm-up: every workspace takes its shape, OpenBLAS starts its threads and buffers.
  machine.update(batch);
  machine.update(batch);
#ifdef NLM_HAVE_ONEDNN
  if constexpr (std::is_same_v<Backend, nlm::Bf16Products>)
    std::printf("   oneDNN's ISA: %s; product: %s\n", nlm::Bf16Products::isa_name().c_str(),
                machine.parameters().backend().implementation().c_str());
#endif
  bool clean = report("update() x3 (steady state)", count([&] {
                        for (int i = 0; i < 3; ++i) machine.update(batch);
                      }));
  machine.sample(generated, 2);
  clean &= report("sample(36 chains, 50 steps) (steady state)",
                  count([&] { machine.sample(generated, 50); }));
  machine.data_statistics(batch, d);
  clean &= report("data_statistics() x3 (steady state)", count([&] {
                    for (int i = 0; i < 3; ++i) machine.data_statistics(batch, d);
                  }));
  // A training loop that also samples (snapshots, callbacks) alternates the sampler between
  // the persistent chains' shape and the generation batch's shape.
  machine.update(batch);
  machine.sample(generated, 1);
  clean &= report("interleaved update(); sample(36 chains, 1) x2", count([&] {
                    for (int i = 0; i < 2; ++i) {
                      machine.update(batch);
                      machine.sample(generated, 1);
                    }
                  }));
  return clean;
}

}  // namespace

extern "C" char* openblas_get_corename(void);
extern "C" int openblas_get_num_threads(void);

int main(int argc, char** argv) {
  // --bf16-only: the bf16 machine alone, for the runs with oneDNN's ISA lowered
  // (DNNL_MAX_CPU_ISA=AVX2: no bf16 matmul, the float32 fallback; AVX512_CORE: emulated bf16).
  const bool bf16_only = argc > 1 && std::strcmp(argv[1], "--bf16-only") == 0;
  if (argc > 2 || (argc == 2 && !bf16_only)) {
    std::fprintf(stderr, "usage: %s [--bf16-only]\n", argv[0]);
    return 2;
  }
  void* warm[1];
  backtrace(warm, 1);  // loads the unwinder outside any counted phase
  std::printf("OpenBLAS core %s, %d thread(s)\n", openblas_get_corename(),
              openblas_get_num_threads());
  nlm::Hyperparameters paper;  // the paper's shape: N = 784, 1000 chains, batch 1000, n_t = 10
  paper.seed = 1;
  nlm::Hyperparameters adam = paper;
  adam.step_rule = nlm::Hyperparameters::StepRule::adam;
  adam.learn_field = true;
  bool clean = true;
  if (!bf16_only) {
    clean &= check<float>("float machine (the paper's)", paper);
    clean &= check<double>("double machine", paper);
    clean &= check<float>("float machine, Adam steps and a learned field", adam);
  }
#ifdef NLM_HAVE_ONEDNN
  // bf16 products: oneDNN's primitives, memory objects and scratchpad are made at the first
  // product of each shape; after that nothing may allocate, inside oneDNN included.
  clean &= check<float, nlm::Bf16Products>("float machine, bf16 products (oneDNN)", paper);
#else
  if (bf16_only) {
    std::fprintf(stderr, "%s: --bf16-only needs a build with NLM_ONEDNN=ON\n", argv[0]);
    return 2;
  }
#endif
  std::printf("%s\n", clean ? "alloc_check: PASS, nothing outside the BLAS (and oneDNN's execute) allocates in the steady state"
                            : "alloc_check: FAIL, the steady state allocates outside the BLAS");
  return clean ? 0 : 1;
}
