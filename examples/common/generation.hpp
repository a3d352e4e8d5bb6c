// Shared by the analysis examples: a generation run with the upstream protocol's defaults
// (36 chains from N(0, I), 25 000 steps, seed 30) and a recording observer.
#pragma once

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <nlm/nlm.hpp>

#include "mnist_common.hpp"

namespace nlm::examples {

struct GenerationOptions {
  std::string couplings, field;
  std::size_t chains = 36, steps = 25000;
  std::uint64_t seed = 30;
  double dt = 0.01, temperature = 1.0;
  int threads = 0;

  void add_to(CLI::App& app) {
    app.add_option("--couplings", couplings, "couplings J as .npy (N x N)")->required();
    app.add_option("--field", field, "field b as .npy (N), from mnist_train --field");
    app.add_option("--chains", chains, "independent chains")->capture_default_str()->transform(count(true));
    app.add_option("--steps", steps, "Langevin steps")->capture_default_str()->transform(count(true));
    app.add_option("--seed", seed, "seed")->capture_default_str()->transform(count());
    app.add_option("--dt", dt, "time step dt")->capture_default_str();
    app.add_option("--temperature,--T", temperature, "temperature T")->capture_default_str();
    app.add_option("--threads", threads, "OpenBLAS threads (0: default)")->transform(count());
  }
};

/// N of the couplings in `path` (read from the .npy header alone, so that a run can check
/// its other inputs against it before any work): a square rank-2 array, or a sentence.
inline std::size_t couplings_neurons(const std::string& path) {
  const auto shape = io::read_npy_header(path).shape;
  if (shape.size() != 2 || shape[0] != shape[1] || shape[0] == 0)
    throw std::invalid_argument(path + ": couplings must be a square N x N array, got shape " +
                                io::detail::python_shape(shape));
  return shape[0];
}

/// A machine that generates with the couplings (and field) named in `o`: sampler `SamplerT`
/// (`sampler`, seeded from `o.seed`),
/// float, products by `Backend`, Δt, T and seed from `o`.
template <class SamplerT = EulerMaruyama, class Backend = BlasProducts>
LangevinMachine<Tanh, GaussianNoise, WeightDecay, SamplerT, float, Backend> make_generator(const GenerationOptions& o,
                                                                                         SamplerT sampler = SamplerT()) {
  set_blas_threads(o.threads);
  Matrix<float> j = io::load_npy_matrix<float>(o.couplings);
  if (j.shape(0) != j.shape(1))
    throw std::invalid_argument(o.couplings + ": couplings must be square, got " +
                                std::to_string(j.shape(0)) + "x" + std::to_string(j.shape(1)));
  Hyperparameters hp;
  hp.neurons = j.shape(0);
  hp.persistent_chains = 1;  // generation uses its own chains
  hp.time_step = o.dt;
  hp.temperature = o.temperature;
  hp.seed = o.seed;
  LangevinMachine<Tanh, GaussianNoise, WeightDecay, SamplerT, float, Backend> machine(hp, Tanh{}, GaussianNoise{},
                                                                                      WeightDecay{}, std::move(sampler));
  machine.set_couplings(std::move(j));
  if (!o.field.empty()) machine.set_field(io::load_npy_vector<float>(o.field));
  return machine;
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
  auto machine = make_generator(o);
  Matrix<float> x = machine.random_states(o.chains);
  std::fprintf(stderr, "generating: %zu chains, %zu steps\n", o.chains, o.steps);
  machine.sample(x, o.steps, std::forward<Observer>(observer));
  require_finite_states(x);
  return x;
}

}  // namespace nlm::examples
