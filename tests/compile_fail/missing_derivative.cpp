// Must NOT compile: the activation lacks value_and_derivative. The test passes when the
// compiler's message contains the library's sentence naming what is missing.
#include <nlm/nlm.hpp>

struct ValueOnly {
  template <nlm::Scalar S>
  void value(const nlm::Matrix<S>& x, nlm::Matrix<S>& phi) const { phi = x; }
};

int main() {
  nlm::LangevinMachine<ValueOnly> m{nlm::Hyperparameters{}};
  return int(m.neurons());
}
