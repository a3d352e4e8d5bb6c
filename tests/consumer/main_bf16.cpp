// Uses the installed nlm/bf16.hpp: five updates of a small machine with bf16 products.
#include <cstdio>

#include <nlm/bf16.hpp>

int main() {
  nlm::Hyperparameters hp;
  hp.neurons = 16;
  hp.persistent_chains = 8;
  hp.batch_size = 8;
  nlm::PaperMachineBf16 machine(hp);
  const nlm::Matrix<float> data = machine.random_states(8);
  for (int i = 0; i < 5; ++i) machine.update(data);
  std::printf("bf16 products (%s): 5 updates\n", machine.parameters().backend().implementation().c_str());
  return 0;
}
