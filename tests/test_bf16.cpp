// Mixed precision (Bf16Products, nlm/bf16.hpp; built with NLM_ONEDNN): the force and the
// statistics of the bf16 backend against float64 within bounds derived from bf16 rounding, the
// backend's own pieces (rounding, refresh, copies), and a checkpoint shared with float32. The
// stationarity and learning suites run their bf16 cases from their own files.
#ifdef NLM_HAVE_ONEDNN

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include <nlm/bf16.hpp>

using nlm::Matrix;

namespace {

using Bf16Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::NoRegularizer, nlm::EulerMaruyama,
                                         float, nlm::Bf16Products>;
template <class S>
using BlasMachine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::NoRegularizer, nlm::EulerMaruyama, S>;

constexpr double u = 1.0 / 512;                                  // bf16's unit roundoff, 2⁻⁹
constexpr double eps = std::numeric_limits<float>::epsilon() / 2;  // float's, 2⁻²⁴
double gamma_k(double k) { return k * eps / (1 - k * eps); }        // float accumulation of k terms

nlm::Hyperparameters problem(std::size_t n, std::size_t chains) {
  nlm::Hyperparameters hp;
  hp.neurons = n;
  hp.persistent_chains = chains;
  hp.coupling_strength = 1.0;
  hp.temperature = 0.8;
  hp.seed = 31;
  return hp;
}

template <class To, class From>
Matrix<To> cast(const Matrix<From>& m) {
  Matrix<To> out = Matrix<To>::from_shape(m.shape());
  for (std::size_t i = 0; i < m.size(); ++i) out.data()[i] = To(m.data()[i]);
  return out;
}

}  // namespace

TEST_SUITE("bf16") {

TEST_CASE("bf16 rounding is to nearest even, and NaN stays NaN") {
  using nlm::detail::from_bf16;
  using nlm::detail::to_bf16;
  CHECK(from_bf16(to_bf16(1.0f)) == 1.0f);
  CHECK(from_bf16(to_bf16(1.0f + 1.0f / 256)) == 1.0f);               // halfway: to even (down)
  CHECK(from_bf16(to_bf16(1.0f + 3.0f / 256)) == 1.0f + 1.0f / 64);    // halfway: to even (up)
  CHECK(from_bf16(to_bf16(1.0f + 1.0f / 512)) == 1.0f);                // below halfway: down
  CHECK(from_bf16(to_bf16(1.0f + 1.0f / 256 + 1.0f / 4096)) == 1.0f + 1.0f / 128);  // above: up
  CHECK(from_bf16(to_bf16(-3.0f)) == -3.0f);
  CHECK(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isinf(from_bf16(to_bf16(std::numeric_limits<float>::infinity()))));
  // every float within u of its rounding
  for (float x : {0.1f, 3.14159f, -2.71828f, 1e-20f, 6.5e4f})
    CHECK(std::abs(double(from_bf16(to_bf16(x))) - double(x)) <= u * std::abs(double(x)));
}

// F = R − φ'(X) ⊙ G with R = b − X + Φ Jᵀ and G = R J. With Φ, J and R rounded to bf16
// (relative error ≤ u = 2⁻⁹ each) and products accumulated in float (γ_k for k terms), per
// entry:
//   |δH_bi| ≤ (2u + u² + γ_N) Σ_k |Φ_bk J_ik| =: e_H        (H = ΦJᵀ)
//   |δR_bi| ≤ e_H + ε(|b_i| + |x_bi| + |H_bi|)(2)           (the float sum b − x + H)
//   |δG_bj| ≤ Σ_i [(1 + u)²|δR_bi| + (2u + u² + γ_N)|R_bi|] |J_ij|
//   |δF_bj| ≤ |δR_bj| + |φ'_bj| |δG_bj| + 2ε(|R_bj| + |φ'_bj G_bj|)
// computed below in double from the float64 evaluation (its own error ~10⁻¹⁶ is negligible).
TEST_CASE("the bf16 force is within its rounding bound of float64, and not a float32 force") {
  const std::size_t n = 64, b = 24;
  const nlm::Hyperparameters hp = problem(n, b);
  Bf16Machine half(hp);
  BlasMachine<float> single(hp);
  BlasMachine<double> dbl(hp);
  const Matrix<float> j = half.couplings();
  single.set_couplings(j);
  dbl.set_couplings(cast<double>(j));
  const Matrix<float> x = half.random_states(b);
  const Matrix<double> xd = cast<double>(x);
  const Matrix<float> f16 = half.force(x), f32 = single.force(x);
  const Matrix<double> f64 = dbl.force(xd);

  double worst_ratio = 0, err16 = 0, err32 = 0;
  for (std::size_t r = 0; r < b; ++r) {
    std::vector<double> phi(n), dphi(n), h(n, 0.0), habs(n, 0.0), res(n), dres(n), g(n, 0.0);
    for (std::size_t k = 0; k < n; ++k) {
      phi[k] = std::tanh(xd(r, k));
      dphi[k] = 1 - phi[k] * phi[k];
    }
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t k = 0; k < n; ++k) {
        h[i] += double(j(i, k)) * phi[k];
        habs[i] += std::abs(double(j(i, k)) * phi[k]);
      }
      res[i] = -xd(r, i) + h[i];
      dres[i] = (2 * u + u * u + gamma_k(double(n))) * habs[i] + 2 * eps * (std::abs(xd(r, i)) + std::abs(h[i]));
    }
    for (std::size_t jj = 0; jj < n; ++jj) {
      double dg = 0, gv = 0;
      for (std::size_t i = 0; i < n; ++i) {
        gv += res[i] * double(j(i, jj));
        dg += ((1 + u) * (1 + u) * dres[i] + (2 * u + u * u + gamma_k(double(n))) * std::abs(res[i])) *
              std::abs(double(j(i, jj)));
      }
      const double bound = dres[jj] + dphi[jj] * dg + 2 * eps * (std::abs(res[jj]) + std::abs(dphi[jj] * gv));
      const double e = std::abs(double(f16(r, jj)) - f64(r, jj));
      CHECK(e <= bound);
      worst_ratio = std::max(worst_ratio, e / bound);
      err16 = std::max(err16, e);
      err32 = std::max(err32, std::abs(double(f32(r, jj)) - f64(r, jj)));
    }
  }
  MESSAGE("bf16 force: largest error " << err16 << " (" << worst_ratio << " of its bound); float32: " << err32);
  // The backend really multiplies in bf16: its error is far above float32's.
  CHECK(err16 > 100 * err32);
}

// M_ij = −(1/(T B)) Σ_b R_bi Φ_bj (model_statistics: the same correlate as D's). With R and Φ
// rounded to bf16 and R carrying δR from above:
//   |δM_ij| ≤ (1/(T B)) Σ_b [(1 + u)² |δR_bi| |Φ_bj| + (2u + u² + γ_B) |R_bi Φ_bj|] + 2ε|M_ij|
TEST_CASE("the bf16 model statistics are within their rounding bound of float64") {
  const std::size_t n = 48, b = 40;
  nlm::Hyperparameters hp = problem(n, b);
  Bf16Machine half(hp);
  BlasMachine<double> dbl(hp);
  const Matrix<float> j = half.couplings();
  dbl.set_couplings(cast<double>(j));
  dbl.set_persistent_chains(cast<double>(half.persistent_chains()));
  Matrix<float> m16 = Matrix<float>::from_shape({n, n});
  Matrix<double> m64 = Matrix<double>::from_shape({n, n});
  half.model_statistics(m16);
  dbl.model_statistics(m64);
  const Matrix<double> x = cast<double>(half.persistent_chains());
  std::vector<double> res(b * n), dres(b * n), phi(b * n);
  for (std::size_t r = 0; r < b; ++r)
    for (std::size_t i = 0; i < n; ++i) {
      double h = 0, habs = 0;
      for (std::size_t k = 0; k < n; ++k) {
        const double p = double(j(i, k)) * std::tanh(x(r, k));
        h += p;
        habs += std::abs(p);
      }
      res[r * n + i] = h - x(r, i);
      dres[r * n + i] = (2 * u + u * u + gamma_k(double(n))) * habs + 2 * eps * (std::abs(x(r, i)) + std::abs(h));
      phi[r * n + i] = std::tanh(x(r, i));
    }
  const double t = hp.temperature;
  double err16 = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < n; ++k) {
      double bound = 0;
      for (std::size_t r = 0; r < b; ++r)
        bound += (1 + u) * (1 + u) * dres[r * n + i] * std::abs(phi[r * n + k]) +
                 (2 * u + u * u + gamma_k(double(b))) * std::abs(res[r * n + i] * phi[r * n + k]);
      bound = bound / (t * double(b)) + 2 * eps * std::abs(m64(i, k));
      const double e = std::abs(double(m16(i, k)) - m64(i, k));
      CHECK(e <= bound);
      err16 = std::max(err16, e);
    }
  MESSAGE("bf16 model statistics: largest error " << err16);
  CHECK(err16 > 0);
}

TEST_CASE("the bf16 copy of J follows every change of J; copies of the backend keep it") {
  const nlm::Hyperparameters hp = problem(16, 4);
  Bf16Machine m(hp);
  const Matrix<float> x = m.random_states(4);
  const Matrix<float> before = m.force(x);
  Matrix<float> j = m.couplings();
  j *= 0.5f;
  m.set_couplings(j);
  BlasMachine<double> dbl(hp);
  dbl.set_couplings(cast<double>(j));
  const Matrix<float> after = m.force(x);
  const Matrix<double> want = dbl.force(cast<double>(x));
  double err = 0, moved = 0;
  for (std::size_t i = 0; i < after.size(); ++i) {
    err = std::max(err, std::abs(double(after.data()[i]) - want.data()[i]));
    moved = std::max(moved, std::abs(double(after.data()[i]) - double(before.data()[i])));
  }
  CHECK(err < 0.02 * moved);  // the new J is used (a stale bf16 copy would be off by `moved`)
  const Bf16Machine copy = m;  // Couplings copies its backend: the bf16 J comes along
  const Matrix<float> again = copy.force(x);
  CHECK(std::memcmp(again.data(), after.data(), after.size() * sizeof(float)) == 0);
  MESSAGE("oneDNN implementation: " << m.parameters().backend().implementation());
}

TEST_CASE("a bf16 machine's checkpoint resumes in float32 and back (J is float32 in both)") {
  nlm::Hyperparameters hp = problem(12, 6);
  hp.batch_size = 6;
  Bf16Machine half(hp);
  Matrix<float> data = half.random_states(30);
  auto options = nlm::TrainingOptions::for_updates(5);
  options.handle_signals = false;
  const nlm::TrainingState state = nlm::train(half, data, options);
  const std::string path = "bf16-roundtrip.ckpt";
  nlm::save_checkpoint(path, half, state);
  BlasMachine<float> single(hp);
  const nlm::TrainingState loaded = nlm::load_checkpoint(path, single);
  CHECK(loaded.updates == 5);
  CHECK(std::memcmp(single.couplings().data(), half.couplings().data(), half.couplings().size() * 4) == 0);
  std::remove(path.c_str());
}

}  // TEST_SUITE

#endif  // NLM_HAVE_ONEDNN
