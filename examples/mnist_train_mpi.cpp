// mnist_train over MPI processes (nlm/distributed, CMake option NLM_MPI): every process holds
// N_model/P persistent chains and takes b_size/P rows of every mini-batch; one all-reduce per
// update. Rank 0 writes the outputs. docs/scaling.md.
//
//   mpirun -np 2 mnist_train_mpi --preset quick
//   mpirun -np 2 mnist_train_mpi --preset paper --updates 20 --out out/paper-mpi
//   mpirun -np 2 mnist_train_mpi --resume            # from a checkpoint of 2 processes
//
// Ctrl-C (or a SIGTERM) on any process stops all of them after the same update, with a
// checkpoint. A process that fails ends the job; rank 0 prints its message.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <streambuf>

#include <nlm/distributed.hpp>
#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/mnist_common.hpp"
#include "common/presets.hpp"

namespace ex = nlm::examples;
namespace dist = nlm::distributed;

namespace {

// Where the other ranks' progress goes.
struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};

}  // namespace

int main(int argc, char** argv) {
  dist::Environment mpi(argc, argv);
  dist::Communicator comm;
  try {
    CLI::App app{"Train a Neural Langevin Machine on MNIST digits over MPI processes (nlm)"};
    nlm::examples::last_option_wins(app);
    std::string preset_name = "quick", digits = "1,3,6", out_dir;
    ex::DataSource data_source;
    std::uint64_t checkpoint_every = 500;
    bool resume = false;
    app.add_option("--preset", preset_name, "quick or paper")->capture_default_str();
    data_source.add_to(app);
    app.add_option("--digits", digits, "digits to learn, comma-separated")->capture_default_str();
    app.add_option("--out", out_dir, "output folder (default out/<preset>-mpi)");
    ex::PresetOptions training(app);
    app.add_option("--checkpoint-every", checkpoint_every, "updates between checkpoints (0: only at the end)")
        ->capture_default_str()->transform(ex::count());
    app.add_flag("--resume", resume, "continue from the checkpoint in the output folder (same number of processes)");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int code = comm.is_root() ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 1);
      return code;  // every process parses the same arguments: all leave here alike
    }
    const ex::Preset p = training.resolve(app, preset_name);
    if (out_dir.empty()) out_dir = "out/" + preset_name + "-mpi";
    const ex::fs::path out(out_dir), checkpoint = out / "checkpoint.nlm";
    if (comm.is_root()) ex::fs::create_directories(out);

    const auto data = ex::load_digits(data_source, digits, p.images, ex::Labels::optional);  // every process reads the same data
    const nlm::Matrix<float> train_x(data.x);
    nlm::Hyperparameters hp = p.hp;
    hp.neurons = train_x.shape(1);
    dist::DataParallel<nlm::PaperMachine> run(comm, hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{p.lambda});
    nlm::TrainingState state = run.initial_state();
    if (resume) {
      state = run.load_checkpoint(checkpoint);
    } else if (hp.learn_field) {
      run.machine().fit_field(train_x);  // the same data on every process: the same b
    }
    const auto& part = run.partition();
    if (comm.is_root()) {
      std::printf("ranks: %d\n", comm.size());
      std::printf("training on %zu %s: N=%zu T=%g n_t=%zu k=%g b_size=%zu (%zu per process) "
                  "N_model=%zu (%zu per process) %s seed=%llu%s\n",
                  data.count(), data.labelled ? ("samples of classes " + digits).c_str() : "samples", hp.neurons,
                  hp.temperature, hp.langevin_steps, hp.learning_rate,
                  hp.batch_size, part.batch, hp.persistent_chains, part.chains,
                  (p.updates ? std::to_string(p.updates) + " updates" : std::to_string(p.epochs) + " epochs").c_str(),
                  static_cast<unsigned long long>(hp.seed), hp.learn_field ? " (learning a field b)" : "");
      if (resume) std::printf("resumed from %s at update %llu\n", checkpoint.c_str(),
                              static_cast<unsigned long long>(state.updates));
      std::printf("%s\n", ex::blas_summary().c_str());
      std::fflush(stdout);
    }

    nlm::TrainingOptions options = nlm::TrainingOptions::for_epochs(p.epochs);
    options.max_updates = p.updates;
    options.anneal_fraction = p.anneal;
    NullBuffer null_buffer;
    std::ostream nowhere(&null_buffer);
    const std::uint64_t first_update = state.updates;
    const auto start = std::chrono::steady_clock::now();
    try {
      state = run.train(train_x, options, state, nlm::ProgressBar(comm.is_root() ? std::cerr : nowhere, 30, 10),
                        dist::GatheredCheckpoint<nlm::PaperMachine>(run, checkpoint, checkpoint_every));
    } catch (const nlm::interrupted& e) {
      if (comm.is_root())
        std::cerr << "\n" << e.what() << "; checkpoint saved to " << checkpoint.string()
                  << " (continue with mpirun -np " << comm.size() << " ... --resume)\n";
      return 130;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::uint64_t updates = state.updates - first_update;
    if (!comm.is_root()) return 0;

    const auto& machine = run.machine();
    nlm::UnitLayout layout = nlm::image_layout(hp.neurons);
    layout.images = data.count();
    layout.image_rows = data.rows;
    layout.image_cols = data.cols;
    nlm::save_model(out / "model.nlm", machine, layout);
    nlm::io::save_npy(out / "J.npy", machine.couplings());
    nlm::save_layout(out / "layout.txt", layout);
    if (hp.learn_field) nlm::io::save_npy(out / "field.npy", machine.field());
    else ex::fs::remove(out / "field.npy");
    std::vector<std::vector<double>> rows;
    for (const auto& pt : state.curve) rows.push_back({double(pt.epoch), double(pt.updates), pt.signal_mean_square});
    ex::write_csv(out / "training_curve.csv", "epoch,updates,signal_mean_square", rows);
    std::printf("%llu updates in %.1f s (%.1f ms/update) on %d processes; all-reduce of %zu floats (%.2f MB) "
                "per update, %.2f ms in it on rank 0 (waiting included)\n"
                "wrote %s, %s, %s, %s%s\n",
                static_cast<unsigned long long>(updates), seconds, 1e3 * seconds / double(std::max<std::uint64_t>(1, updates)),
                comm.size(), run.reduce_elements(), 4e-6 * double(run.reduce_elements()),
                1e3 * run.reduce_seconds() / double(std::max<std::uint64_t>(1, run.reductions())),
                (out / "model.nlm").c_str(), (out / "J.npy").c_str(), checkpoint.c_str(),
                (out / "training_curve.csv").c_str(), hp.learn_field ? (", " + (out / "field.npy").string()).c_str() : "");
    return 0;
  } catch (const std::exception& e) {
    comm.fail("mnist_train_mpi", e);
  }
}
