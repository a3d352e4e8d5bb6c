// Uses an installed nlm with a user-defined Activation policy: φ(x) = x / √(1 + x²) (the
// "inverse square root unit"), which the library has never heard of. Built in Release with
// -Wall -Wextra -Werror: nlm's headers must not warn in a user's strict build.
#include <cmath>
#include <cstdio>

#include <nlm/nlm.hpp>
#include <xtensor/xmath.hpp>

struct InverseSqrtUnit {
  template <nlm::Scalar S>
  void value(const nlm::Matrix<S>& x, nlm::Matrix<S>& phi) const {
    xt::noalias(phi) = x / xt::sqrt(S(1) + x * x);
  }
  template <nlm::Scalar S>
  void value_and_derivative(const nlm::Matrix<S>& x, nlm::Matrix<S>& phi, nlm::Matrix<S>& dphi) const {
    value(x, phi);
    xt::noalias(dphi) = xt::pow(S(1) + x * x, S(-1.5));
  }
};
static_assert(nlm::Activation<InverseSqrtUnit, double>);

int main() {
  nlm::Hyperparameters hp;
  hp.neurons = 5;
  hp.persistent_chains = 4;
  hp.batch_size = 4;
  hp.seed = 3;
  nlm::LangevinMachine<InverseSqrtUnit, nlm::GaussianNoise, nlm::WeightDecay, nlm::Mala, double> m(hp);

  // The force must be −∇E for the user's activation too.
  nlm::Matrix<double> x = m.random_states(2);
  const auto f = m.force(x);
  double worst = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    auto xp = x, xm = x;
    xp(0, i) += 1e-6;
    xm(0, i) -= 1e-6;
    const double numeric = -(m.energy(xp)(0) - m.energy(xm)(0)) / 2e-6;
    worst = std::max(worst, std::abs(numeric - f(0, i)));
  }
  nlm::Matrix<double> data = m.random_states(16);
  nlm::TrainingOptions o = nlm::TrainingOptions::for_epochs(2);
  o.handle_signals = false;
  const auto s = nlm::train(m, data, o);

  // Files round-trip: couplings as .npy, the whole machine as a checkpoint.
  nlm::io::save_npy("consumer_J.npy", m.couplings());
  const bool npy_ok = nlm::io::load_npy_matrix<double>("consumer_J.npy") == m.couplings();
  nlm::save_checkpoint("consumer.ckpt", m, s);
  decltype(m) again(hp);
  const auto resumed = nlm::load_checkpoint("consumer.ckpt", again);
  const bool checkpoint_ok = again.couplings() == m.couplings() && resumed.updates == s.updates;
  std::printf("nlm %d.%d.%d consumer: force error %.2e, %llu updates, MALA acceptance %.2f\n",
              nlm::version_major, nlm::version_minor, nlm::version_patch, worst,
              static_cast<unsigned long long>(s.updates), m.sampler().acceptance_rate());
  return worst < 1e-6 && s.updates == 8 && npy_ok && checkpoint_ok ? 0 : 1;
}
