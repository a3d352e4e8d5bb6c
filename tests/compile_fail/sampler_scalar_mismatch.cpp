// Must NOT compile: parallel tempering keeps replicas of its own scalar type (float by
// default), so a double machine given the float sampler must be refused with a sentence
// that says to give it the machine's scalar.
#include <nlm/nlm.hpp>

int main() {
  using Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::NoRegularizer,
                                       nlm::ParallelTempering<nlm::EulerMaruyama>, double>;
  Machine m(nlm::Hyperparameters{});
  return int(m.neurons() == 0);
}
