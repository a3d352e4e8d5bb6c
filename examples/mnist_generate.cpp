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
#ifdef NLM_HAVE_ONEDNN
#include <nlm/bf16.hpp>
#endif
#include <nlm_examples/picture.hpp>

#include <nlm/analysis/classifier.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"
#include "common/model_files.hpp"

namespace ex = nlm::examples;

namespace {

struct Options : ex::GenerationOptions {
  std::string out = "out/generate", samples_npy, sampler = "em", layout, cls, data = ex::default_data_dir();
  std::string precision = "fp32";
  std::size_t snapshot_start = 10000, snapshot_every = 1500;
};

template <class SamplerT, class Backend = nlm::BlasProducts>
int run(const Options& o) {
  const ex::fs::path out(o.out);
  ex::require_output_dir(out);
  if (!o.samples_npy.empty()) ex::require_output_file(o.samples_npy);
  auto machine = ex::make_generator<SamplerT, Backend>(o);
  const auto& hp = machine.hyperparameters();
  const nlm::UnitLayout layout = ex::model_layout(o.couplings, hp.neurons, o.layout);
  const std::size_t v = layout.visible;
  // --class: the label units of each chain clamped to its class's code, --chains per class.
  std::vector<std::uint8_t> classes, wanted;
  if (!o.cls.empty()) {
    if (o.cls == "all") classes = layout.classes;
    else classes = ex::parse_digits(o.cls);
    for (const auto c : classes) {
      layout.label_of(c);  // a class the model has no label unit for: a sentence naming its classes
      wanted.insert(wanted.end(), o.chains, c);
    }
  }
  const std::size_t total = o.cls.empty() ? o.chains : wanted.size();
  nlm::Chains<float> chains(machine.random_states(total));
  if (!wanted.empty()) {
    const auto clamp = layout.label_clamp<float>(wanted);
    chains.clamp(clamp.mask, clamp.values);
  }
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
  machine.sample(chains, o.steps, observe);
  const nlm::Matrix<float>& x = chains.states();
  ex::require_finite_states(x);
  const auto image_units = [&](const nlm::Matrix<float>& states) {
    return nlm::Matrix<float>(xt::view(states, xt::all(), xt::range(0, v)));
  };
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
  const auto side = std::size_t(std::lround(std::sqrt(double(v))));
  const nlm::Matrix<float> images = xt::tanh(image_units(x));
  const nlm::Matrix<float> pixels = (images + 1.0f) * 0.5f;
  if (side * side == v) {
    if (wanted.empty()) {
      const std::size_t cols = std::size_t(std::ceil(std::sqrt(double(total))));
      ex::write_image_grid(out / "samples.png", pixels, (total + cols - 1) / cols, cols, 3,
                           "NLM samples after " + std::to_string(o.steps) + " steps");
    } else {  // one row per class, its first 12 chains
      std::vector<ex::Snapshot> rows;
      for (std::size_t k = 0; k < classes.size(); ++k) {
        const nlm::Matrix<float> first = xt::view(pixels, xt::range(k * o.chains, k * o.chains + std::min<std::size_t>(o.chains, 12)), xt::all());
        ex::Snapshot row = ex::make_snapshot(0, first);
        row.label = "class " + std::to_string(classes[k]);
        rows.push_back(std::move(row));
      }
      ex::write_snapshot_strip(out / "samples.png", rows, std::min<std::size_t>(o.chains, 12), 3,
                               "label units clamped, " + std::to_string(o.steps) + " steps");
    }
    std::vector<ex::Snapshot> strip;
    for (const auto& [step, states] : snapshots.taken())
      strip.push_back(ex::make_snapshot((long long)step, ex::to_pixels(image_units(states))));
    if (!strip.empty())
      ex::write_snapshot_strip(out / "snapshots.png", strip, std::min<std::size_t>(total, 12), 2,
                               "the first chains every " + std::to_string(o.snapshot_every) + " steps");
  }
  if (!o.samples_npy.empty()) nlm::io::save_npy(o.samples_npy, images);
  double recognised = -1;
  if (!wanted.empty()) {
    // The evaluation classifier (as mnist_evaluate's: softmax regression with salt-and-pepper
    // copies) trained on the model's training digits.
    const auto all = ex::load_digits(o.data, ex::model_digits(layout, o.cls), 0);
    const auto train = layout.held_out > 0 ? ex::split_for_model(all, layout, 0, o.data).train : all;
    nlm::ClassifierOptions copt;
    copt.flip_noise = 0.35;
    copt.seed = o.seed;
    const std::size_t n_train = std::min<std::size_t>(2000, train.count());
    const auto part = ex::first_rows_of(train, n_train);
    const nlm::SoftmaxClassifier classifier(nlm::Matrix<float>(part.x), part.labels, copt);
    const auto predicted = classifier.predict(images);
    std::size_t right = 0;
    std::printf("recognised as the requested digit by the evaluation classifier (%zu training digits):\n", n_train);
    for (std::size_t k = 0; k < classes.size(); ++k) {
      std::size_t r = 0;
      for (std::size_t i = k * o.chains; i < (k + 1) * o.chains; ++i) r += predicted[i] == classes[k];
      right += r;
      std::printf("  class %d: %zu/%zu = %.3f\n", int(classes[k]), r, o.chains, double(r) / double(o.chains));
    }
    recognised = double(right) / double(total);
  }
  if constexpr (std::is_same_v<SamplerT, nlm::Mala>)
    std::printf("MALA acceptance rate: %.3f\n", machine.sampler().acceptance_rate());
  std::printf("wrote %s%s%s\n", (out / "samples.png").c_str(),
              snapshots.taken().empty() ? "" : (", " + (out / "snapshots.png").string()).c_str(),
              o.samples_npy.empty() ? "" : (", " + o.samples_npy).c_str());
  if (recognised >= 0) std::printf("recognised as requested: %.4f\n", recognised);
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
  app.add_option("--samples-npy", o.samples_npy, "write tanh(x) of every chain's image units here (float32, chains x pixels)");
  app.add_option("--layout", o.layout, "unit layout (default: layout.txt beside the couplings, if there)");
  app.add_option("--class", o.cls,
                 "clamp the label units to this digit's code (a model from mnist_train --labels; 'all': each "
                 "trained digit, one row per digit); --chains is then per digit");
  app.add_option("--data", o.data, "MNIST folder for the classifier that scores --class samples")->capture_default_str();
  app.add_option("--precision", o.precision, "fp32 or bf16 (bf16 products through oneDNN; a build with -DNLM_ONEDNN=ON)")
      ->check(CLI::IsMember({"fp32", "bf16"}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.chains == 0) throw std::invalid_argument("--chains must be > 0");
  if (o.sampler != "em" && o.sampler != "mala")
    throw std::invalid_argument("--sampler: unknown sampler '" + o.sampler + "' (use em or mala)");
  if (o.precision == "bf16") {
#ifdef NLM_HAVE_ONEDNN
    return o.sampler == "em" ? run<nlm::EulerMaruyama, nlm::Bf16Products>(o) : run<nlm::Mala, nlm::Bf16Products>(o);
#else
    throw std::invalid_argument("--precision bf16: this mnist_generate was built without oneDNN (cmake -DNLM_ONEDNN=ON)");
#endif
  }
  return o.sampler == "em" ? run<nlm::EulerMaruyama>(o) : run<nlm::Mala>(o);
} catch (const std::exception& e) {
  std::cerr << "mnist_generate: " << e.what() << "\n";
  return 1;
}
