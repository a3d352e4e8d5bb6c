// mnist_train over MPI processes (nlm/distributed, CMake option NLM_MPI): every process holds
// N_model/P persistent chains and takes b_size/P rows of every mini-batch; one all-reduce per
// update. It takes mnist_train's options (the preset and hyperparameters, --data, --labels,
// --held-out, --step-rule, --model-phase, --precision, --threads, --resume) and writes the same
// files; --latent, --full-batch and --update-stats are mnist_train's alone. Rank 0 writes the
// outputs. docs/scaling.md.
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
#include "common/training.hpp"

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
    ex::TrainingCommandLine cl(app, "-mpi");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int code = comm.is_root() ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 1);
      return code;  // every process parses the same arguments: all leave here alike
    }
    ex::Preset p = cl.resolve(app);
    if (p.data_restart > 0)
      throw std::invalid_argument("--data-restart: not in the MPI trainer (mnist_train has it)");
    ex::set_blas_threads(cl.threads);
    const ex::fs::path out(cl.out_dir), checkpoint = out / "checkpoint.nlm";
    if (comm.is_root()) ex::require_output_dir(out);
    const ex::TrainingSet set = ex::training_set(cl, p);  // every process reads the same data
    const auto& data = set.data;
    const nlm::Hyperparameters& hp = p.hp;

    return cl.sampling.dispatch<false>("mnist_train_mpi", [&]<class SamplerT, class Backend>() -> int {
      using Machine = ex::TrainingMachine<SamplerT, Backend>;
      dist::DataParallel<Machine> run(comm, hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{p.lambda},
                                      cl.sampling.make_sampler<SamplerT>());
      nlm::TrainingState state = run.initial_state();
      if (cl.resume) {
        state = run.load_checkpoint(checkpoint);
      } else if (hp.learn_field) {
        run.machine().fit_field(set.x);  // the same data on every process: the same b
      }
      const auto& part = run.partition();
      if (comm.is_root()) {
        std::printf("ranks: %d\n", comm.size());
        std::printf("training on %zu %s: N=%zu T=%g n_t=%zu k=%g b_size=%zu (%zu per process) "
                    "N_model=%zu (%zu per process) %s seed=%llu%s%s\n",
                    data.count(), data.labelled ? ("samples of classes " + cl.digits).c_str() : "samples", hp.neurons,
                    hp.temperature, hp.langevin_steps, hp.learning_rate, hp.batch_size, part.batch,
                    hp.persistent_chains, part.chains,
                    (p.updates ? std::to_string(p.updates) + " updates" : std::to_string(p.epochs) + " epochs").c_str(),
                    static_cast<unsigned long long>(hp.seed), hp.learn_field ? " (learning a field b)" : "",
                    cl.step_rule == "adam" ? " (Adam steps)" : "");
        if (cl.labels)
          std::printf("label units: %zu (digits %s, %zu per digit, code +-%g), neurons %zu = %zu image + %zu label\n",
                      set.layout.labels(), cl.digits.c_str(), set.layout.units_per_class, set.layout.label_scale,
                      set.layout.neurons(), set.layout.visible, set.layout.labels());
        if (cl.resume)
          std::printf("resumed from %s at update %llu\n", checkpoint.c_str(),
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
        state = run.train(set.x, options, state, nlm::ProgressBar(comm.is_root() ? std::cerr : nowhere, 30, 10),
                          dist::GatheredCheckpoint<Machine>(run, checkpoint, cl.checkpoint_every));
      } catch (const nlm::interrupted& e) {
        if (comm.is_root())
          std::cerr << "\n" << e.what() << "; checkpoint saved to " << checkpoint.string()
                    << " (continue with mpirun -np " << comm.size() << " ... --resume)\n";
        return 130;
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const std::uint64_t updates = state.updates - first_update;
      if (!comm.is_root()) return 0;

      std::vector<ex::fs::path> written =
          ex::write_training_outputs(out, run.machine(), set.layout, state, ex::training_title(cl, set));
      written.insert(written.begin() + 3, checkpoint);
      std::printf("%llu updates in %.1f s (%.1f ms/update) on %d processes%s; all-reduce of %zu floats (%.2f MB) "
                  "per update, %.2f ms in it on rank 0 (waiting included)\n"
                  "wrote %s\n",
                  static_cast<unsigned long long>(updates), seconds,
                  1e3 * seconds / double(std::max<std::uint64_t>(1, updates)), comm.size(),
                  first_update > 0 ? (", " + std::to_string(state.updates) + " in all").c_str() : "",
                  run.reduce_elements(), 4e-6 * double(run.reduce_elements()),
                  1e3 * run.reduce_seconds() / double(std::max<std::uint64_t>(1, run.reductions())),
                  ex::file_list(written).c_str());
      ex::print_sampler_summary(run.machine());
      return 0;
    });
  } catch (const std::exception& e) {
    comm.fail("mnist_train_mpi", e);
  }
}
