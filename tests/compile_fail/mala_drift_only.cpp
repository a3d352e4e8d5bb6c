// Must NOT compile: MALA's acceptance test needs an energy, and this model has only a drift.
#include "../support/ornstein_uhlenbeck.hpp"

int main() {
  OrnsteinUhlenbeck model;
  nlm::Chains<double> chains(nlm::Matrix<double>::from_shape({3, 2}));
  nlm::Mala mala;
  mala.advance(model, chains, 1);
  return 0;
}
