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
#ifdef NLM_HAVE_ONEDNN
#include <nlm/bf16.hpp>
#endif
#include <nlm_examples/picture.hpp>

#include "common/mnist_common.hpp"
#include "common/presets.hpp"
#include "common/update_stats.hpp"

namespace ex = nlm::examples;


int main(int argc, char** argv) try {
  CLI::App app{"Train a Neural Langevin Machine on MNIST digits (nlm)"};
  nlm::examples::last_option_wins(app);
  std::string preset_name = "quick", digits = "1,3,6", out_dir;
  ex::DataSource data_source;
  std::uint64_t checkpoint_every = 500;
  bool resume = false;
  std::string step_rule = "plain";
  int threads = 0;
  std::string precision = "fp32", model_phase = "em";
  std::size_t replicas = 4, swap_every = 10;
  double t_max = 2.0;
  app.add_option("--preset", preset_name, "quick or paper")->capture_default_str();
  data_source.add_to(app);
  app.add_option("--digits", digits, "digits (classes) to learn, comma-separated (labelled data only)")
      ->capture_default_str();
  app.add_option("--out", out_dir, "output folder (default out/<preset>)");
  ex::PresetOptions training(app);
  app.add_option("--checkpoint-every", checkpoint_every, "updates between checkpoints (0: only at the end)")->capture_default_str()->transform(ex::count());
  app.add_option("--step-rule", step_rule,
                 "plain (the paper's J += k(D - M) step) or adam (Adam's per-coupling step of "
                 "about k; use a k near 1e-4)")
      ->check(CLI::IsMember({"plain", "adam"}))
      ->capture_default_str();
  std::string update_stats;
  std::uint64_t update_window = 0;
  std::size_t bootstrap = 50;
  app.add_option("--update-stats", update_stats,
                 "record |dJ| and |M - D| of every update in log-binned histograms per window; write them, "
                 "their power-law tail fits (tail.csv) and a picture per window to this folder");
  app.add_option("--update-window", update_window,
                 "updates per window of --update-stats (0: decades 1-10, 10-100, ...)")->capture_default_str()->transform(ex::count());
  app.add_option("--bootstrap", bootstrap, "bootstrap sets of each tail fit's p-value")->capture_default_str()->transform(ex::count());
  bool labels = false;
  double label_scale = 1.0;
  app.add_flag("--labels", labels,
               "append one label unit per digit (+a for the image's digit, -a for the others) and learn "
               "the joint model; layout.txt says which units are labels");
  app.add_option("--label-scale", label_scale, "a, the label units' data value (+-a)")->capture_default_str();
  std::size_t label_units = 10;  // docs/quality.md: 10 per digit make class-conditional samples right
  app.add_option("--label-units", label_units, "label units per digit")->capture_default_str()->transform(ex::count(true));
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
  std::size_t held_out = 0;
  app.add_option("--held-out", held_out,
                 "hold the last H digits of each class out of training (for mnist_classify and mnist_complete)")
      ->capture_default_str()->transform(ex::count());
  bool full_batch = false;
  app.add_flag("--full-batch", full_batch,
               "data phase from the whole training set's moments every update (no mini-batch noise; "
               "no checkpoints, no --resume)");
  app.add_flag("--resume", resume, "continue from the checkpoint in the output folder");
  app.add_option("--model-phase", model_phase,
                 "em (the paper's Euler-Maruyama persistent chains) or pt (the chains are the T replicas of parallel "
                 "tempering over Euler-Maruyama: --replicas, --t-max, --swap-every)")
      ->capture_default_str()
      ->check(CLI::IsMember({"em", "pt"}));
  app.add_option("--replicas", replicas, "parallel tempering: replicas on the ladder T..t_max (pt)")
      ->capture_default_str()
      ->transform(ex::count(true));
  app.add_option("--t-max", t_max, "parallel tempering: the top of the temperature ladder (pt)")->capture_default_str();
  app.add_option("--swap-every", swap_every, "parallel tempering: steps between swap rounds (pt)")
      ->capture_default_str()
      ->transform(ex::count(true));
  app.add_option("--precision", precision,
                 "fp32 (float32 products) or bf16 (bf16 products through oneDNN, float32 J; needs a build "
                 "with -DNLM_ONEDNN=ON; a checkpoint of either resumes in the other)")
      ->check(CLI::IsMember({"fp32", "bf16"}))->capture_default_str();
  app.add_option("--threads", threads, "OpenBLAS threads (0: OPENBLAS_NUM_THREADS or all cores)")->transform(ex::count());
  CLI11_PARSE(app, argc, argv);

  ex::Preset p = training.resolve(app, preset_name);
  if (out_dir.empty()) out_dir = "out/" + preset_name;
  ex::set_blas_threads(threads);
  const ex::fs::path out(out_dir);
  ex::fs::create_directories(out);

  // --held-out: the last H digits of each class never enter training (mnist_classify,
  // mnist_complete and mnist_generate --class read H from layout.txt and use exactly those).
  const auto data = held_out == 0 ? ex::load_digits(data_source, digits, p.images, ex::Labels::optional) : [&] {
    auto train_part =
        ex::hold_out(ex::load_digits(data_source, digits, 0, ex::Labels::optional), held_out, data_source.path).train;
    if (train_part.count() > p.images) train_part = ex::first_rows_of(train_part, p.images);
    return train_part;
  }();
  if (data.count() < p.images)
    std::cout << "note: " << p.images << " samples requested (N_image), " << data.count() << " available in "
              << data_source.path << "; training on those.\n";
  if (labels && !data.labelled)
    throw std::invalid_argument("--labels: the data has no labels to put on label units (--data-labels)");
  nlm::UnitLayout layout = nlm::image_layout(data.x.shape(1));
  layout.image_rows = data.rows;  // 0 x 0: not images (drawn as plots)
  layout.image_cols = data.cols;
  layout.images = data.count();
  layout.held_out = held_out;
  if (labels) {
    layout.classes = ex::parse_digits(digits);
    layout.label_scale = label_scale;
    layout.units_per_class = label_units;
  } else if (app.count("--label-scale") > 0 || app.count("--label-units") > 0) {
    throw std::invalid_argument(std::string(app.count("--label-scale") ? "--label-scale" : "--label-units") +
                                " needs --labels");
  }
  layout.latent = latent;
  layout.validate();
  // The training vectors: the images, then their label codes, then the latent units (0 until
  // the data phase samples them).
  const nlm::Matrix<float> train_x = labels || latent ? layout.data_rows(nlm::Matrix<float>(data.x), data.labels)
                                                      : nlm::Matrix<float>(data.x);
  if (latent > 0 && full_batch) throw std::invalid_argument("--full-batch: not with --latent (the data phase samples)");
  if (latent > 0 && resume && latent_start == "persistent")
    throw std::invalid_argument("--resume: the persistent latent states of each image are not in the checkpoint; "
                                "resume a --latent run with --latent-start restart");
  p.hp.neurons = layout.neurons();
  p.hp.learn_field = p.field;
  p.hp.step_rule = step_rule == "adam" ? nlm::Hyperparameters::StepRule::adam
                                       : nlm::Hyperparameters::StepRule::plain;

  // The rest with either machine: float32 products (PaperMachine) or bf16 ones (nlm/bf16.hpp).
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

    if (latent)
      std::printf("latent units: %zu (data phase: %zu steps per batch, %s starts)\n", latent,
                  latent_steps ? latent_steps : hp.langevin_steps, latent_start.c_str());
    if (labels)
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
        if (resume) throw std::invalid_argument("--full-batch: cannot --resume (this mode writes no checkpoint)");
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
        const auto run = [&](auto&&... more) {
          return nlm::train(machine, train_x, options, state, nlm::ProgressBar(std::cerr, 30, 10),
                            nlm::StopOnNonFinite(50), nlm::PeriodicCheckpoint(checkpoint, checkpoint_every), more...);
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

    nlm::save_model(out / "model.nlm", machine, layout);
    nlm::io::save_npy(out / "J.npy", machine.couplings());
    nlm::save_layout(out / "layout.txt", layout);
    if (hp.learn_field) nlm::io::save_npy(out / "field.npy", machine.field());
    else ex::fs::remove(out / "field.npy");  // a field from an earlier run does not belong to this J
    // The state carries the whole curve, the epochs before a resume included.
    const ex::fs::path curve_csv = out / "training_curve.csv";
    std::vector<std::vector<double>> rows;
    for (const auto& pt : state.curve)
      rows.push_back({double(pt.epoch), double(pt.updates), pt.signal_mean_square});
    ex::write_csv(curve_csv, "epoch,updates,signal_mean_square", rows);
    std::vector<double> xs, ys;
    for (const auto& r : rows) {
      xs.push_back(r[0]);
      ys.push_back(r[2]);
    }
    if (xs.size() >= 2)
      ex::line_plot(out / "training_curve.png", {ex::Series{"mean((M - D)^2)", xs, ys}},
                    "NLM training on " + ex::fs::path(data_source.path).filename().string() +
                        (data.labelled ? " " + digits : ""), "epoch", "learning signal mean square", true);

    if (!update_stats.empty()) ex::report_update_statistics(update_stats, stats, bootstrap, hp.seed);

    std::printf("%llu updates in %.1f s (%.1f ms/update)%s\nwrote %s, %s, %s, %s, %s, %s%s\n",
                static_cast<unsigned long long>(run_updates), seconds,
                1e3 * seconds / double(std::max<std::uint64_t>(1, run_updates)),
                first_update > 0 ? (", " + std::to_string(state.updates) + " in all").c_str() : "",
                (out / "model.nlm").c_str(), (out / "J.npy").c_str(), (out / "layout.txt").c_str(), full_batch ? "no checkpoint (--full-batch)" : checkpoint.c_str(), curve_csv.c_str(),
                (out / "training_curve.png").c_str(),
                hp.learn_field ? (", " + (out / "field.npy").string()).c_str() : "");
    if constexpr (requires { machine.sampler().swap_rates(); }) {
      std::printf("parallel tempering: ladder");
      for (double t : machine.sampler().temperatures(hp.temperature)) std::printf(" %.3g", t);
      std::printf(", swap rates (last run of chains)");
      for (double r : machine.sampler().swap_rates()) std::printf(" %.3f", r);
      std::printf("\n");
    }
    if constexpr (requires { machine.parameters().backend().implementation(); })
      std::printf("bf16 products: oneDNN %s\n", machine.parameters().backend().implementation().c_str());
    return 0;
  };
  if (model_phase == "pt") {
    if (precision == "bf16") throw std::invalid_argument("--model-phase pt: with --precision fp32 only");
    using PtMachine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay,
                                           nlm::ParallelTempering<nlm::EulerMaruyama>, float>;
    PtMachine machine(p.hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{p.lambda},
                      nlm::ParallelTempering<nlm::EulerMaruyama>(replicas, t_max, swap_every));
    return train_with(machine);
  }
  if (precision == "bf16") {
#ifdef NLM_HAVE_ONEDNN
    nlm::PaperMachineBf16 machine(p.hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{p.lambda});
    return train_with(machine);
#else
    throw std::invalid_argument("--precision bf16: this mnist_train was built without oneDNN (cmake -DNLM_ONEDNN=ON)");
#endif
  }
  nlm::PaperMachine machine(p.hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{p.lambda});
  return train_with(machine);
} catch (const std::exception& e) {
  std::cerr << "mnist_train: " << e.what() << "\n";
  return 1;
}
