// Must NOT compile: the noise policy cannot save or restore its generator.
#include <nlm/nlm.hpp>

struct StatelessNoise {
  static constexpr bool deterministic = false;
  template <nlm::Scalar S>
  void fill(nlm::Matrix<S>& xi) { xi.fill(S(0)); }
};

int main() {
  nlm::LangevinMachine<nlm::Tanh, StatelessNoise> m{nlm::Hyperparameters{}};
  return int(m.neurons());
}
