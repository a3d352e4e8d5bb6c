/// @file attractor_network.hpp
/// @brief The free-energy attractor network (Spisak & Friston): units σ ∈ [−1, 1] with
/// continuous-Bernoulli conditionals, updated synchronously, on nlm's couplings and chains.
///
/// Unit i of a chain sees \f$ \theta_i = \beta\,(b_i + \sum_j J_{ij}\sigma_j) \f$ and takes, all
/// units at once from the old state, either a draw of \f$ p(\sigma_i) \propto e^{\theta_i\sigma_i} \f$
/// on [−1, 1] (`UpdateMode::sampled`) or its mean \f$ L(\theta_i) \f$ (`UpdateMode::deterministic`,
/// the reference's "least action" map). A batch of chains is one product per step
/// (\f$ H = \mathbf 1 b^\top + \Sigma J^\top \f$, the couplings' `drive`), so the backends (BLAS,
/// bf16) apply as for the NLM. Chains bring their clamps (held units keep their values) and
/// per-chain temperatures T_c, read as per-chain inverse temperatures β_c = 1/T_c.
///
/// The uniforms of the sampled mode come from a counter-based stream (element (c, i) of a step is
/// a function of the key, the step's counter and its index only): the draws do not depend on the
/// thread count, and the two words `noise_state()` returns resume it bit for bit.
///
/// Unlike the NLM, this is not a Langevin diffusion on x: there is no energy gradient, no
/// Onsager term, and the units are bounded. J starts at 0; the learner (learning rule) keeps
/// J_ii = 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../backend/blas_products.hpp"
#include "../chains.hpp"
#include "../couplings.hpp"
#include "../detail/parallel.hpp"
#include "../detail/random.hpp"
#include "../types.hpp"
#include "continuous_bernoulli.hpp"

namespace nlm {

/// How a unit takes its new value from θ: a draw of the continuous Bernoulli, or its mean L(θ).
enum class UpdateMode { sampled, deterministic };

template <Scalar S = float, class BackendT = BlasProducts>
class AttractorNetwork {
 public:
  using scalar_type = S;
  using matrix_type = Matrix<S>;
  using vector_type = Vector<S>;
  using backend_type = BackendT;
  using parameters_type = Couplings<S, BackendT>;
  static constexpr const char* who = "AttractorNetwork";

  /// N units, J = 0, b = 0, inverse temperature β > 0 (finite); `seed` seeds the uniforms.
  AttractorNetwork(std::size_t neurons, double beta, std::uint64_t seed = 0, BackendT backend = BackendT())
      : AttractorNetwork(zeros(neurons), Vector<S>(), beta, seed, std::move(backend)) {}

  /// Given J (N×N, finite) and b (N values; empty: zeros).
  AttractorNetwork(Matrix<S> j, Vector<S> b, double beta, std::uint64_t seed = 0, BackendT backend = BackendT())
      : couplings_(parameters_type::given(std::move(j), Vector<S>(), std::move(backend), who)) {
    set_beta(beta);
    couplings_.set_field(b.size() != 0 ? std::move(b) : zero_field(couplings_.neurons()));
    seed_noise(seed);
  }

  std::size_t neurons() const noexcept { return couplings_.neurons(); }
  const char* name() const noexcept { return who; }
  double beta() const noexcept { return beta_; }
  void set_beta(double beta) {
    if (!(std::isfinite(beta) && beta > 0))
      throw std::invalid_argument(std::string(who) + ": beta (the inverse temperature) must be finite and > 0, got " +
                                  std::to_string(beta));
    beta_ = beta;
  }

  const Matrix<S>& couplings() const noexcept { return couplings_.matrix(); }
  const Vector<S>& field() const noexcept { return couplings_.field(); }
  parameters_type& parameters() noexcept { return couplings_; }
  const parameters_type& parameters() const noexcept { return couplings_; }
  void set_couplings(Matrix<S> j) { couplings_.set(std::move(j)); }
  /// Sets b, the data's entry (a pattern ξ presented at evidence level s is b = s ξ).
  void set_field(Vector<S> b) { couplings_.set_field(std::move(b)); }

  // ---- the uniform stream ---------------------------------------------------------------
  void seed_noise(std::uint64_t seed) noexcept {
    std::uint64_t sm = seed;
    key_ = detail::splitmix64(sm);
    counter_ = 0;
  }
  std::vector<std::uint64_t> noise_state() const { return {key_, counter_}; }
  void set_noise_state(std::span<const std::uint64_t> words) {
    if (words.size() != 2)
      throw std::invalid_argument(std::string(who) + ": expected 2 noise state words (key, counter), got " +
                                  std::to_string(words.size()));
    key_ = words[0];
    counter_ = words[1];
  }

  // ---- dynamics --------------------------------------------------------------------------
  /// H = b + J σ for every row σ of `sigma` (without β), into `h` (resized when its shape differs).
  void inputs(const Matrix<S>& sigma, Matrix<S>& h) const {
    if (sigma.shape(1) != neurons())
      throw std::invalid_argument(std::string(who) + ": states of " + std::to_string(sigma.shape(1)) +
                                  " units, the network has " + std::to_string(neurons()));
    if (h.shape(0) != sigma.shape(0) || h.shape(1) != neurons()) h = Matrix<S>::from_shape(sigma.shape());
    const std::size_t n = neurons();
    const S* b = field().data();
    for (std::size_t r = 0; r < sigma.shape(0); ++r) std::copy_n(b, n, h.data() + r * n);
    couplings_.drive(sigma, h);
  }

  /// One synchronous update of every chain: θ = β_c H from the old states, then every free unit
  /// at once (clamped units keep their values).
  void step(Chains<S>& chains, UpdateMode mode) {
    Matrix<S>& h = chains.workspace().residual;
    inputs(chains.states(), h);
    const std::size_t rows = chains.size(), n = neurons();
    const std::uint64_t key = key_, base = counter_;
    if (mode == UpdateMode::sampled) counter_ += std::uint64_t(rows) * n;
    Matrix<S>& x = chains.states();
    detail::parallel_rows(rows, n, [&](std::size_t r0, std::size_t r1) {
      for (std::size_t c = r0; c < r1; ++c) {
        const S beta = chains.has_temperatures() ? S(1) / chains.temperatures()(c) : S(beta_);
        const std::uint8_t* held = chains.clamp_row(c);
        const S* hc = h.data() + c * n;
        S* xc = x.data() + c * n;
        for (std::size_t i = 0; i < n; ++i) {
          if (held && held[i]) continue;
          const S theta = beta * hc[i];
          xc[i] = mode == UpdateMode::sampled
                      ? continuous_bernoulli_sample(theta, uniform(key, base + c * n + i))
                      : langevin_function(theta);
        }
      }
    });
  }

  /// `steps` synchronous updates; `observer(step, states)` (optional) after each, step from 1.
  template <class Observer = std::nullptr_t>
  void run(Chains<S>& chains, std::size_t steps, UpdateMode mode, Observer&& observer = nullptr) {
    for (std::size_t t = 1; t <= steps; ++t) {
      step(chains, mode);
      if constexpr (!std::is_same_v<std::remove_cvref_t<Observer>, std::nullptr_t>) observer(t, chains.states());
    }
  }

  /// Element `index` of the uniform stream with key `key`: in (0, 1].
  static S uniform(std::uint64_t key, std::uint64_t index) noexcept {
    return detail::uniform_open0<S>(detail::mix64(key + (index + 1) * 0x9e3779b97f4a7c15ULL));
  }

 private:
  static Matrix<S> zeros(std::size_t n) {
    if (n == 0) throw std::invalid_argument(std::string(who) + ": the number of units must be > 0");
    Matrix<S> j = Matrix<S>::from_shape({n, n});
    j.fill(S(0));
    return j;
  }
  static Vector<S> zero_field(std::size_t n) {
    Vector<S> b = Vector<S>::from_shape({n});
    b.fill(S(0));
    return b;
  }

  parameters_type couplings_;
  double beta_ = 1.0;
  std::uint64_t key_ = 0, counter_ = 0;
};

}  // namespace nlm
