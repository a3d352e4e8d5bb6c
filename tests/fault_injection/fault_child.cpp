// The process the fault-injection driver kills. Trains a small machine (double, learned field,
// chain restarts, Adam: every piece of state a checkpoint holds) for 20 updates of 4 batches
// per epoch, checkpointing every 3 updates to DIR/checkpoint.nlm, resuming from it when it
// exists; at the end writes DIR/final.nlm, the whole final state, for the driver to compare.
//
//   fault_child DIR MODE AT
// MODE says where the process stops itself at update AT (deterministically, unlike a kill
// from outside that lands anywhere):
//   none             run to the end
//   after-update     SIGKILL after the update, before that update's checkpoint (if any)
//   after-save       SIGKILL after the update's checkpoint was written
//   half-written     SIGKILL with half of that checkpoint in the temporary file
//   written          SIGKILL with all of it written, before fsync
//   synced           SIGKILL after fsync, before the rename over the old checkpoint
//   renamed          SIGKILL right after the rename, before the directory is synced
//   sigint           SIGINT at update AT: train saves a checkpoint and stops (exit 130)
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <nlm/nlm.hpp>

namespace {

using Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay,
                                     nlm::EulerMaruyama, double>;
constexpr std::uint64_t total_updates = 20;
constexpr std::uint64_t checkpoint_every = 3;

nlm::Hyperparameters hyperparameters() {
  nlm::Hyperparameters hp;
  hp.neurons = 16;
  hp.persistent_chains = 10;
  hp.batch_size = 5;  // 23 images: 4 batches per epoch, epochs end at 4, 8, 12, 16, 20
  hp.langevin_steps = 3;
  hp.time_step = 0.05;
  hp.learning_rate = 0.01;
  hp.learn_field = true;
  hp.chain_restart = 0.2;
  hp.step_rule = nlm::Hyperparameters::StepRule::adam;
  hp.seed = 11;
  return hp;
}

std::string mode;
std::uint64_t at = 0;
bool armed = false;  // the checkpoint now being written is the one to interrupt

void on_write_step(const std::filesystem::path&, const char* step) {
  if (armed && mode == step) std::raise(SIGKILL);
}

// Runs before PeriodicCheckpoint in the callback list.
struct Before {
  void on_update(const Machine&, const nlm::TrainingState& s) const {
    if (s.updates != at) return;
    if (mode == "after-update") std::raise(SIGKILL);
    if (mode == "sigint") std::raise(SIGINT);
    armed = true;
  }
};
// Runs after it.
struct After {
  void on_update(const Machine&, const nlm::TrainingState& s) const {
    if (s.updates == at && mode == "after-save") std::raise(SIGKILL);
  }
};

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 4) {
    std::fprintf(stderr, "usage: fault_child DIR MODE AT\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  mode = argv[2];
  at = std::stoull(argv[3]);
  nlm::io::detail::write_step_hook() = &on_write_step;

  nlm::Hyperparameters small;
  small.neurons = 16;
  small.seed = 99;
  Machine source(small);
  const nlm::Matrix<double> data = xt::tanh(source.random_states(23));

  Machine machine(hyperparameters(), nlm::Tanh(), nlm::GaussianNoise(), nlm::WeightDecay(1e-4));
  const auto checkpoint = dir / "checkpoint.nlm";
  nlm::TrainingState state = nlm::initial_training_state(machine);
  if (std::filesystem::exists(checkpoint))
    state = nlm::load_checkpoint(checkpoint, machine);
  else
    machine.fit_field(data);

  const auto options = nlm::TrainingOptions::for_updates(total_updates);
  try {
    // The final checkpoint of on_end is a write too: AT = 20 interrupts it.
    state = nlm::train(machine, data, options, state, Before{},
                       nlm::PeriodicCheckpoint(checkpoint, checkpoint_every), After{});
  } catch (const nlm::interrupted&) {
    return 130;
  }
  nlm::io::detail::write_step_hook() = nullptr;
  nlm::save_checkpoint(dir / "final.nlm", machine, state);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fault_child: %s\n", e.what());
  return 1;
}
