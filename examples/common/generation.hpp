// Shared by the analysis examples: a generation run with the upstream protocol's defaults
// (36 chains from N(0, I), 25 000 steps, seed 30) and a recording observer.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlm/nlm.hpp>

#include "mnist_common.hpp"
#include "options.hpp"

namespace nlm::examples {

/// The model a program reads: a model file or checkpoint (--model), or the separate .npy files
/// (--couplings, --field). `add_model_options` registers them the same way everywhere.
struct ModelFiles {
  std::string model, couplings, field;

  void add_model_options(CLI::App& app) {
    app.add_option("--model", model,
                   "the model: model.nlm from mnist_train (J, b, layout), or a checkpoint (J, b; the layout from "
                   "layout.txt beside it)");
    app.add_option("--couplings", couplings, "couplings J as .npy (N x N), instead of --model");
    app.add_option("--field", field, "field b as .npy (N), with --couplings (mnist_train --field)");
  }
  /// What messages call the model: the file named.
  const std::string& source() const { return model.empty() ? couplings : model; }
  /// Throws unless exactly one of --model and --couplings is given (and --field only with
  /// --couplings).
  void require_one() const {
    if (model.empty() && couplings.empty()) throw std::invalid_argument("give the model: --model model.nlm (or --couplings J.npy)");
    if (!model.empty() && !couplings.empty())
      throw std::invalid_argument("--model and --couplings: give one (the model file holds J)");
    if (!model.empty() && !field.empty())
      throw std::invalid_argument("--field: with --couplings only (the model file holds the field)");
  }
};

/// A model read from disk: J, b (empty: none), the layout a model file carries, and a line
/// saying what was read.
struct LoadedModel {
  Matrix<float> couplings;
  Vector<float> field;
  std::optional<UnitLayout> layout;
  std::string description;
};

/// Reads the model `m` names (model file, checkpoint, or .npy files), checked.
inline LoadedModel load_model(const ModelFiles& m) {
  m.require_one();
  LoadedModel out;
  if (!m.model.empty()) {
    SavedModel<float> saved = read_model<float>(m.model);
    out.couplings = std::move(saved.couplings);
    if (xt::any(xt::not_equal(saved.field, 0.0f))) out.field = std::move(saved.field);
    out.layout = std::move(saved.layout);
    out.description = m.model + ", " + saved.kind + ", " + std::to_string(saved.updates) + " updates: N = " +
                      std::to_string(out.couplings.shape(0)) + (out.field.size() ? ", field b" : ", no field") +
                      (out.layout ? ", its unit layout" : "");
    return out;
  }
  out.couplings = io::load_npy_matrix<float>(m.couplings);
  if (out.couplings.shape(0) != out.couplings.shape(1) || out.couplings.shape(0) == 0)
    throw std::invalid_argument(m.couplings + ": couplings must be square, got " + std::to_string(out.couplings.shape(0)) +
                                "x" + std::to_string(out.couplings.shape(1)));
  if (!m.field.empty()) {
    out.field = io::load_npy_vector<float>(m.field);
    if (out.field.shape(0) != out.couplings.shape(0))
      throw std::invalid_argument(m.field + ": a field of " + std::to_string(out.field.shape(0)) + " values for " +
                                  std::to_string(out.couplings.shape(0)) + " neurons (" + m.couplings + ")");
  }
  out.description = m.couplings + ": N = " + std::to_string(out.couplings.shape(0)) +
                    (m.field.empty() ? ", no field" : ", field " + m.field);
  return out;
}

/// The generation group: the model, the chains and their dynamics (Δt, T, steps, seed) and
/// the BLAS threads.
struct GenerationOptions : ModelFiles {
  std::size_t chains = 36, steps = 25000;
  std::uint64_t seed = 30;
  double dt = 0.01, temperature = 1.0;
  int threads = 0;

  /// The model, --chains and the dynamics.
  void add_to(CLI::App& app) {
    add_model_options(app);
    add_chains_option(app, chains);
    add_dynamics(app);
  }
  /// --steps, --dt, --temperature, --seed and --threads.
  void add_dynamics(CLI::App& app, const std::string& steps_help = "Langevin steps",
                    const std::string& seed_help = "seed") {
    app.add_option("--steps", steps, steps_help)->capture_default_str()->transform(count(true));
    app.add_option("--dt", dt, "time step dt")->capture_default_str();
    add_temperature_option(app, temperature);
    add_seed_option(app, seed, seed_help);
    add_threads_option(app, threads);
  }
};

/// The recording of one chain's trajectory (mnist_pca, mnist_neuron_trace): which chain, from
/// which step, every how many steps. A program sets its defaults before `add_to`.
struct TrajectoryOptions {
  std::size_t chain = 35, from = 10000, every = 1;

  void add_to(CLI::App& app, const std::string& chain_help = "which chain to follow") {
    app.add_option("--chain", chain, chain_help)->capture_default_str()->transform(count());
    app.add_option("--from", from, "first recorded step")->capture_default_str()->transform(count());
    app.add_option("--every", every, "record every this many steps")->capture_default_str()->transform(count(true));
  }
  /// Throws unless the chain exists and some step is recorded in a run of `g`.
  void check(const GenerationOptions& g) const {
    if (chain >= g.chains) throw std::invalid_argument("--chain must be < --chains");
    if (from >= g.steps)
      throw std::invalid_argument("--from (" + std::to_string(from) + ") must be below --steps (" +
                                  std::to_string(g.steps) + "): nothing would be recorded");
  }
};

/// N of the couplings in `path` (read from the .npy header alone, so that a run can check
/// its other inputs against it before any work): a square rank-2 array, or a sentence.
inline std::size_t couplings_neurons(const std::string& path) {
  if (fs::path(path).extension() != ".npy") return read_model<float>(path).neurons();
  const auto shape = io::read_npy_header(path).shape;
  if (shape.size() != 2 || shape[0] != shape[1] || shape[0] == 0)
    throw std::invalid_argument(path + ": couplings must be a square N x N array, got shape " +
                                io::detail::python_shape(shape));
  return shape[0];
}

/// N of the model `m` names, checked before any work (one of --model and --couplings).
inline std::size_t couplings_neurons(const ModelFiles& m) {
  m.require_one();
  return couplings_neurons(m.source());
}

/// A model and a sampler that generate with the couplings (and field) named in `o`: no
/// learner, no persistent chains. The model is `LangevinModel<Tanh, GaussianNoise, float,
/// Backend>` at T = `o.temperature`; the sampler gets Δt = `o.dt`; the noise, the sampler's
/// own stream and the starting states come from `o.seed` (the streams `Hyperparameters::seed`
/// names: noise, sampler, initialisation).
template <class SamplerT = EulerMaruyama, class Backend = BlasProducts>
class Generator {
 public:
  using model_type = LangevinModel<Tanh, GaussianNoise, float, Backend>;
  using sampler_type = SamplerT;

  Generator(model_type model, SamplerT sampler, std::uint64_t seed, double dt)
      : model_(std::move(model)),
        sampler_(std::move(sampler)),
        starts_(nlm::detail::derive_seed(seed, std::uint64_t(Stream::initialisation))) {
    model_.noise().seed(nlm::detail::derive_seed(seed, std::uint64_t(Stream::noise)));
    sampler_.seed(nlm::detail::derive_seed(seed, std::uint64_t(Stream::sampler)));
    sampler_.set_time_step(dt);
  }

  const model_type& model() const noexcept { return model_; }
  model_type& model() noexcept { return model_; }
  SamplerT& sampler() noexcept { return sampler_; }
  const SamplerT& sampler() const noexcept { return sampler_; }
  std::size_t neurons() const noexcept { return model_.neurons(); }
  double temperature() const noexcept { return double(model_.temperature()); }
  double time_step() const noexcept { return sampler_.time_step(); }

  /// `count` states drawn from N(0, I), the starting point of generation.
  Matrix<float> random_states(std::size_t count) {
    nlm::detail::checked_buffer(count, neurons(), sizeof(float), "Generator::random_states");
    Matrix<float> m = Matrix<float>::from_shape({count, neurons()});
    nlm::detail::fill_normal<float>(starts_, std::span<float>(m.data(), m.size()));
    return m;
  }
  /// Advances `chains` by `steps` steps of the sampler (observer(step, states) after each).
  template <class Observer = NoObserver>
  void sample(Chains<float>& chains, std::size_t steps, Observer&& observer = {}) {
    nlm::detail::require_columns(chains.states(), neurons(), "Generator", "chains");
    sampler_.advance(model_, chains, steps, std::forward<Observer>(observer));
  }
  /// Annealed generation (nlm/sampler/annealed.hpp): the first `anneal_steps` of `steps` cool
  /// the chains geometrically from `t_start` to the model's T.
  template <class Observer = NoObserver>
  void sample_annealed(Chains<float>& chains, std::size_t steps, double t_start, std::size_t anneal_steps,
                       Observer&& observer = {}) {
    nlm::detail::require_columns(chains.states(), neurons(), "Generator", "chains");
    nlm::advance_annealed(sampler_, model_, chains, steps, {t_start, anneal_steps, 50}, std::forward<Observer>(observer));
  }
  /// E(x) for every row of `x`.
  Vector<float> energy(const Matrix<float>& x) const { return model_.energy(x); }

 private:
  model_type model_;
  SamplerT sampler_;
  nlm::detail::Xoshiro256 starts_;
};

/// The generator for the couplings (and field) named in `o`, with `sampler`; BLAS threads set
/// from `o.threads`.
template <class SamplerT = EulerMaruyama, class Backend = BlasProducts>
Generator<SamplerT, Backend> make_generator(const GenerationOptions& o, SamplerT sampler = SamplerT()) {
  set_blas_threads(o.threads);
  LoadedModel loaded = load_model(o);
  std::printf("model: %s\n", loaded.description.c_str());
  typename Generator<SamplerT, Backend>::model_type model(std::move(loaded.couplings), std::move(loaded.field),
                                                          o.temperature);
  return Generator<SamplerT, Backend>(std::move(model), std::move(sampler), o.seed, o.dt);
}

/// Throws if any state is not finite.
inline void require_finite_states(const Matrix<float>& x) {
  for (const float v : x)
    if (!std::isfinite(v)) throw numerical_error("the chains diverged (non-finite states): lower --dt");
}

/// Runs the paper's generation dynamics (Euler–Maruyama, float) with `observer`, returning
/// the final states.
template <class Observer>
Matrix<float> generate(const GenerationOptions& o, Observer&& observer) {
  auto generator = make_generator(o);
  Chains<float> chains(generator.random_states(o.chains));
  std::fprintf(stderr, "generating: %zu chains, %zu steps\n", o.chains, o.steps);
  generator.sample(chains, o.steps, std::forward<Observer>(observer));
  require_finite_states(chains.states());
  return std::move(chains.states());
}

}  // namespace nlm::examples
