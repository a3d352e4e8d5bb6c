// Trains a Neural Langevin Machine on MNIST digits (default 1, 3, 6), as the paper's
// 1training.py does, or on a user's own data (a .npy matrix, one sample per row), and writes
// the model (model.nlm: J, b, layout, hyperparameters; also J.npy, field.npy, layout.txt), a
// checkpoint and the training curve.
//
//   mnist_train --preset quick                    # minutes on 2 cores
//   mnist_train --preset paper                    # Table 1 exactly (hours)
//   mnist_train --preset quick --k 1e-3 --n 50    # any hyperparameter under the spec's name
//   mnist_train --resume                          # continue from out/<preset>/checkpoint.nlm
//   mnist_train --data mine.npy --out out/mine    # a user's data (--data-range, --image-shape)
//
// Ctrl-C saves a checkpoint before exiting; --resume continues bit for bit.
#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/mnist_common.hpp"
#include "common/training.hpp"
#include "common/update_stats.hpp"

namespace ex = nlm::examples;


int main(int argc, char** argv) try {
  CLI::App app{"Train a Neural Langevin Machine on MNIST digits (nlm)"};
  nlm::examples::last_option_wins(app);
  ex::TrainingCommandLine cl(app, "");
  std::string update_stats;
  std::uint64_t update_window = 0;
  std::size_t bootstrap = 50;
  app.add_option("--update-stats", update_stats,
                 "record |dJ| and |M - D| of every update in log-binned histograms per window; write them, "
                 "their power-law tail fits (tail.csv) and a picture per window to this folder");
  app.add_option("--update-window", update_window,
                 "updates per window of --update-stats (0: decades 1-10, 10-100, ...)")->capture_default_str()->transform(ex::count());
  app.add_option("--bootstrap", bootstrap, "bootstrap sets of each tail fit's p-value")->capture_default_str()->transform(ex::count());
  std::size_t latent = 0, latent_steps = 0;
  std::string latent_start = "restart";  // docs/quality.md: better samples than persistent at equal time
  app.add_option("--latent", latent,
                 "add H latent units the data never specify; the data phase samples them with the image "
                 "(and labels) clamped")->capture_default_str()->transform(ex::count());
  app.add_option("--latent-start", latent_start,
                 "the data phase's latent chains: restart (from N(0, 1) every batch) or persistent (each image "
                 "keeps its latent state; no --resume)")->check(CLI::IsMember({"persistent", "restart"}))->capture_default_str();
  app.add_option("--latent-steps", latent_steps, "Langevin steps of the data phase per batch (0: n_t)")
      ->capture_default_str()->transform(ex::count());
  bool full_batch = false;
  app.add_flag("--full-batch", full_batch,
               "data phase from the whole training set's moments every update (no mini-batch noise; "
               "no checkpoints, no --resume)");
  CLI11_PARSE(app, argc, argv);

  ex::Preset p = cl.resolve(app);
  if (p.data_restart > 0 && full_batch)
    throw std::invalid_argument("--full-batch: not with --data-restart (restarts draw from the mini-batches)");
  if (latent > 0 && full_batch) throw std::invalid_argument("--full-batch: not with --latent (the data phase samples)");
  if (full_batch && cl.resume) throw std::invalid_argument("--full-batch: cannot --resume (this mode writes no checkpoint)");
  if (latent > 0 && cl.resume && latent_start == "persistent")
    throw std::invalid_argument("--resume: the persistent latent states of each image are not in the checkpoint; "
                                "resume a --latent run with --latent-start restart");
  ex::set_blas_threads(cl.threads);
  const ex::fs::path out(cl.out_dir);
  ex::require_output_dir(out);
  if (!update_stats.empty()) ex::require_output_dir(update_stats);
  const ex::TrainingSet set = ex::training_set(cl, p, latent);
  const auto& data = set.data;
  const auto& layout = set.layout;
  const nlm::Matrix<float>& train_x = set.x;
  const bool resume = cl.resume;
  const std::string& digits = cl.digits;
  const std::string& step_rule = cl.step_rule;

  // The rest with the machine --model-phase and --precision name (ex::TrainingMachine).
  const auto train_with = [&](auto& machine) -> int {
    nlm::TrainingState state = nlm::initial_training_state(machine);
    const ex::fs::path checkpoint = out / "checkpoint.nlm";
    if (resume) {
      state = nlm::load_checkpoint(checkpoint, machine);
      std::cout << "resumed from " << checkpoint.string() << " at update " << state.updates << "\n";
    } else if (p.hp.learn_field) {
      machine.fit_field(train_x);  // b starts where the data's mean residual is zero
    }
    const auto& hp = machine.hyperparameters();
    std::printf("training on %zu %s: N=%zu g=%g dt=%g T=%g n_t=%zu k=%g lambda=%g "
                "b_size=%zu N_model=%zu %s seed=%llu%s%s%s%s\n",
                data.count(), data.labelled ? ("samples of classes " + digits).c_str() : "samples", hp.neurons, hp.coupling_strength, hp.time_step,
                hp.temperature, hp.langevin_steps, hp.learning_rate, p.lambda, hp.batch_size,
                hp.persistent_chains,
                (p.updates ? std::to_string(p.updates) + " updates" : std::to_string(p.epochs) + " epochs").c_str(),
                static_cast<unsigned long long>(hp.seed), hp.learn_field ? " (learning a field b)" : "",
                step_rule == "adam" ? " (Adam steps)" : full_batch ? " (full-batch data phase)" : "",
                hp.chain_restart > 0 ? (" (chain restarts " + std::to_string(hp.chain_restart) + ")").c_str() : "",
                p.anneal > 0 ? (" (k annealed over the last " + std::to_string(int(100 * p.anneal + 0.5)) + "%)").c_str() : "");

    if (p.data_restart > 0)
      std::printf("restarts from data: %g of the persistent chains per update from a random training image + N(0, %g^2) noise\n",
                  p.data_restart, p.data_restart_noise);
    if (latent)
      std::printf("latent units: %zu (data phase: %zu steps per batch, %s starts)\n", latent,
                  latent_steps ? latent_steps : hp.langevin_steps, latent_start.c_str());
    if (cl.labels)
      std::printf("label units: %zu (digits %s, %zu per digit, code +-%g), neurons %zu = %zu image + %zu label\n", layout.labels(),
                  digits.c_str(), layout.units_per_class, layout.label_scale, layout.neurons(), layout.visible, layout.labels());
    std::printf("%s\n", ex::blas_summary().c_str());

    nlm::TrainingOptions options = nlm::TrainingOptions::for_epochs(p.epochs);
    options.max_updates = p.updates;
    options.anneal_fraction = p.anneal;
    const std::uint64_t first_update = state.updates;
    nlm::UpdateStatisticsOptions stats_options;
    stats_options.window_length = update_window;
    stats_options.record_signal = true;
    stats_options.seed = hp.seed;
    nlm::UpdateStatistics stats(stats_options);
    if (!update_stats.empty()) ex::require_output_dir(update_stats);
    const auto start = std::chrono::steady_clock::now();
    try {
      if (full_batch) {
        // machine.update(moments) with the statistics' hooks between its parts, k on train's schedule.
        const auto moments = machine.data_moments(train_x);
        const std::uint64_t planned = p.updates ? p.updates : std::uint64_t(p.epochs);
        for (std::uint64_t t = 1; t <= planned; ++t) {
          machine.set_learning_rate_scale(options.learning_rate_scale(t, planned));
          machine.compute_signal(moments);
          if (!update_stats.empty()) stats.on_signal(machine, machine.learning_signal(), state);
          state.signal_mean_square = machine.compute_step();
          if (!update_stats.empty()) stats.on_step(machine, machine.step(), state);
          machine.apply_step();
          ++state.updates;
          if (t % 100 == 0 || t == planned)
            std::fprintf(stderr, "\rfull-batch update %llu/%llu  signal ms %.3e", static_cast<unsigned long long>(t),
                         static_cast<unsigned long long>(planned), state.signal_mean_square);
        }
        std::fprintf(stderr, "\n");
        ex::fs::remove(checkpoint);  // one from an earlier run does not belong to this J
      } else {
        // After a latent data phase (given as `more`), so a restart copies the batch's sampled latent units too.
        nlm::DataRestarts<float> restarts({p.data_restart, p.data_restart_noise, hp.seed});
        const auto run = [&](auto&&... more) {
          return nlm::train(machine, train_x, options, state, nlm::ProgressBar(std::cerr, 30, 10),
                            nlm::StopOnNonFinite(50), nlm::PeriodicCheckpoint(checkpoint, cl.checkpoint_every), more...,
                            restarts);
        };
        if (latent > 0) {
          nlm::LatentPhaseOptions lo;
          lo.first_latent = layout.first_latent();
          lo.steps = latent_steps ? latent_steps : hp.langevin_steps;
          lo.start = latent_start == "restart" ? nlm::LatentPhaseOptions::Start::restart
                                               : nlm::LatentPhaseOptions::Start::persistent;
          lo.seed = hp.seed;
          nlm::LatentDataPhase<float> phase(train_x.shape(0), layout.neurons(), lo);
          state = update_stats.empty() ? run(phase) : run(phase, stats);
        } else {
          state = update_stats.empty() ? run() : run(stats);
        }
      }
    } catch (const nlm::interrupted& e) {
      std::cerr << "\n" << e.what() << "; checkpoint saved to " << checkpoint.string()
                << " (continue with --resume)\n";
      return 130;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::uint64_t run_updates = state.updates - first_update;

    std::vector<ex::fs::path> written = ex::write_training_outputs(out, machine, layout, state, ex::training_title(cl, set));
    written.insert(written.begin() + 3, full_batch ? ex::fs::path("no checkpoint (--full-batch)") : checkpoint);

    if (!update_stats.empty()) ex::report_update_statistics(update_stats, stats, bootstrap, hp.seed);

    std::printf("%llu updates in %.1f s (%.1f ms/update)%s\nwrote %s\n",
                static_cast<unsigned long long>(run_updates), seconds,
                1e3 * seconds / double(std::max<std::uint64_t>(1, run_updates)),
                first_update > 0 ? (", " + std::to_string(state.updates) + " in all").c_str() : "",
                ex::file_list(written).c_str());
    ex::print_sampler_summary(machine);
    return 0;
  };
  return cl.sampling.dispatch<false>("mnist_train", [&]<class SamplerT, class Backend>() {
    ex::TrainingMachine<SamplerT, Backend> machine(p.hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{p.lambda},
                                                   cl.sampling.make_sampler<SamplerT>());
    return train_with(machine);
  });
} catch (const std::exception& e) {
  std::cerr << "mnist_train: " << e.what() << "\n";
  return 1;
}
