/// @file nlm_peer.cpp
/// @brief nlm's side of the peer comparison: times the two operations the Python peers time,
/// with nlm::PaperMachine, each interleaved with its bare sgemm products in the same process.
///
///  - one training update in the paper's shape (N = 784, 1000 chains, batch 1000, n_t = 10),
///    against the same 24 products as bare GEMM calls;
///  - one generation step on 36 chains (Algorithm 2), against its 2 bare products.
///
/// Prints one JSON line (medians). Usually run by run_peer.sh through compare.py:
///   OPENBLAS_NUM_THREADS=1 build-bench/benchmarks/nlm_peer --threads 1
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <nlm/langevin_machine.hpp>
#ifdef NLM_HAVE_ONEDNN
#include <nlm/bf16.hpp>
#endif

#include "bench_support.hpp"

namespace {

using nlm_bench::BareGemms;
using nlm_bench::clock_type;
using nlm_bench::median;
using nlm_bench::seconds_between;

struct Options {
  int threads = 0;  // 0: leave OpenBLAS's setting (OPENBLAS_NUM_THREADS) alone
  bool bf16 = false;  // --precision bf16: nlm::PaperMachineBf16 (a build with NLM_ONEDNN)
  int updates = 7;
  int generation_blocks = 15;
  int steps_per_block = 40;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (key == "--precision") {
      o.bf16 = std::string(argv[i + 1]) == "bf16";
      if (!o.bf16 && std::string(argv[i + 1]) != "fp32") {
        std::fprintf(stderr, "nlm_peer: --precision fp32 or bf16\n");
        std::exit(2);
      }
#ifndef NLM_HAVE_ONEDNN
      if (o.bf16) {
        std::fprintf(stderr, "nlm_peer: --precision bf16 needs a build with -DNLM_ONEDNN=ON\n");
        std::exit(2);
      }
#endif
    } else if (key == "--threads") o.threads = value;
    else if (key == "--updates") o.updates = value;
    else if (key == "--generation-blocks") o.generation_blocks = value;
    else if (key == "--steps-per-block") o.steps_per_block = value;
    else {
      std::fprintf(stderr,
                   "usage: nlm_peer [--threads T] [--updates U] [--generation-blocks G] "
                   "[--steps-per-block S] [--precision fp32|bf16]\n");
      std::exit(2);
    }
  }
  return o;
}

/// Times `op` and `bare` alternately `rounds` times; returns the medians in seconds.
template <class Op, class Bare>
std::pair<double, double> interleaved(int rounds, Op&& op, Bare&& bare) {
  std::vector<double> op_s, bare_s;
  for (int i = 0; i < rounds; ++i) {
    for (int half = 0; half < 2; ++half) {
      const bool run_op = (half == 0) == (i % 2 == 0);
      const auto t0 = clock_type::now();
      if (run_op) op(); else bare();
      const auto t1 = clock_type::now();
      (run_op ? op_s : bare_s).push_back(seconds_between(t0, t1));
    }
  }
  return {median(op_s), median(bare_s)};
}

}  // namespace

/// Times the update and the generation step of `Machine` (float32 or bf16 products) against
/// the bare float32 sgemm products, and prints the JSON line.
template <class Machine>
int measure(const Options& opt, const char* tool) {
  nlm::Hyperparameters hp;  // the paper's Table 1
  hp.seed = 2025;
  Machine machine(hp);
  nlm::Matrix<float> batch = nlm::Matrix<float>::from_shape({hp.batch_size, hp.neurons});
  nlm::detail::Xoshiro256 engine(3);
  nlm::detail::fill_uniform<float>(engine, std::span<float>(batch.data(), batch.size()));
  batch = 2.0f * batch - 1.0f;  // images mapped to [−1, 1]

  BareGemms<float> update_gemms(hp.neurons, BareGemms<float>::update(
                                                hp.persistent_chains, hp.batch_size,
                                                hp.langevin_steps));
  machine.update(batch);  // warm-up
  update_gemms.run();
  double gms = 0;
  const auto [update_s, update_bare_s] = interleaved(
      opt.updates, [&] { gms += machine.update(batch); }, [&] { update_gemms.run(); });

  constexpr std::size_t generated = 36;
  nlm::Matrix<float> y = machine.random_states(generated);
  BareGemms<float> step_gemms(hp.neurons, BareGemms<float>::step(generated));
  machine.sample(y, 10);  // warm-up
  const int k = opt.steps_per_block;
  const auto [block_s, block_bare_s] = interleaved(
      opt.generation_blocks, [&] { machine.sample(y, std::size_t(k)); },
      [&] { for (int i = 0; i < k; ++i) step_gemms.run(); });

  std::printf(
      "{\"tool\": \"%s\", \"threads\": %d, \"core\": \"%s\", \"update_ms\": %.3f, "
      "\"update_bare_ms\": %.3f, \"generation_us\": %.3f, \"generation_bare_us\": %.3f, "
      "\"update_products\": %zu, \"check\": %.6g, \"y0\": %.6g}\n",
      tool, openblas_get_num_threads(), openblas_get_corename(), update_s * 1e3, update_bare_s * 1e3,
      block_s / k * 1e6, block_bare_s / k * 1e6, update_gemms.products(), gms, double(y(0, 0)));
  return 0;
}

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  if (opt.threads > 0) openblas_set_num_threads(opt.threads);
#ifdef NLM_HAVE_ONEDNN
  if (opt.bf16) return measure<nlm::PaperMachineBf16>(opt, "nlm-bf16");
#endif
  return measure<nlm::PaperMachine>(opt, "nlm");
}
