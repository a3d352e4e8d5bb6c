// One model file: J, b, layout, hyperparameters and policies round-trip bit for bit; a
// checkpoint reads as a model too (without a layout); every damaged file gets a sentence.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <utility>
#include <string>

#include <nlm/training/model_file.hpp>

#include "test_support.hpp"

namespace {

using nlm::test::TempDir;

template <class Action>
std::string error_of(Action&& action) {
  return nlm::test::message_of(std::forward<Action>(action));
}

template <class S>
bool same_bits(const auto& a, const auto& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(S)) == 0;
}

/// The small training machine with couplings and field of its own and 17 updates behind it.
template <class S>
nlm::test::TrainingMachine<S> trained_machine() {
  nlm::Hyperparameters hp = nlm::test::small_hyperparameters();
  hp.learn_field = true;
  nlm::test::TrainingMachine<S> m(hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{1e-3});
  nlm::Matrix<S> j = m.random_states(12) * S(0.1);
  m.set_couplings(j);
  nlm::Vector<S> b = xt::view(m.random_states(1), 0, xt::all());
  m.set_field(b);
  m.set_updates(17);
  return m;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_SUITE("model file") {

TEST_CASE_TEMPLATE("a model file holds J, b, layout, hyperparameters and policies, bit for bit", S, float, double) {
  TempDir dir;
  const auto m = trained_machine<S>();
  nlm::UnitLayout layout = nlm::image_layout(9);
  layout.classes = {4, 2};
  layout.latent = 1;
  layout.images = 23;
  layout.image_rows = 3;
  layout.image_cols = 3;
  nlm::save_model(dir / "model.nlm", m, layout);

  const auto back = nlm::read_model<S>(dir / "model.nlm");
  CHECK(back.kind == "model file (format 1)");
  CHECK(back.updates == 17);
  CHECK(same_bits<S>(back.couplings, m.couplings()));
  CHECK(same_bits<S>(back.field, m.field()));
  CHECK(back.neurons() == 12);
  REQUIRE(back.layout.has_value());
  CHECK(nlm::layout_text(*back.layout) == nlm::layout_text(layout));
  CHECK(nlm::detail::hyperparameter_configuration(back.hyperparameters) ==
        nlm::detail::hyperparameter_configuration(m.hyperparameters()));
  CHECK(back.machine == nlm::detail::machine_configuration(m));
  CHECK(*nlm::io::lookup(back.machine, "regularizer") == nlm::detail::describe_policy(m.regularizer()));

  // A layout of other neurons is refused before anything is written.
  CHECK(error_of([&] { nlm::save_model(dir / "other.nlm", m, nlm::image_layout(10)); }) ==
        "save_model: the machine has 12 neurons, the unit layout 10 (10 image + 0 label + 0 latent units)");
  CHECK_FALSE(std::filesystem::exists(dir / "other.nlm"));
}

TEST_CASE("a checkpoint reads as a model without a layout") {
  TempDir dir;
  const auto m = trained_machine<float>();
  nlm::save_checkpoint(dir / "c.nlm", m, nlm::initial_training_state(m));
  const auto back = nlm::read_model<float>(dir / "c.nlm");
  CHECK(back.kind == "checkpoint (format 5)");
  CHECK_FALSE(back.layout.has_value());
  CHECK(back.updates == 17);
  CHECK(same_bits<float>(back.couplings, m.couplings()));
  CHECK(same_bits<float>(back.field, m.field()));
}

TEST_CASE("a damaged or foreign model file is refused with a sentence naming it") {
  TempDir dir;
  const auto m = trained_machine<float>();
  const auto good = dir / "model.nlm";
  nlm::save_model(good, m, nlm::image_layout(12));
  const std::string bytes = read_all(good);
  const auto parse = [](const std::string& b) { nlm::parse_model<float>(b, "f"); };

  CHECK(error_of([&] { nlm::read_model<float>(dir / "missing.nlm"); }) ==
        (dir / "missing.nlm").string() + ": cannot open the model file for reading");
  CHECK(error_of([&] { parse("\x93NUMPY\x01\x00 not a model"); }) ==
        "f: neither a model file nor a checkpoint (its first bytes are not NLMMODEL or NLMCKPT1)");
  CHECK(error_of([&] { parse(bytes.substr(0, bytes.size() - 3)); }) == "f: model file is truncated (no end marker)");
  std::string flipped = bytes;
  flipped[40] = char(flipped[40] ^ 0x10);
  CHECK(error_of([&] { parse(flipped); }) == "f: model file is corrupt (checksum mismatch)");

  // A file whose layout does not fit its couplings (written by hand in the same codec).
  nlm::io::FileWriter w(nlm::detail::model_magic, 1);
  w.add("machine", nlm::io::configuration_text(nlm::detail::machine_configuration(m)));
  w.add("hyperparameters",
        nlm::io::configuration_text(nlm::detail::hyperparameter_configuration(m.hyperparameters())));
  nlm::io::SectionWriter n, j, b;
  n.put<std::uint64_t>(3);
  j.put_array(m.couplings());
  b.put_array(m.field());
  w.add("learner", n);
  w.add("couplings", j);
  w.add("field", b);
  w.add("layout", nlm::layout_text(nlm::image_layout(10)));
  CHECK(error_of([&] { parse(std::move(w).finish(nlm::detail::model_end)); }) ==
        "f (section 'layout'): the model has 12 neurons, the unit layout 10 (10 image + 0 label + 0 latent units)");

  nlm::io::FileWriter v2(nlm::detail::model_magic, 2);
  CHECK(error_of([&] { parse(std::move(v2).finish(nlm::detail::model_end)); }) ==
        "f: model file format version 2 is not supported (expected 1)");
}

}  // TEST_SUITE
