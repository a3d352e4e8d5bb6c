// What mnist_train and mnist_train_mpi share: their command line (the preset and the
// hyperparameters, the data, label units, held-out digits, the step rule, the model phase and
// precision, checkpoints, threads, the output folder), the training set and unit layout built
// from it, and the files a finished run writes.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "mnist_common.hpp"
#include "options.hpp"
#include "presets.hpp"

namespace nlm::examples {

/// The classes a labels .npy holds, in increasing order, as --digits text ("0,1,7"); labels
/// outside 0-9 are refused (the class codes and --digits are single digits).
inline std::string classes_in(const std::string& labels_path) {
  const Vector<float> labels = io::load_npy_vector<float>(labels_path);
  std::array<bool, 10> present{};
  for (const float v : labels) {
    if (!(v >= 0.0f && v <= 9.0f && v == float(int(v))))
      throw std::invalid_argument(labels_path + ": label " + std::to_string(v) +
                                  " is not a whole number 0-9 (the training programs' classes are digits)");
    present[std::size_t(v)] = true;
  }
  std::string s;
  for (std::size_t c = 0; c < 10; ++c)
    if (present[c]) s += (s.empty() ? "" : ",") + std::to_string(c);
  if (s.empty()) throw std::invalid_argument(labels_path + ": no labels");
  return s;
}

/// The training programs' command line, registered on construction (the object must outlive
/// parsing). `out_suffix` is appended to the default output folder out/<preset>.
class TrainingCommandLine {
 public:
  std::string preset_name = "quick", digits = "1,3,6", out_dir, step_rule = "plain";
  DataSource data;
  std::uint64_t checkpoint_every = 500;
  bool resume = false, labels = false;
  double label_scale = 1.0;
  std::size_t label_units = 10;  // docs/quality.md: 10 per digit make class-conditional samples right
  std::size_t held_out = 0;
  SamplingOptions sampling;
  int threads = 0;

  TrainingCommandLine(CLI::App& app, std::string out_suffix) : out_suffix_(std::move(out_suffix)) {
    app.add_option("--preset", preset_name, "quick or paper")->capture_default_str();
    data.add_to(app);
    add_digits_option(app, digits,
                      "digits (classes) to learn, comma-separated (labelled data; a labelled .npy: all its classes)");
    add_output_option(app, out_dir, "output folder (default out/<preset>" + out_suffix_ + ")");
    preset_ = std::make_unique<PresetOptions>(app);
    app.add_option("--checkpoint-every", checkpoint_every, "updates between checkpoints (0: only at the end)")
        ->capture_default_str()
        ->transform(count());
    app.add_flag("--resume", resume, "continue from the checkpoint in the output folder");
    app.add_option("--step-rule", step_rule,
                   "plain (the paper's J += k(D - M) step) or adam (Adam's per-coupling step of about k; use a k "
                   "near 1e-4)")
        ->check(CLI::IsMember({"plain", "adam"}))
        ->capture_default_str();
    app.add_flag("--labels", labels,
                 "append label units per digit (+a for the image's digit, -a for the others) and learn the joint "
                 "model; the layout says which units are labels");
    app.add_option("--label-scale", label_scale, "a, the label units' data value (+-a)")->capture_default_str();
    app.add_option("--label-units", label_units, "label units per digit")
        ->capture_default_str()
        ->transform(count(true));
    add_held_out_option(app, held_out, "hold the last H digits of each class out of training (for mnist_classify and mnist_complete)", false);
    sampling.add_to(app, "--model-phase", {"em", "pt"},
                    "em (the paper's Euler-Maruyama persistent chains) or pt (the chains are the T replicas of "
                    "parallel tempering over Euler-Maruyama: --replicas, --t-max, --swap-every)");
    add_threads_option(app, threads);
  }
  TrainingCommandLine(const TrainingCommandLine&) = delete;
  TrainingCommandLine& operator=(const TrainingCommandLine&) = delete;

  /// The preset with the options given, the output folder's default filled in, the step
  /// rule set; checks the options that need others.
  Preset resolve(const CLI::App& app) {
    if (!labels && (app.count("--label-scale") > 0 || app.count("--label-units") > 0))
      throw std::invalid_argument(std::string(app.count("--label-scale") ? "--label-scale" : "--label-units") +
                                  " needs --labels");
    Preset p = preset_->resolve(app, preset_name);
    if (out_dir.empty()) out_dir = "out/" + preset_name + out_suffix_;
    // A user's labelled .npy data: every class its labels hold, unless --digits chooses (the
    // default 1,3,6 is MNIST's experiment, not theirs).
    if (data.is_npy() && !data.labels.empty() && app.count("--digits") == 0) digits = classes_in(data.labels);
    p.hp.step_rule = step_rule == "adam" ? Hyperparameters::StepRule::adam : Hyperparameters::StepRule::plain;
    return p;
  }

 private:
  std::string out_suffix_;
  std::unique_ptr<PresetOptions> preset_;
};

/// The samples a run trains on, their unit layout and the training vectors (the images, then
/// their label codes, then the latent units, 0 until the data phase samples them).
struct TrainingSet {
  data::dataset<float> data;
  UnitLayout layout;
  Matrix<float> x;
};

/// The training set of command line `c` for preset `p` with `latent` latent units; sets
/// p.hp.neurons and p.hp.learn_field from it. --held-out: the last H digits of each class never
/// enter training (mnist_classify, mnist_complete and mnist_generate --class read H from the
/// layout and use exactly those).
inline TrainingSet training_set(const TrainingCommandLine& c, Preset& p, std::size_t latent = 0) {
  TrainingSet t;
  if (c.held_out == 0) {
    t.data = load_digits(c.data, c.digits, p.images, Labels::optional);
  } else {
    t.data = hold_out(load_digits(c.data, c.digits, 0, Labels::optional), c.held_out, c.data.path).train;
    if (t.data.count() > p.images) t.data = first_rows_of(t.data, p.images);
  }
  if (t.data.count() < p.images)
    std::printf("note: %zu samples requested (N_image), %zu available in %s; training on those.\n", p.images,
                t.data.count(), c.data.path.c_str());
  if (c.labels && !t.data.labelled)
    throw std::invalid_argument("--labels: the data has no labels to put on label units (--data-labels)");
  t.layout = image_layout(t.data.x.shape(1));
  t.layout.image_rows = t.data.rows;  // 0 x 0: not images (drawn as plots)
  t.layout.image_cols = t.data.cols;
  t.layout.images = t.data.count();
  t.layout.held_out = c.held_out;
  if (c.labels) {
    t.layout.classes = parse_digits(c.digits);
    t.layout.label_scale = c.label_scale;
    t.layout.units_per_class = c.label_units;
  }
  t.layout.latent = latent;
  t.layout.validate();
  t.x = c.labels || latent ? t.layout.data_rows(Matrix<float>(t.data.x), t.data.labels) : Matrix<float>(t.data.x);
  p.hp.neurons = t.layout.neurons();
  p.hp.learn_field = p.field;
  return t;
}

/// What `c`'s data is called in titles: the file's name, and the digits of labelled data.
inline std::string training_title(const TrainingCommandLine& c, const TrainingSet& t) {
  return fs::path(c.data.path).filename().string() + (t.data.labelled ? " " + c.digits : "");
}

/// Writes a finished run's files to `out`: model.nlm (J, b, layout, hyperparameters), J.npy,
/// layout.txt, field.npy (removed when the machine learns no field: one from an earlier run
/// does not belong to this J), training_curve.csv and training_curve.png (the whole curve,
/// the epochs before a resume included). Returns the files written.
template <class Machine>
std::vector<fs::path> write_training_outputs(const fs::path& out, const Machine& machine, const UnitLayout& layout,
                                             const TrainingState& state, const std::string& title) {
  std::vector<fs::path> written{out / "model.nlm", out / "J.npy", out / "layout.txt"};
  save_model(out / "model.nlm", machine, layout);
  io::save_npy(out / "J.npy", machine.couplings());
  save_layout(out / "layout.txt", layout);
  if (machine.hyperparameters().learn_field) {
    io::save_npy(out / "field.npy", machine.field());
    written.push_back(out / "field.npy");
  } else {
    fs::remove(out / "field.npy");
  }
  std::vector<std::vector<double>> rows;
  std::vector<double> xs, ys;
  for (const auto& pt : state.curve) {
    rows.push_back({double(pt.epoch), double(pt.updates), pt.signal_mean_square});
    xs.push_back(double(pt.epoch));
    ys.push_back(pt.signal_mean_square);
  }
  write_csv(out / "training_curve.csv", "epoch,updates,signal_mean_square", rows);
  written.push_back(out / "training_curve.csv");
  if (xs.size() >= 2) {
    line_plot(out / "training_curve.png", {Series{"mean((M - D)^2)", xs, ys}}, "NLM training on " + title, "epoch",
              "learning signal mean square", true);
    written.push_back(out / "training_curve.png");
  }
  return written;
}

/// "a, b, c" of `files`.
inline std::string file_list(const std::vector<fs::path>& files) {
  std::string s;
  for (const auto& f : files) s += (s.empty() ? "" : ", ") + f.string();
  return s;
}

/// What the model phase's parallel tempering did, when it ran (a line), and which oneDNN
/// implementation made the bf16 products.
template <class Machine>
void print_sampler_summary(const Machine& machine) {
  if constexpr (requires { machine.sampler().swap_rates(); }) {
    std::printf("parallel tempering: ladder");
    for (double t : machine.sampler().temperatures(machine.hyperparameters().temperature)) std::printf(" %.3g", t);
    std::printf(", swap rates (last run of chains)");
    for (double r : machine.sampler().swap_rates()) std::printf(" %.3f", r);
    std::printf("\n");
  }
  if constexpr (requires { machine.parameters().backend().implementation(); })
    std::printf("bf16 products: oneDNN %s\n", machine.parameters().backend().implementation().c_str());
}

}  // namespace nlm::examples
