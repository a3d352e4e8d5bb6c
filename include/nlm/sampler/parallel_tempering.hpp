/// @file parallel_tempering.hpp
/// @brief Parallel tempering (replica exchange): a Sampler decorator that runs R copies of the
/// caller's chains on a geometric temperature ladder with any inner sampler, and exchanges
/// states between neighbouring temperatures, so that the chains at the model's temperature
/// receive states that crossed energy barriers at the top of the ladder.
///
/// **The ladder.** With T the model's temperature, replica r = 0 … R−1 runs at
/// \f[ T_r = T\,(T_{\max}/T)^{r/(R-1)}, \f]
/// T₀ = T (the caller's chains) up to T_{R−1} = t_max. Each replica advances with the inner
/// sampler (`Mala` by default: exact for exp(−E/T_r) at any Δt) at its own temperature, through
/// the per-chain temperatures of `Chains`.
///
/// **The exchange.** The joint density of the replicas is ∏_r exp(−E(x_r)/T_r). Exchanging the
/// states of replicas r and r+1 is a Metropolis move on it, accepted with probability
/// \f[ \min\Bigl(1,\; \exp\bigl((1/T_r - 1/T_{r+1})\,(E(x_r) - E(x_{r+1}))\bigr)\Bigr), \f]
/// which leaves the joint density invariant, so every replica keeps sampling exp(−E/T_r): the
/// T₀ replicas are exact samples of the model, now fed by states that moved between modes at
/// high temperature.
///
/// **Even/odd alternation.** A swap round every `swap_every` steps proposes either all even
/// pairs (0,1), (2,3), … or all odd pairs (1,2), (3,4), …, alternating deterministically from
/// round to round (Syed, Bouchard-Côté, Deligiannidis & Doucet 2019, "Non-reversible parallel
/// tempering"). Each round is a product of moves on disjoint pairs and each leaves the joint
/// density invariant, hence so does the alternation; unlike a random choice of pair, it lets a
/// state keep moving in one direction along the ladder while its swaps are accepted, and the
/// round-trip time from T₀ to t_max grows linearly rather than quadratically with R.
///
/// **Layout.** For C caller chains the replicas are one `Chains` of R·C rows, replica r in rows
/// r·C … r·C + C − 1; column c of every replica belongs to the caller's chain c (its clamp,
/// when clamped), and swaps are proposed between rows (r, c) and (r+1, c) only, so the C
/// columns are C independent PT systems. The swap step counter and the even/odd parity live in
/// `state()` (the sampler's stream of a checkpoint), the replica states and swap counts in a
/// checkpoint section of their own ("parallel_tempering", an `io::StatefulPart`), so a resumed
/// run continues bit for bit. The sampler is typed on the scalar of the chains it keeps.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../chains.hpp"
#include "../detail/blas.hpp"
#include "../detail/describe.hpp"
#include "../detail/engine_state.hpp"
#include "../detail/random.hpp"
#include "../force_workspace.hpp"
#include "../io/sections.hpp"
#include "../types.hpp"
#include "mala.hpp"
#include "sampler.hpp"

namespace nlm {

/// Replica exchange around an inner Sampler policy (default `Mala`), itself a Sampler policy:
/// `LangevinMachine<Tanh, GaussianNoise, NoRegularizer, ParallelTempering<EulerMaruyama, float>, float>`.
/// S is the scalar of the model it samples and of the replicas it keeps between calls.
///
/// `advance(model, chains, steps, observer)` advances the caller's C chains as the T₀ = T
/// replicas of R·C rows it keeps between calls (see the file comment): the replicas are
/// started as copies of the caller's states on the first call (and whenever the caller's
/// chain count or neuron count changes, which also resets the swap statistics), the caller's
/// states are copied into the T₀ rows at the start of every call (so restarted chains are
/// honoured), a clamp of the caller's is carried to every replica, and the T₀ rows are copied
/// back into the caller's chains after every step the observer sees and at the end. The swap
/// rounds run every `swap_every` steps counted across calls. The steady state (same shapes,
/// same model temperature) allocates nothing.
///
/// Requires an `EnergyModel` (the exchange is a ratio of exp(−E/T)), a model temperature
/// T > 0 below t_max, and caller chains without temperatures of their own.
template <class Inner = Mala, Scalar S = float>
class ParallelTempering {
  static_assert(std::copy_constructible<Inner> && detail::sampler_has_time_step<Inner> &&
                    detail::has_engine_state<Inner>,
                "nlm: ParallelTempering<Inner> needs a Sampler policy as Inner (Mala, EulerMaruyama, ...).");

 public:
  using scalar_type = S;
  /// @param replicas   R ≥ 2: the model's temperature and R − 1 above it.
  /// @param t_max      the top of the ladder (finite; must exceed the model's T at `advance`).
  /// @param swap_every steps between swap rounds (≥ 1).
  /// @param inner      the sampler that advances every replica.
  explicit ParallelTempering(std::size_t replicas = 4, double t_max = 4.0, std::size_t swap_every = 10,
                             Inner inner = Inner{})
      : inner_(std::move(inner)), replicas_(replicas), t_max_(t_max), swap_every_(swap_every) {
    if (replicas < 2)
      throw std::invalid_argument("ParallelTempering: replicas must be >= 2 (the model's temperature and at "
                                  "least one above it), got " + std::to_string(replicas));
    if (!(std::isfinite(t_max) && t_max > 0.0))
      throw std::invalid_argument("ParallelTempering: t_max must be finite and > 0, got " + show(t_max));
    if (swap_every < 1)
      throw std::invalid_argument("ParallelTempering: swap_every must be >= 1, got " + std::to_string(swap_every));
    attempts_.assign(replicas - 1, 0);
    accepts_.assign(replicas - 1, 0);
  }

  /// `ParallelTempering<Inner's description>(replicas=R, t_max=…, swap_every=…)`: a checkpoint
  /// written with other settings, or another inner sampler, is refused.
  std::string describe() const {
    return "ParallelTempering<" + detail::describe_policy(inner_) + ">(replicas=" + std::to_string(replicas_) +
           ", " + detail::describe_parameter("t_max", t_max_) + ", swap_every=" + std::to_string(swap_every_) + ")";
  }

  std::size_t replicas() const noexcept { return replicas_; }
  double t_max() const noexcept { return t_max_; }
  std::size_t swap_every() const noexcept { return swap_every_; }
  Inner& inner() noexcept { return inner_; }
  const Inner& inner() const noexcept { return inner_; }

  /// The ladder T_r = T·(t_max/T)^{r/(R−1)}, r = 0 … R − 1, for the model temperature
  /// `model_t` (T_0 = model_t and T_{R−1} = t_max exactly). Throws std::invalid_argument
  /// unless 0 < model_t < t_max.
  std::vector<double> temperatures(double model_t) const {
    check_ladder(model_t);
    std::vector<double> t(replicas_);
    for (std::size_t r = 0; r < replicas_; ++r) t[r] = rung(r, model_t);
    return t;
  }

  // ---- Sampler: Δt and random streams -----------------------------------------------------
  double time_step() const { return inner_.time_step(); }
  void set_time_step(double dt) { inner_.set_time_step(dt); }

  /// Seeds the inner sampler with derive_seed(s, 0) and the exchange stream with
  /// derive_seed(s, 1).
  void seed(std::uint64_t s) {
    inner_.seed(detail::derive_seed(s, 0));
    engine_.reseed(detail::derive_seed(s, 1));
  }
  /// [n, the inner sampler's n words, the exchange stream's 4 words, parity, steps since the
  /// last swap round].
  std::vector<std::uint64_t> state() const {
    const std::vector<std::uint64_t> in = inner_.state();
    std::vector<std::uint64_t> w;
    w.reserve(in.size() + 7);
    w.push_back(in.size());
    w.insert(w.end(), in.begin(), in.end());
    for (const auto x : engine_.state()) w.push_back(x);
    w.push_back(parity_);
    w.push_back(since_swap_);
    return w;
  }
  /// Restores `state()`; a malformed state is refused (std::invalid_argument) and changes
  /// nothing of this sampler's own.
  void set_state(std::span<const std::uint64_t> words) {
    const auto bad = [&](const std::string& what) {
      throw std::invalid_argument("ParallelTempering: malformed state (" + std::to_string(words.size()) +
                                  " words): " + what);
    };
    if (words.empty()) bad("no length of the inner sampler's state");
    const std::uint64_t n = words[0];
    if (n > words.size() - 1 || words.size() - 1 - n != 6)
      bad("expected 1 + " + std::to_string(n) + " inner words + 4 stream words + parity + step count");
    const auto own = words.subspan(1 + n);
    if (own[4] > 1) bad("parity " + std::to_string(own[4]) + " is not 0 or 1");
    if (own[5] >= swap_every_)
      bad(std::to_string(own[5]) + " steps since the last swap round, swap_every is " + std::to_string(swap_every_));
    detail::Xoshiro256 e;
    detail::restore_engine(e, own.first(4), "ParallelTempering");
    inner_.set_state(words.subspan(1, n));
    engine_ = e;
    parity_ = own[4];
    since_swap_ = own[5];
  }

  // ---- statistics ---------------------------------------------------------------------------
  /// Accepted / attempted exchanges of each neighbouring pair (r, r+1), r = 0 … R − 2 (0 for a
  /// pair not yet attempted): the ladder's diagnostic (roughly equal rates are the aim).
  std::vector<double> swap_rates() const {
    std::vector<double> rate(attempts_.size());
    for (std::size_t p = 0; p < rate.size(); ++p)
      rate[p] = attempts_[p] == 0 ? 0.0 : double(accepts_[p]) / double(attempts_[p]);
    return rate;
  }
  /// Exchanges attempted per pair (one per caller chain per round that proposes the pair).
  const std::vector<std::uint64_t>& swap_attempts() const noexcept { return attempts_; }
  const std::vector<std::uint64_t>& swap_accepts() const noexcept { return accepts_; }
  void reset_swap_statistics() noexcept {
    std::fill(attempts_.begin(), attempts_.end(), 0);
    std::fill(accepts_.begin(), accepts_.end(), 0);
  }
  /// The inner sampler's acceptance rate (over all replicas), where it has one (Mala).
  double acceptance_rate() const
    requires requires(const Inner& i) {
      { i.acceptance_rate() } -> std::convertible_to<double>;
    }
  {
    return inner_.acceptance_rate();
  }

  /// The R·C replica states as last advanced (or loaded), replica r in rows r·C … r·C + C − 1;
  /// empty before the first `advance`.
  const Matrix<S>& replica_states() const noexcept { return rep_.chains.states(); }

  // ---- advance ------------------------------------------------------------------------------
  template <class M, class Observer = NoObserver>
  void advance(M& model, Chains<S>& chains, std::size_t steps, Observer&& observer = {}) {
    static_assert(EnergyModel<M>,
                  "nlm: ParallelTempering needs an energy model (its exchange test is a ratio of exp(-E/T)); "
                  "this model only has a drift.");
    static_assert(std::is_same_v<typename M::scalar_type, S>,
                  "nlm: ParallelTempering<Inner, S> samples models of its own scalar type S.");
    constexpr bool observed = !std::is_same_v<std::remove_cvref_t<Observer>, NoObserver>;
    if (chains.has_temperatures())
      throw std::invalid_argument(
          "ParallelTempering: the chains have temperatures of their own; the replica ladder sets every "
          "replica's temperature (the caller's chains run at the model's T)");
    const double model_t = double(model.temperature());
    check_ladder(model_t);
    const std::size_t cols = chains.size(), n = chains.neurons();
    if (steps == 0 || cols == 0) return;

    Replicas& rep = rep_;
    Chains<S>& reps = rep.chains;
    const std::size_t rows = replicas_ * cols, block = cols * n;
    const Matrix<S>& caller = chains.states();
    if (reps.states().shape(0) != rows || reps.states().shape(1) != n) {
      Matrix<S> x = Matrix<S>::from_shape({rows, n});
      for (std::size_t r = 0; r < replicas_; ++r) std::copy_n(caller.data(), block, x.data() + r * block);
      reps.set_states(std::move(x));
      reset_swap_statistics();
    } else {
      std::copy_n(caller.data(), block, reps.states().data());
    }
    carry_clamp(chains, rep, cols, n);
    set_ladder(reps, cols, S(model_t));

    Matrix<S>& x = reps.states();
    const auto emit = [&](std::size_t step) {
      std::copy_n(x.data(), block, chains.states().data());
      observer(step, std::as_const(chains.states()));
    };
    for (std::size_t done = 0; done < steps;) {
      const std::size_t segment = std::min(steps - done, swap_every_ - since_swap_);
      if constexpr (observed) {
        // Each step but the segment's last is shown at once; the last after the swap round
        // that may follow it, so the observer sees the states the next step starts from.
        inner_.advance(model, reps, segment, [&](std::size_t s, const Matrix<S>&) {
          if (s < segment) emit(done + s);
        });
      } else {
        inner_.advance(model, reps, segment, NoObserver{});
      }
      done += segment;
      since_swap_ += segment;
      if (since_swap_ == swap_every_) {
        swap_round(model, reps, cols);
        since_swap_ = 0;
      }
      if constexpr (observed) emit(done);
    }
    std::copy_n(x.data(), block, chains.states().data());
  }

  // ---- checkpoint section (io::StatefulPart) ----------------------------------------------
  std::string section_name() const { return "parallel_tempering"; }

  /// The magic `NLMPTRX1`, u32 scalar size (sizeof(S), or 0 before the first advance), u64
  /// rows, u64 columns, the replica states (rows × columns scalars, row-major), u64 pairs
  /// (R − 1), then attempts and accepts of each pair (u64 each).
  void save_section(io::SectionWriter& out) const {
    const Matrix<S>& x = rep_.chains.states();
    const bool some = x.size() != 0;
    out.put_raw(std::string_view(section_magic, 8));
    out.put(std::uint32_t(some ? sizeof(S) : 0));
    out.put(std::uint64_t(some ? x.shape(0) : 0));
    out.put(std::uint64_t(some ? x.shape(1) : 0));
    if (some) out.put_raw(std::string_view(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(S)));
    out.put(std::uint64_t(attempts_.size()));
    for (std::size_t p = 0; p < attempts_.size(); ++p) {
      out.put(attempts_[p]);
      out.put(accepts_[p]);
    }
  }

  /// Reads `save_section()`'s bytes back; std::runtime_error naming what is wrong (truncated,
  /// wrong magic, scalar size, shape, pair count, counts), changing nothing.
  void load_section(io::SectionReader& in) {
    const auto fail = [&in](const std::string& what) { in.fail("ParallelTempering: " + what); };
    if (in.raw(8, "the magic") != std::string_view(section_magic, 8))
      fail("the section does not start with the magic NLMPTRX1 (not a parallel tempering section)");
    const auto scalar = in.get<std::uint32_t>("the scalar size");
    if (scalar != 0 && scalar != sizeof(S))
      fail("the replica states have " + std::to_string(scalar) + "-byte scalars, the sampler's are " +
              std::to_string(sizeof(S)) + "-byte (" + (sizeof(S) == 4 ? "float" : "double") + ")");
    const auto rows = in.get<std::uint64_t>("the replica rows");
    const auto cols = in.get<std::uint64_t>("the replica columns");
    if (scalar == 0 && (rows != 0 || cols != 0))
      fail("the section has " + std::to_string(rows) + " x " + std::to_string(cols) +
              " replica states but no scalar size");
    if (rows % replicas_ != 0)
      fail("the section holds " + std::to_string(rows) + " replica rows, not a multiple of replicas=" +
              std::to_string(replicas_));
    if (cols != 0 && rows > in.remaining() / cols / sizeof(S))
      fail("the section is truncated: " + std::to_string(rows) + " x " + std::to_string(cols) +
              " replica states of " + std::to_string(scalar) + " bytes announced, " +
              std::to_string(in.remaining()) + " bytes left");
    Matrix<S> x = Matrix<S>::from_shape({std::size_t(rows), std::size_t(cols)});
    if (x.size() != 0) {
      const std::string data = in.raw(x.size() * sizeof(S), "the replica states");
      std::memcpy(x.data(), data.data(), data.size());
    }
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x.data()[i])) fail("the replica states contain a non-finite value");
    const auto pairs = in.get<std::uint64_t>("the number of pairs");
    if (pairs != replicas_ - 1)
      fail("the section holds swap counts of " + std::to_string(pairs) + " pairs, the sampler has " +
              std::to_string(replicas_ - 1) + " (replicas=" + std::to_string(replicas_) + ")");
    std::vector<std::uint64_t> attempts(pairs), accepts(pairs);
    for (std::size_t p = 0; p < pairs; ++p) {
      attempts[p] = in.get<std::uint64_t>("the swap counts");
      accepts[p] = in.get<std::uint64_t>("the swap counts");
      if (accepts[p] > attempts[p])
        fail("pair " + std::to_string(p) + " has " + std::to_string(accepts[p]) + " accepted swaps of " +
                std::to_string(attempts[p]) + " attempts");
    }
    rep_.chains.set_states(std::move(x));
    attempts_ = std::move(attempts);
    accepts_ = std::move(accepts);
  }

 private:
  static constexpr char section_magic[8] = {'N', 'L', 'M', 'P', 'T', 'R', 'X', '1'};

  /// The replicas, with the buffers that carry a caller's clamp to them.
  struct Replicas {
    Chains<S> chains;
    xt::xtensor<std::uint8_t, 2> mask;
    Matrix<S> values;
  };

  static std::string show(double v) { return detail::describe_parameter("", v).substr(1); }

  void check_ladder(double model_t) const {
    if (!(model_t > 0.0))
      throw std::invalid_argument("ParallelTempering: the model's temperature T must be > 0, got " + show(model_t));
    if (!(t_max_ > model_t))
      throw std::invalid_argument("ParallelTempering: t_max = " + show(t_max_) +
                                  " must be above the model's temperature T = " + show(model_t) +
                                  " (the ladder rises from T to t_max)");
  }
  double rung(std::size_t r, double model_t) const {
    if (r == 0) return model_t;
    if (r + 1 == replicas_) return t_max_;
    return model_t * std::pow(t_max_ / model_t, double(r) / double(replicas_ - 1));
  }

  /// Row r·C + c at T_r; set only when different from what the replicas have (no allocation
  /// in the steady state).
  void set_ladder(Chains<S>& reps, std::size_t cols, S model_t) const {
    bool same = reps.has_temperatures();
    for (std::size_t r = 0; same && r < replicas_; ++r) {
      const S t = S(rung(r, double(model_t)));
      for (std::size_t c = 0; same && c < cols; ++c) same = reps.temperatures()(r * cols + c) == t;
    }
    if (same) return;
    Vector<S> t = Vector<S>::from_shape({reps.size()});
    for (std::size_t r = 0; r < replicas_; ++r) std::fill_n(t.data() + r * cols, cols, S(rung(r, double(model_t))));
    reps.set_temperatures(std::move(t));
  }

  /// The caller's clamp on every replica: its mask row c on rows r·C + c (or the shared row
  /// when the caller has one), at the values of the caller's chain c (its states hold them),
  /// so each replica of chain c is held where chain c is.
  void carry_clamp(const Chains<S>& chains, Replicas& rep, std::size_t cols, std::size_t n) const {
    if (!chains.clamped()) {
      if (rep.chains.clamped()) rep.chains.unclamp();
      return;
    }
    const bool shared = cols == 1 || chains.clamp_row(1) == chains.clamp_row(0);
    const std::size_t rows = replicas_ * cols, mask_rows = shared ? 1 : rows;
    if (rep.mask.shape(0) != mask_rows || rep.mask.shape(1) != n)
      rep.mask = xt::xtensor<std::uint8_t, 2>::from_shape({mask_rows, n});
    detail::ensure_shape(rep.values, rows, n);
    const S* caller = chains.states().data();
    for (std::size_t i = 0; i < rows; ++i) {
      const std::size_t c = i % cols;
      if (i < mask_rows) std::copy_n(chains.clamp_row(c), n, rep.mask.data() + i * n);
      std::copy_n(caller + c * n, n, rep.values.data() + i * n);
    }
    rep.chains.clamp(rep.mask, rep.values);
  }

  /// One round of exchanges over the pairs (r, r+1) of the current parity, column by column.
  template <class M>
  void swap_round(const M& model, Chains<S>& reps, std::size_t cols) {
    Matrix<S>& x = reps.states();
    ForceWorkspace<S>& ws = reps.workspace();  // every inner advance evaluates it afresh
    detail::evaluate(model, x, ws, true);
    const std::size_t n = x.shape(1);
    for (std::size_t r = parity_; r + 1 < replicas_; r += 2) {
      const double beta_gap = 1.0 / double(reps.temperatures()(r * cols)) -
                              1.0 / double(reps.temperatures()((r + 1) * cols));
      for (std::size_t c = 0; c < cols; ++c) {
        const std::size_t i = r * cols + c, j = i + cols;
        const double log_alpha = beta_gap * (double(ws.energy(i)) - double(ws.energy(j)));
        const double u = detail::uniform_open0<double>(engine_());
        ++attempts_[r];
        if (std::log(u) <= log_alpha) {  // P(u ≤ e^{log α}) = min(1, α) for u uniform on (0, 1]
          ++accepts_[r];
          std::swap_ranges(x.data() + i * n, x.data() + (i + 1) * n, x.data() + j * n);
          std::swap(ws.energy(i), ws.energy(j));
        }
      }
    }
    parity_ ^= 1;
  }

  Inner inner_;
  std::size_t replicas_;
  double t_max_;
  std::size_t swap_every_;
  detail::Xoshiro256 engine_;
  std::uint64_t parity_ = 0;      // 0: the next round proposes the even pairs, 1: the odd ones
  std::uint64_t since_swap_ = 0;  // steps since the last swap round, across calls
  Replicas rep_;
  std::vector<std::uint64_t> attempts_, accepts_;
};

}  // namespace nlm
