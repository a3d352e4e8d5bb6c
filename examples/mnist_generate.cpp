// Generates digits with trained couplings, as the paper's 2generate.py (Algorithm 2): chains
// start from N(0, I) and follow the Langevin dynamics of the learned energy.
//
//   mnist_generate --couplings out/quick/J.npy                 # 36 chains, 25 000 steps
//   mnist_generate --couplings J_cupy1.npy --samples-npy s.npy # upstream couplings work too
//
// Writes a 6×6 grid of the final states (the paper's Fig. 3), a strip of snapshots every
// --snapshot-every steps from --snapshot-start (as the upstream script shows), and optionally
// tanh(x) of every chain as float32 .npy of shape (chains, N).
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"

namespace ex = nlm::examples;

namespace {

struct Options : ex::GenerationOptions {
  std::string out = "out/generate", samples_npy, sampler = "em";
  std::size_t snapshot_start = 10000, snapshot_every = 1500;
};

template <class SamplerT>
int run(const Options& o) {
  const ex::fs::path out(o.out);
  ex::require_output_dir(out);
  if (!o.samples_npy.empty()) ex::require_output_file(o.samples_npy);
  auto machine = ex::make_generator<SamplerT>(o);
  const auto& hp = machine.hyperparameters();
  nlm::Matrix<float> x = machine.random_states(o.chains);
  nlm::Snapshots<float> snapshots(o.snapshot_start, o.snapshot_every);
  std::size_t shown = 0;
  const auto progress = [&](std::size_t step, const nlm::Matrix<float>&) {
    const std::size_t pct = 10 * (10 * step / o.steps);
    if (pct != shown) {
      shown = pct;
      std::fprintf(stderr, "generating: step %zu/%zu (%zu%%)\n", step, o.steps, pct);
    }
  };
  nlm::Observe observe(snapshots, progress);
  machine.sample(x, o.steps, observe);
  ex::require_finite_states(x);
  if constexpr (std::is_same_v<SamplerT, nlm::Mala>) {
    // Below 1 % the chains have hardly left their N(0, I) start: what would be written as
    // samples is noise.
    const double rate = machine.sampler().acceptance_rate();
    if (rate < 0.01) {
      char line[160];
      std::snprintf(line, sizeof line,
                    "MALA accepted %.4f of its proposals at dt = %g: the chains stayed near their "
                    "noise start; lower --dt (0.01 is the paper's)", rate, o.dt);
      throw nlm::numerical_error(line);
    }
  }
  const auto side = std::size_t(std::lround(std::sqrt(double(hp.neurons))));
  const std::size_t cols = std::size_t(std::ceil(std::sqrt(double(o.chains))));
  const std::size_t rows = (o.chains + cols - 1) / cols;
  const auto pixels = ex::to_pixels(x);
  if (side * side == hp.neurons) {
    ex::write_image_grid(out / "samples.png", pixels, rows, cols, 3,
                         "NLM samples after " + std::to_string(o.steps) + " steps");
    std::vector<ex::Snapshot> strip;
    for (const auto& [step, states] : snapshots.taken())
      strip.push_back(ex::make_snapshot((long long)step, ex::to_pixels(states)));
    if (!strip.empty())
      ex::write_snapshot_strip(out / "snapshots.png", strip, std::min<std::size_t>(o.chains, 12), 2,
                               "the first chains every " + std::to_string(o.snapshot_every) + " steps");
  }
  if (!o.samples_npy.empty()) {
    const nlm::Matrix<float> samples = xt::tanh(x);
    nlm::io::save_npy(o.samples_npy, samples);
  }
  if constexpr (std::is_same_v<SamplerT, nlm::Mala>)
    std::printf("MALA acceptance rate: %.3f\n", machine.sampler().acceptance_rate());
  std::printf("wrote %s%s%s\n", (out / "samples.png").c_str(),
              snapshots.taken().empty() ? "" : (", " + (out / "snapshots.png").string()).c_str(),
              o.samples_npy.empty() ? "" : (", " + o.samples_npy).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Generate digits from trained NLM couplings (nlm)"};
  Options o;
  o.add_to(app);
  app.add_option("--sampler", o.sampler, "em (Euler-Maruyama, the paper's) or mala")->capture_default_str();
  app.add_option("--snapshot-start", o.snapshot_start, "first snapshot step")->capture_default_str()->transform(ex::count());
  app.add_option("--snapshot-every", o.snapshot_every, "steps between snapshots")->capture_default_str()->transform(ex::count(true));
  app.add_option("--out", o.out, "output folder")->capture_default_str();
  app.add_option("--samples-npy", o.samples_npy, "write tanh(x) of every chain here (float32, chains x N)");
  CLI11_PARSE(app, argc, argv);
  if (o.chains == 0) throw std::invalid_argument("--chains must be > 0");
  if (o.sampler == "em") return run<nlm::EulerMaruyama>(o);
  if (o.sampler == "mala") return run<nlm::Mala>(o);
  throw std::invalid_argument("--sampler: unknown sampler '" + o.sampler + "' (use em or mala)");
} catch (const std::exception& e) {
  std::cerr << "mnist_generate: " << e.what() << "\n";
  return 1;
}
