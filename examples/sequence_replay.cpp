// Sequence learning and replay (the sequence experiment of the free-energy attractor network,
// with nlm's local rule): a cycle of digits 1 → 2 → 3 → 1 … is taught by the time-shifted delta
// rule
// ΔJ = k (ξ^{t+1} − Jφ(ξ^t)) φ(ξ^t)ᵀ, one update per presented transition; then the plain
// recurrent network dx = (−x + Jφ(x)) dt + √(2T) dW runs free from noise.
//
//   sequence_replay --data data/mnist --digits 1,2,3
//   sequence_replay --digits 1,2,3 --exemplars 3 --gamma 0.7
//
// --exemplars E teaches E images of each digit as one cycle of E·K patterns (1a 2a 3a 1b 2b 3b
// …); the default is one exemplar per digit, the FEP network's setting. Frames are read by the
// evaluation classifier (confidence 0.9); the order accuracy is the fraction of consecutive
// recognised frames whose digits follow the taught order. Settings: Δt = 1 (the synchronous
// map) without noise, with noise T and 4T, Δt = 0.1 with noise T (a frame per unit time), and
// the NLM's gradient dynamics on E = ½‖f‖² with the same J (dt = 0.01, a frame per unit
// time), which cannot cycle. Also: the fixed points of J_sym, and heatmaps of J, J_sym, J_anti.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/dynamics.hpp"
#include "common/generation.hpp"
#include "common/mnist_common.hpp"

namespace ex = nlm::examples;

namespace {

struct Options {
  ex::DataSource data;
  std::string digits = "1,2,3", out = "out/sequence";
  std::size_t exemplars = 1, cycles = 1000, chains = 10, frames = 90, burn_in = 30, sym_starts = 100;
  double rate = 1e-3, gamma = 1.0, temperature = 0.05;
  bool no_field = false;
  std::uint64_t seed = 17;
  int threads = 0;
};

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

using SequenceMachine = nlm::LangevinMachine<nlm::Tanh, nlm::NoNoise, nlm::NoRegularizer>;

struct Replay {
  std::string name;
  std::vector<nlm::Matrix<float>> frames;  // one chains × N matrix per frame
  std::size_t recognised = 0, total = 0, pairs = 0, in_order = 0, all_pairs = 0, all_in_order = 0;
  double accuracy() const { return pairs ? double(in_order) / double(pairs) : 0.0; }
  double all_accuracy() const { return all_pairs ? double(all_in_order) / double(all_pairs) : 0.0; }
};

// Reads every frame with the classifier; scores the pairs of consecutive frames (t, t + 1),
// both recognised, from frame `burn_in` on: in order when frame t + 1 shows the digit after
// frame t's. `all_*` count every pair, the transient from noise included.
void score(Replay& r, const nlm::SoftmaxClassifier& classifier, const std::vector<std::uint8_t>& order,
           std::size_t burn_in) {
  const std::size_t chains = r.frames.front().shape(0);
  std::vector<std::vector<std::string>> names;
  for (const auto& f : r.frames) names.push_back(ex::class_names(classifier, f));
  auto next_of = [&](int d) {
    const auto at = std::find(order.begin(), order.end(), std::uint8_t(d)) - order.begin();
    return int(order[std::size_t(at + 1) % order.size()]);
  };
  for (std::size_t c = 0; c < chains; ++c) {
    if (std::getenv("NLM_SEQUENCE_FRAMES")) {  // the readout of every frame, for a look
      std::fprintf(stderr, "%-26s chain %2zu: ", r.name.c_str(), c);
      for (std::size_t t = 0; t < r.frames.size(); ++t) std::fprintf(stderr, "%s", names[t][c].c_str());
      std::fprintf(stderr, "\n");
    }
    for (std::size_t t = 0; t < r.frames.size(); ++t) {
      const bool scored = t >= burn_in;
      r.total += scored;
      if (names[t][c] == "?") continue;
      r.recognised += scored;
      if (t + 1 == r.frames.size() || names[t + 1][c] == "?") continue;
      const bool ok = std::stoi(names[t + 1][c]) == next_of(std::stoi(names[t][c]));
      ++r.all_pairs;
      r.all_in_order += ok;
      if (scored) {
        ++r.pairs;
        r.in_order += ok;
      }
    }
  }
}

template <class Model, class Sampler>
Replay run_free(const std::string& name, Model& model, Sampler sampler, const nlm::Matrix<float>& start,
                std::size_t steps_per_frame, std::size_t frames) {
  Replay r{name, {}};
  nlm::Chains<float> chains(start);
  sampler.advance(model, chains, steps_per_frame * frames, [&](std::size_t step, const nlm::Matrix<float>& x) {
    if (step % steps_per_frame == 0) r.frames.push_back(x);
  });
  ex::require_finite_states(chains.states());
  return r;
}

int run(const Options& o) {
  const ex::fs::path out(o.out);
  ex::require_output_dir(out);
  ex::set_blas_threads(o.threads);
  const auto order = ex::parse_digits(o.digits);
  if (order.size() < 2) throw std::invalid_argument("--digits: a sequence needs at least 2 digits, got " + o.digits);
  for (std::size_t i = 0; i < order.size(); ++i)
    for (std::size_t k = i + 1; k < order.size(); ++k)
      if (order[i] == order[k]) throw std::invalid_argument("--digits: digit " + std::to_string(order[i]) + " appears twice in " + o.digits);
  const auto all = ex::load_digits(o.data, o.digits, 0);
  const std::size_t n = all.x.shape(1), k = order.size() * o.exemplars;

  // The taught cycle: exemplar e of every digit in order, for e = 0 … E−1 (the first E images
  // of each digit in file order); the classifier learns from the other images.
  nlm::Matrix<float> patterns = nlm::Matrix<float>::from_shape({k, n});
  std::vector<bool> taught(all.count(), false);
  for (std::size_t e = 0; e < o.exemplars; ++e)
    for (std::size_t d = 0; d < order.size(); ++d) {
      std::size_t seen = 0, row = all.count();
      for (std::size_t i = 0; i < all.count(); ++i)
        if (all.labels[i] == order[d] && seen++ == e) {
          row = i;
          break;
        }
      if (row == all.count())
        throw std::invalid_argument(o.data.path + ": fewer than " + std::to_string(o.exemplars) + " images of digit " +
                                    std::to_string(order[d]));
      taught[row] = true;
      xt::view(patterns, e * order.size() + d, xt::all()) = xt::view(all.x, row, xt::all());
    }
  std::vector<std::size_t> rest;
  for (std::size_t i = 0; i < all.count(); ++i)
    if (!taught[i]) rest.push_back(i);
  nlm::Matrix<float> cx = nlm::Matrix<float>::from_shape({rest.size(), n});
  std::vector<std::uint8_t> cl;
  for (std::size_t r = 0; r < rest.size(); ++r) {
    xt::view(cx, r, xt::all()) = xt::view(all.x, rest[r], xt::all());
    cl.push_back(all.labels[rest[r]]);
  }
  const auto classifier = ex::evaluation_classifier(cx, cl);

  // ---- learning ------------------------------------------------------------------------
  nlm::Hyperparameters hp;
  hp.neurons = n;
  hp.persistent_chains = 1;
  hp.batch_size = 1;
  hp.coupling_strength = 0.0;  // J starts at 0, as in the FEP network's reference code
  hp.learning_rate = o.rate;
  hp.learn_field = !o.no_field;  // b breaks the symmetry x -> -x, under which -ξ cycles as well as ξ
  hp.seed = o.seed;
  SequenceMachine machine(hp);
  if (!o.no_field) machine.set_field(nlm::Vector<float>(xt::mean(patterns, {0})));  // b starts at the patterns' mean
  std::printf("teaching the cycle %s (%zu exemplar%s per digit, %zu patterns): %zu cycles, k = %g, gamma = %g, %s\n",
              o.digits.c_str(), o.exemplars, o.exemplars == 1 ? "" : "s", k, o.cycles, o.rate, o.gamma,
              o.no_field ? "no field" : "field b learned");
  nlm::learn_sequence(machine, patterns, nlm::TrainingOptions::for_epochs(o.cycles), nlm::SequenceOptions{o.gamma},
                      nlm::ProgressBar(std::cerr, 30, std::max<std::size_t>(o.cycles / 4, 1)));
  const auto& j = machine.couplings();
  {
    nlm::Matrix<float> phi = nlm::Matrix<float>::from_shape({k, n});
    machine.activation().value(patterns, phi);
    const nlm::Matrix<float> h = xt::linalg::dot(phi, xt::transpose(j));
    double worst = 0;
    for (std::size_t t = 0; t < k; ++t) {
      double e = 0, s = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double target = patterns((t + 1) % k, i), got = h(t, i) + (o.no_field ? 0.0 : double(machine.field()(i)));
        e += (target - got) * (target - got);
        s += target * target;
      }
      worst = std::max(worst, std::sqrt(e / s));
    }
    std::printf("fit: largest relative error of J phi(xi^t) + b against xi^(t+1): %.4f\n", worst);
  }
  const double asym = nlm::asymmetry(j);
  std::printf("asymmetry ||J - J^T|| / ||J||: %.4f (the FEP network's reference reports 0.98; 0 symmetric, 2 antisymmetric)\n", asym);

  // ---- free runs -------------------------------------------------------------------------
  nlm::Matrix<float> start = nlm::Matrix<float>::from_shape({o.chains, n});
  {
    nlm::detail::Xoshiro256 e(o.seed + 1);
    nlm::detail::fill_normal<float>(e, std::span<float>(start.data(), start.size()));
  }
  std::vector<Replay> runs;
  {
    auto quiet = nlm::RecurrentNetwork<>::of(machine, 0.0, o.seed + 2);
    runs.push_back(run_free("dt = 1, T = 0", quiet, nlm::EulerMaruyama(1.0), start, 1, o.frames));
    auto noisy = nlm::RecurrentNetwork<>::of(machine, o.temperature, o.seed + 3);
    runs.push_back(run_free("dt = 1, T = " + number(o.temperature), noisy, nlm::EulerMaruyama(1.0), start, 1,
                            o.frames));
    auto noisier = nlm::RecurrentNetwork<>::of(machine, 4 * o.temperature, o.seed + 4);
    runs.push_back(run_free("dt = 1, T = " + number(4 * o.temperature), noisier, nlm::EulerMaruyama(1.0), start,
                            1, o.frames));
    auto slow = nlm::RecurrentNetwork<>::of(machine, o.temperature, o.seed + 5);
    runs.push_back(run_free("dt = 0.1, T = " + number(o.temperature), slow, nlm::EulerMaruyama(0.1), start, 10,
                            o.frames));
  }
  {
    // The NLM's own gradient dynamics on the learned J and b: the model alone, no learner.
    nlm::LangevinModel<> gradient(machine.parameters(), o.temperature, machine.activation());
    gradient.noise().seed(nlm::detail::derive_seed(o.seed, std::uint64_t(nlm::Stream::noise)));
    runs.push_back(run_free("NLM gradient, T = " + number(o.temperature), gradient, nlm::EulerMaruyama(0.01),
                            start, 100, o.frames));
  }
  std::printf("\nfree runs from N(0, 1): %zu chains x %zu frames, the first %zu of each not scored (the transient)\n",
              o.chains, o.frames, o.burn_in);
  std::printf("%-26s %13s %12s %16s %18s\n", "dynamics", "recognised", "transitions", "order accuracy",
              "(all frames)");
  for (auto& r : runs) {
    score(r, classifier, order, o.burn_in);
    std::printf("%-26s %6zu / %-6zu %12zu %16.4f %11.4f of %zu\n", r.name.c_str(), r.recognised, r.total, r.pairs,
                r.accuracy(), r.all_accuracy(), r.all_pairs);
  }

  // ---- pictures ----------------------------------------------------------------------------
  std::vector<ex::Snapshot> strip;
  const std::size_t shown = std::min<std::size_t>(o.frames, 24);
  {
    ex::Snapshot taught_row{0, {}, n, "taught"};
    for (std::size_t i = 0; i < k * n && i < shown * n; ++i) taught_row.images.push_back((patterns.data()[i] + 1.0f) * 0.5f);
    strip.push_back(taught_row);
  }
  const std::size_t from = o.frames - shown;  // the last frames: the replay after the transient
  for (const auto& r : runs) {
    ex::Snapshot s{0, {}, n, r.name};
    for (std::size_t t = from; t < o.frames; ++t)
      for (std::size_t i = 0; i < n; ++i) s.images.push_back((std::clamp(r.frames[t](0, i), -1.0f, 1.0f) + 1.0f) * 0.5f);
    strip.push_back(s);
  }
  ex::write_snapshot_strip(out / "replay.png", strip, shown, 2,
                           "taught cycle " + o.digits + "; chain 1 of each free run from noise, frames " +
                               std::to_string(from + 1) + "-" + std::to_string(o.frames) + " (one per unit time)");
  ex::write_coupling_heatmaps(out / "couplings.png", j, "couplings after sequence learning, asymmetry " +
                                                          std::to_string(asym).substr(0, 6));

  // The fixed points of J_sym, from noise and from the taught patterns.
  const auto parts = nlm::split_symmetric(j);
  const nlm::Matrix<float> j_sym = xt::cast<float>(parts.symmetric);
  const nlm::RecurrentNetwork<> sym(j_sym, o.no_field ? nlm::Vector<float>{} : machine.field(), 0.0);
  nlm::Matrix<float> starts = nlm::Matrix<float>::from_shape({o.sym_starts + k, n});
  {
    nlm::detail::Xoshiro256 e(o.seed + 6);
    nlm::detail::fill_normal<float>(e, std::span<float>(starts.data(), starts.size()));
    for (std::size_t r = 0; r < k; ++r) xt::view(starts, o.sym_starts + r, xt::all()) = xt::view(patterns, r, xt::all());
  }
  std::printf("\nfixed points of J_sym (%zu starts from noise, %zu from the taught patterns):\n", o.sym_starts, k);
  const auto census = nlm::find_fixed_points(sym, starts);
  ex::report_census(census, classifier, n, out / "sym_census", out / "sym_attractors.png", "fixed points of J_sym");
  std::printf("J_sym: %zu fixed points (%zu stable under the plain dynamics)\n", census.fixed_points.size(),
              census.stable_count());
  std::printf("wrote %s, %s, %s\n", (out / "replay.png").c_str(), (out / "couplings.png").c_str(),
              (out / "sym_attractors.png").c_str());
  std::printf("order accuracy: %.4f\n", runs[1].accuracy());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Teach a cycle of digits with the time-shifted delta rule and replay it (nlm)"};
  nlm::examples::last_option_wins(app);
  Options o;
  o.data.add_to(app);
  ex::add_digits_option(app, o.digits, "the taught order, e.g. 1,2,3");
  app.add_option("--exemplars", o.exemplars, "images per digit in the cycle")->capture_default_str()->transform(ex::count(true));
  app.add_option("--cycles", o.cycles, "passes round the cycle (one update per transition)")->capture_default_str()
      ->transform(ex::count(true));
  app.add_option("--rate,-k", o.rate, "learning rate k")->capture_default_str();
  app.add_option("--gamma", o.gamma, "the target's weight on the next pattern (1: pure sequence, 0: storage)")
      ->capture_default_str();
  app.add_flag("--no-field", o.no_field, "learn J only (b = 0, the FEP network's setting): -xi then cycles as well as xi");
  ex::add_temperature_option(app, o.temperature, "noise temperature of the free runs");
  ex::add_chains_option(app, o.chains, "free-running chains");
  app.add_option("--frames", o.frames, "frames per chain (one per unit time)")->capture_default_str()->transform(ex::count(true));
  app.add_option("--burn-in", o.burn_in, "frames of each chain not scored (the transient from noise)")
      ->capture_default_str()->transform(ex::count());
  app.add_option("--sym-starts", o.sym_starts, "noise starts of the J_sym census")->capture_default_str()->transform(ex::count());
  ex::add_seed_option(app, o.seed, "seed");
  ex::add_output_option(app, o.out);
  ex::add_threads_option(app, o.threads);
  CLI11_PARSE(app, argc, argv);
  if (!(o.rate > 0.0)) throw std::invalid_argument("--rate must be > 0");
  if (o.burn_in >= o.frames)
    throw std::invalid_argument("--burn-in " + std::to_string(o.burn_in) + " leaves none of the " +
                                std::to_string(o.frames) + " frames to score");
  return run(o);
} catch (const std::exception& e) {
  std::cerr << "sequence_replay: " << e.what() << "\n";
  return 1;
}
