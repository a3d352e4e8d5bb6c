// Must NOT compile: the plain recurrent network has a drift and no energy, so MALA (whose
// acceptance test is a ratio of exp(-E/T)) must refuse it with a sentence.
#include <nlm/nlm.hpp>

int main() {
  nlm::Matrix<float> j = nlm::Matrix<float>::from_shape({2, 2});
  j.fill(0.0f);
  nlm::RecurrentNetwork<> net(j, nlm::Vector<float>{}, 1.0);
  nlm::Chains<float> chains(nlm::Matrix<float>::from_shape({3, 2}));
  nlm::Mala mala;
  mala.advance(net, chains, 1);
  return 0;
}
