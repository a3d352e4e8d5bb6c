// The start of your own program on the installed nlm: copy this folder, build it with
//   cmake -S . -B build && cmake --build build
// and run it on your data:
//   build/your_program data.npy [labels.npy] [out_dir]
// It reads a .npy matrix (one sample per row), trains a Neural Langevin Machine on it, saves
// the model (model.nlm, which mnist_generate --model reads) and samples from it (samples.npy,
// tanh of the states, one sample per row). Change the hyperparameters, the policies or the
// number of updates below; docs/policies.md lists what can be swapped.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlm/data/npy_dataset.hpp>
#include <nlm/nlm.hpp>

int main(int argc, char** argv) try {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s data.npy [labels.npy] [out_dir]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out = argc == 4 ? argv[3] : "out";
  std::filesystem::create_directories(out);

  // 1. The data: values mapped to states by the rule the data's dtype and range call for.
  nlm::data::npy_source source;
  source.data = argv[1];
  if (argc >= 3) source.labels = argv[2];
  const auto data = nlm::data::load_npy_dataset<float>(source, nlm::data::selection{{}, {}});
  std::printf("%zu samples of %zu values (%s)\n", data.count(), data.x.shape(1), data.rule.c_str());

  // 2. The machine: the paper's policies, a learned field, batches no larger than the data.
  nlm::Hyperparameters hp;
  hp.neurons = data.x.shape(1);
  hp.batch_size = hp.persistent_chains = std::min<std::size_t>(100, data.count());
  hp.learning_rate = 2e-3;
  hp.learn_field = true;
  const nlm::Matrix<float> x = data.x;
  nlm::PaperMachine machine(hp);
  machine.fit_field(x);  // b starts where the data's mean residual is zero

  // 3. Training, with a progress bar and a checkpoint to resume from.
  nlm::train(machine, x, nlm::TrainingOptions::for_updates(500), nlm::ProgressBar(),
             nlm::PeriodicCheckpoint(out / "checkpoint.nlm", 100), nlm::StopOnNonFinite());

  // 4. The model file: J, b, the unit layout and the hyperparameters in one file.
  nlm::UnitLayout layout = nlm::image_layout(hp.neurons);
  layout.image_rows = data.rows;  // 0 x 0 when the rows are not images
  layout.image_cols = data.cols;
  nlm::save_model(out / "model.nlm", machine, layout);

  // 5. Samples: 16 chains from N(0, I), 5000 Langevin steps of the learned energy.
  nlm::Matrix<float> states = machine.random_states(16);
  machine.sample(states, 5000);
  nlm::io::save_npy(out / "samples.npy", nlm::Matrix<float>(xt::tanh(states)));
  std::printf("wrote %s, %s\n", (out / "model.nlm").c_str(), (out / "samples.npy").c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "your_program: %s\n", e.what());
  return 1;
}
