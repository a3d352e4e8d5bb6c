// Shared by the examples that use a trained model's units: the unit layout that travels with
// J (layout.txt beside it, from mnist_train), and the held-out digits the model never saw.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>

#include "generation.hpp"
#include "mnist_common.hpp"

namespace nlm::examples {

/// The layout of the model whose couplings are `couplings` (N neurons): the file `layout`
/// when given, else layout.txt beside the couplings, else (a plain image model) all N units
/// visible. Checked against N.
inline UnitLayout model_layout(const std::string& couplings, std::size_t neurons, std::string layout = {}) {
  if (layout.empty()) {
    const fs::path beside = fs::path(couplings).parent_path() / "layout.txt";
    if (fs::exists(beside)) layout = beside.string();
  }
  UnitLayout l = layout.empty() ? image_layout(neurons) : load_layout(layout);
  l.require_neurons(neurons, couplings);
  return l;
}

/// The layout of the model `m` names: the file `layout` when given, else the one a model file
/// carries, else as model_layout above (layout.txt beside the file, or all units visible).
inline UnitLayout model_layout(const ModelFiles& m, std::size_t neurons, const std::string& layout = {}) {
  if (layout.empty() && !m.model.empty())
    if (auto saved = read_model<float>(m.model).layout) {
      saved->require_neurons(neurons, m.model);
      return *saved;
    }
  return model_layout(m.source(), neurons, layout);
}

/// The digits of a model: the classes of its label units when it has them (in their order),
/// else `fallback`.
inline std::string model_digits(const UnitLayout& layout, const std::string& fallback) {
  if (layout.labels() == 0) return fallback;
  std::string s;
  for (const auto c : layout.classes) {
    if (!s.empty()) s += ',';
    s += std::to_string(c);
  }
  return s;
}

/// The digits split for a model: `held` the last `held_out` digits of each class (the
/// layout's count when the model was trained with mnist_train --held-out, so none of them was
/// trained on), interleaved class by class; `train` the digits before them, at most the
/// model's training images, for the baselines and the evaluation classifier.
inline HeldOutSplit split_for_model(const data::dataset<float>& all, const UnitLayout& layout, std::size_t held_out,
                                    const std::string& data_dir) {
  const std::size_t per_class = layout.held_out > 0 ? layout.held_out : held_out;
  if (per_class == 0) throw std::invalid_argument("--held-out must be > 0");
  if (layout.held_out == 0)
    std::printf("note: the model's layout holds no digits out of training (mnist_train --held-out), so the "
                "last %zu digits of each class, used here as held-out digits, may be among its training digits\n",
                per_class);
  HeldOutSplit s = hold_out(all, per_class, data_dir);
  if (layout.images > 0 && layout.images < s.train.count()) s.train = first_rows_of(s.train, layout.images);
  return s;
}

/// The options of an example that runs clamped chains of a trained model, in one place.
struct ClampedRunOptions {
  GenerationOptions gen;
  std::string layout, out;
  DataSource data;
  std::size_t held_out = 100;

  void add_to(CLI::App& app, const std::string& steps_help) {
    gen.add_model_options(app);
    add_layout_option(app, layout);
    data.add_to(app);
    add_held_out_option(app, held_out, "held-out digits per class, the last of each (a model trained with --held-out: its count)");
    gen.add_dynamics(app, steps_help);
    add_output_option(app, out);
  }
};

/// Advances `chains` by `steps` steps of descent on the energy of the generator's model (its
/// J and b, no noise: the T = 0 dynamics, Euler steps of the generator's Δt), calling
/// `observer(step, states)` after each.
template <class Generator, class Observer = NoObserver>
void descend(const Generator& generator, Chains<float>& chains, std::size_t steps, Observer&& observer = {}) {
  const auto& model = generator.model();
  LangevinModel<Tanh, NoNoise, float, typename Generator::model_type::backend_type> descent(
      model.parameters(), double(model.temperature()), model.activation());
  EulerMaruyama euler(generator.time_step());
  euler.advance(descent, chains, steps, std::forward<Observer>(observer));
}

}  // namespace nlm::examples
