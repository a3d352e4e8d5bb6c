// Checkpoints that resume exactly at every point of a run, refuse a differently configured
// machine or other data with a sentence, and still read the files of earlier formats.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlm/nlm.hpp>

#include "test_support.hpp"

namespace {

template <class S, class Activation = nlm::Tanh, class Regularizer = nlm::WeightDecay,
          class Sampler = nlm::EulerMaruyama>
using Machine = nlm::LangevinMachine<Activation, nlm::GaussianNoise, Regularizer, Sampler, S>;

using nlm::test::toy_data;
nlm::Hyperparameters small(std::uint64_t seed = 7) { return nlm::test::small_hyperparameters(seed); }

template <class A>
bool same_bits(const A& a, const A& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(*a.data())) == 0;
}

extern "C" char* openblas_get_corename(void);

// The format 3 fixtures hold the first updates of a run as computed by OpenBLAS's Zen kernels
// (the CPU they were written on; its Haswell kernels give the same bits). Resumed elsewhere,
// the rest of the run agrees with a straight run on the local kernels only to rounding:
// double products summed in another order differ by ~1e-16 relative, carried through the
// remaining updates of 3 noisy Langevin steps each (measured on SkylakeX kernels, 2026-12-01: ≤ 2.1e-16).
// 1e-10 leaves six orders of magnitude; a lost or doubled update moves J by k·|M − D|, ~1e-3
// relative, and fails it.
template <class A>
bool same_run(const A& a, const A& b, std::initializer_list<std::string_view> written_on = {"Zen", "Haswell"}) {
  const std::string core = openblas_get_corename();
  if (std::find(written_on.begin(), written_on.end(), core) != written_on.end()) return same_bits(a, b);
  if (a.shape() != b.shape()) return false;
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double(a.data()[i]) - double(b.data()[i])));
    scale = std::max(scale, std::abs(double(b.data()[i])));
  }
  MESSAGE("resume of an older file on ", core, " kernels: max relative difference ", worst / scale);
  return worst <= 1e-10 * scale;
}

bool same_curve(const std::vector<nlm::CurvePoint>& a, const std::vector<nlm::CurvePoint>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].epoch != b[i].epoch || a[i].updates != b[i].updates ||
        std::memcmp(&a[i].signal_mean_square, &b[i].signal_mean_square, sizeof(double)) != 0)
      return false;
  return true;
}

using nlm::test::quiet;
using nlm::test::SaveAt;

// The machine of the older-format fixtures with state in every part: Adam, a field, restarts.
nlm::Hyperparameters adam_field_restart() {
  nlm::Hyperparameters hp = small();
  hp.learn_field = true;
  hp.chain_restart = 0.25;
  hp.step_rule = nlm::Hyperparameters::StepRule::adam;
  return hp;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_SUITE("checkpoints") {

TEST_CASE("a checkpoint saved after any update, epoch ends included, resumes bit for bit") {
  const auto data = toy_data<double>();
  nlm::Hyperparameters hp = small();
  hp.learn_field = true;
  hp.chain_restart = 0.25;
  Machine<double> straight(hp);
  const auto end = nlm::train(straight, data, quiet(14));
  REQUIRE(end.curve.size() == 3);  // 14 updates: epochs end at 4, 8 and 12
  nlm::test::TempDir dir;
  for (std::uint64_t stop = 1; stop < 14; ++stop) {
    CAPTURE(stop);
    Machine<double> first(hp);
    nlm::train(first, data, quiet(14), SaveAt{dir / "c.ckpt", stop});
    // Between updates the state never points past its epoch: 4, 8, 12 are saved as batch 0.
    const auto saved = nlm::read_checkpoint<double>(dir / "c.ckpt");
    CHECK(saved.state.batch == stop % 4);
    CHECK(saved.state.epoch == stop / 4);
    CHECK(saved.state.curve.size() == stop / 4);

    nlm::Hyperparameters other = hp;
    other.seed = 4242;
    Machine<double> second(other);
    auto state = nlm::load_checkpoint(dir / "c.ckpt", second);
    nlm::TrainingCurve curve;
    const auto finished = nlm::train(second, data, quiet(14), state, curve);
    CHECK(same_bits(second.couplings(), straight.couplings()));
    CHECK(same_bits(second.field(), straight.field()));
    CHECK(same_bits(second.persistent_chains(), straight.persistent_chains()));
    CHECK(second.noise().state() == straight.noise().state());
    CHECK(second.initialisation_state() == straight.initialisation_state());
    CHECK(nlm::detail::save_engine(finished.shuffle) == nlm::detail::save_engine(end.shuffle));
    CHECK(same_curve(finished.curve, end.curve));
    CHECK(same_curve(curve.points(), end.curve));  // the callback sees the earlier epochs too
  }
}

TEST_CASE("format 3 files are still read, including one saved at an epoch's end") {
  // Written by nlm at commit 0ba8150 (tests/fixtures/v3_*.ckpt): the plain machine saved from
  // on_update at update 4 (batch 4 of 4, the state that crashed on resume), and an Adam
  // machine with a field and chain restarts at update 6.
  const std::filesystem::path fixtures = NLM_TEST_FIXTURES;
  const auto data = toy_data<double>();
  {
    const auto c = nlm::read_checkpoint<double>(fixtures / "v3_epoch_end.ckpt");
    CHECK(c.version == 3);
    CHECK(c.state.batch == 4);
    Machine<double> straight(small());
    nlm::train(straight, data, quiet(12));
    Machine<double> resumed(small(5));
    auto state = nlm::load_checkpoint(fixtures / "v3_epoch_end.ckpt", resumed);
    state = nlm::train(resumed, data, quiet(12), state);
    CHECK(state.updates == 12);
    CHECK(same_run(resumed.couplings(), straight.couplings()));
    CHECK(same_run(resumed.persistent_chains(), straight.persistent_chains()));
  }
  {
    const nlm::Hyperparameters hp = adam_field_restart();
    Machine<double> straight(hp);
    nlm::train(straight, data, quiet(12));
    Machine<double> resumed(hp);
    auto state = nlm::load_checkpoint(fixtures / "v3_adam_field_restart.ckpt", resumed);
    CHECK(state.updates == 6);
    nlm::train(resumed, data, quiet(12), state);
    CHECK(same_run(resumed.couplings(), straight.couplings()));
    CHECK(same_run(resumed.field(), straight.field()));
    CHECK(same_run(resumed.step_rule().adam().state().couplings.second,
                   straight.step_rule().adam().state().couplings.second));
  }
  // A format 3 file records its scalar size: a double file does not load into a float machine.
  Machine<float> f(small());
  CHECK_THROWS_WITH((void)nlm::load_checkpoint(fixtures / "v3_epoch_end.ckpt", f),
                    ((fixtures / "v3_epoch_end.ckpt").string() +
                     ": the checkpoint was written with scalar = float64, the machine has float32").c_str());
}

TEST_CASE("format 2 files are still read: format 3 without chain_restart") {
  // No format 2 file survives; this one is made from the format 3 fixture by removing the one
  // field format 3 added (chain_restart, a double after Adam's ε: 12 header bytes, the scalar
  // size, 5 counts, 4 reals, 2 flags and 3 reals before it) and resealing it as version 2.
  const std::filesystem::path fixtures = NLM_TEST_FIXTURES;
  std::string body = slurp(fixtures / "v3_epoch_end.ckpt");
  body.resize(body.size() - 16);
  const std::size_t at = 12 + 4 + 5 * 8 + 4 * 8 + 2 + 3 * 8;
  double restart;
  std::memcpy(&restart, body.data() + at, 8);
  REQUIRE(restart == 0.0);
  body.erase(at, 8);
  body[8] = 2;
  const std::uint64_t sum = nlm::detail::fnv1a(body);
  body.append(reinterpret_cast<const char*>(&sum), 8);
  body.append("NLMCKEND", 8);
  nlm::test::TempDir dir;
  {
    std::ofstream out(dir / "v2.ckpt", std::ios::binary);
    out << body;
  }
  const auto c = nlm::read_checkpoint<double>(dir / "v2.ckpt");
  CHECK(c.version == 2);
  CHECK(c.hyperparameters.chain_restart == 0.0);
  const auto data = toy_data<double>();
  Machine<double> straight(small());
  nlm::train(straight, data, quiet(12));
  Machine<double> resumed(small(5));
  auto state = nlm::load_checkpoint(dir / "v2.ckpt", resumed);
  CHECK(state.updates == 4);
  nlm::train(resumed, data, quiet(12), state);
  CHECK(same_run(resumed.couplings(), straight.couplings()));
  CHECK(same_run(resumed.persistent_chains(), straight.persistent_chains()));
}

TEST_CASE("format 4 files are still read: Adam with a field and restarts, parallel tempering") {
  // Written by nlm at commit bb58639 (tests/fixtures/v4_*.ckpt) on OpenBLAS's Prescott kernels:
  // the Adam machine of the format 3 test saved at update 6 of 12, and a float machine with
  // ParallelTempering<EulerMaruyama>(4, 4.0, 4) saved at update 10 of 20. Format 4 kept Adam's
  // moments in a section of nlm's own and the update count in the training section; both
  // reach the machine as format 5 has them.
  const std::filesystem::path fixtures = NLM_TEST_FIXTURES;
  {
    const auto c = nlm::read_checkpoint<double>(fixtures / "v4_adam_field_restart.ckpt");
    CHECK(c.version == 4);
    CHECK(c.machine_updates == 6);
    CHECK(c.state.updates == 6);
    REQUIRE(c.section("adam") != nullptr);
    CHECK(c.section("adam")->payload.size() > 2 * 12 * 12 * 8 + 2 * 12 * 8);  // two 12 x 12 and two 12 moments
    const auto data = toy_data<double>();
    const nlm::Hyperparameters hp = adam_field_restart();
    Machine<double> straight(hp);
    nlm::train(straight, data, quiet(12));
    Machine<double> resumed(hp);
    auto state = nlm::load_checkpoint(fixtures / "v4_adam_field_restart.ckpt", resumed);
    CHECK(resumed.updates() == 6);
    CHECK(resumed.step_rule().adam().state().field.first.size() == 12);
    nlm::train(resumed, data, quiet(12), state);
    CHECK(same_run(resumed.couplings(), straight.couplings(), {"Prescott"}));
    CHECK(same_run(resumed.field(), straight.field(), {"Prescott"}));
    CHECK(same_run(resumed.step_rule().adam().state().couplings.second,
                   straight.step_rule().adam().state().couplings.second, {"Prescott"}));
  }
  {
    using Pt = nlm::ParallelTempering<nlm::EulerMaruyama>;
    using PtMachine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::NoRegularizer, Pt, float>;
    const auto data = toy_data<float>();
    const auto make = [] {
      return PtMachine(small(), nlm::Tanh(), nlm::GaussianNoise(), nlm::NoRegularizer(), Pt(4, 4.0, 4));
    };
    PtMachine straight = make();
    nlm::train(straight, data, quiet(20));
    PtMachine resumed = make();
    auto state = nlm::load_checkpoint(fixtures / "v4_parallel_tempering.ckpt", resumed);
    CHECK(state.updates == 10);
    CHECK(resumed.sampler().replica_states().shape(0) == 4 * 8);
    nlm::train(resumed, data, quiet(20), state);
    // Bit for bit on the kernels that wrote it. Elsewhere float products differ by rounding
    // (~1e-7 relative) carried through 10 updates of 3 steps with dt = 0.05, which barely
    // amplify them: J agrees to far better than 1e-4 of its scale, while a lost, doubled or
    // misread update moves it by k·|M − D| ~ 1e-3 of its scale. The exchanges accepted are
    // equal unless a decision fell within rounding of its threshold (about 200 decisions,
    // each with probability ~1e-6).
    const std::string core = openblas_get_corename();
    if (core == "Prescott") {
      CHECK(same_bits(resumed.couplings(), straight.couplings()));
      CHECK(same_bits(resumed.sampler().replica_states(), straight.sampler().replica_states()));
    } else {
      CHECK(xt::amax(xt::abs(resumed.couplings() - straight.couplings()))() <=
            1e-4f * xt::amax(xt::abs(straight.couplings()))());
    }
    CHECK(resumed.sampler().swap_accepts() == straight.sampler().swap_accepts());
  }
}

TEST_CASE("a checkpoint refuses a machine configured otherwise, naming the field and both values") {
  nlm::test::TempDir dir;
  const auto data = toy_data<double>();
  const auto path = dir / "m.ckpt";
  const std::string f = path.string();
  const auto refused = [&](auto&& machine, const std::string& message) {
    CHECK_THROWS_WITH_AS((void)nlm::load_checkpoint(path, machine), (f + message).c_str(),
                         std::invalid_argument);
  };
  {
    Machine<double, nlm::ScaledTanh> m(small(), nlm::ScaledTanh(1.5), nlm::GaussianNoise(),
                                       nlm::WeightDecay(3e-4));
    nlm::train(m, data, quiet(3), nlm::PeriodicCheckpoint(path));
  }
  const auto hp = small();
  refused(Machine<float, nlm::ScaledTanh>(hp, nlm::ScaledTanh(1.5), nlm::GaussianNoise(), nlm::WeightDecay(3e-4)),
          ": the checkpoint was written with scalar = float64, the machine has float32");
  refused(Machine<double, nlm::ScaledTanh>(hp, nlm::ScaledTanh(1.25), nlm::GaussianNoise(), nlm::WeightDecay(3e-4)),
          ": the checkpoint was written with activation = ScaledTanh(gain=1.5), the machine has "
          "ScaledTanh(gain=1.25)");
  refused(Machine<double>(hp, nlm::Tanh(), nlm::GaussianNoise(), nlm::WeightDecay(3e-4)),
          ": the checkpoint was written with activation = ScaledTanh(gain=1.5), the machine has Tanh");
  refused(Machine<double, nlm::ScaledTanh>(hp, nlm::ScaledTanh(1.5), nlm::GaussianNoise(), nlm::WeightDecay(2e-6)),
          ": the checkpoint was written with regularizer = WeightDecay(lambda=0.0003), the machine "
          "has WeightDecay(lambda=2e-06)");
  refused(Machine<double, nlm::ScaledTanh, nlm::ZeroDiagonal<nlm::WeightDecay>>(
              hp, nlm::ScaledTanh(1.5), nlm::GaussianNoise(), nlm::ZeroDiagonal<nlm::WeightDecay>(nlm::WeightDecay(3e-4))),
          ": the checkpoint was written with regularizer = WeightDecay(lambda=0.0003), the machine "
          "has ZeroDiagonal(WeightDecay(lambda=0.0003))");
  refused(Machine<double, nlm::ScaledTanh, nlm::WeightDecay, nlm::Mala>(
              hp, nlm::ScaledTanh(1.5), nlm::GaussianNoise(), nlm::WeightDecay(3e-4)),
          ": the checkpoint was written with sampler = EulerMaruyama, the machine has Mala");
  nlm::Hyperparameters other = hp;
  other.langevin_steps = 4;
  refused(Machine<double, nlm::ScaledTanh>(other, nlm::ScaledTanh(1.5), nlm::GaussianNoise(), nlm::WeightDecay(3e-4)),
          ": the checkpoint was written with langevin_steps (n_t) = 3, the machine has 4");
  other = hp;
  other.step_rule = nlm::Hyperparameters::StepRule::adam;
  refused(Machine<double, nlm::ScaledTanh>(other, nlm::ScaledTanh(1.5), nlm::GaussianNoise(), nlm::WeightDecay(3e-4)),
          ": the checkpoint was written with step_rule = plain, the machine has adam");
  // The seed and g only shape the initialisation, which the checkpoint replaces.
  other = hp;
  other.seed = 1;
  other.coupling_strength = 0.5;
  Machine<double, nlm::ScaledTanh> fine(other, nlm::ScaledTanh(1.5), nlm::GaussianNoise(), nlm::WeightDecay(3e-4));
  CHECK_NOTHROW((void)nlm::load_checkpoint(path, fine));
  // Every hyperparameter is recorded, the seed included.
  CHECK(nlm::read_checkpoint<double>(path).hyperparameters.seed == 7);
}

TEST_CASE("a resume with other training data is refused with both checksums") {
  nlm::test::TempDir dir;
  const auto data = toy_data<float>();
  Machine<float> m(small());
  nlm::train(m, data, quiet(3), nlm::PeriodicCheckpoint(dir / "d.ckpt"));
  Machine<float> resumed(small());
  auto state = nlm::load_checkpoint(dir / "d.ckpt", resumed);
  CHECK(state.data_images == 23);
  nlm::Matrix<float> changed = data;
  changed(22, 11) += 0.5f;  // one pixel of one image
  try {
    nlm::train(resumed, changed, quiet(6), state);
    FAIL("other data were accepted");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.starts_with("train: the state to resume was trained on other data: data checksum 0x"));
    CHECK(what.ends_with(" for these 23 images"));
  }
  CHECK_THROWS_WITH(nlm::train(resumed, toy_data<float>(5), quiet(6), state),
                    doctest::Contains("trained on other data"));
  CHECK_NOTHROW(nlm::train(resumed, data, quiet(6), state));
}

TEST_CASE("damaged section layouts are refused, never read past their ends") {
  nlm::test::TempDir dir;
  Machine<float> m(small());
  nlm::train(m, toy_data<float>(), quiet(2), nlm::PeriodicCheckpoint(dir / "ok.ckpt"));
  const std::string good = slurp(dir / "ok.ckpt");
  CHECK_NOTHROW(nlm::parse_checkpoint<float>(good, "mem"));
  // Rewrite the body and fix the checksum, so that only the layout is wrong.
  const auto resealed = [](std::string body) {
    const std::uint64_t sum = nlm::detail::fnv1a(body);
    body.append(reinterpret_cast<const char*>(&sum), 8);
    body.append("NLMCKEND", 8);
    return body;
  };
  const std::string body = good.substr(0, good.size() - 16);
  CHECK_THROWS_WITH(nlm::parse_checkpoint<float>(resealed(body.substr(0, 12)), "mem"),
                    "mem: checkpoint has no 'machine' section");
  CHECK_THROWS_WITH(nlm::parse_checkpoint<float>(resealed(body.substr(0, 40)), "mem"),
                    doctest::Contains("mem: section 'machine' announces"));
  std::string versioned = body;
  versioned[8] = 9;
  CHECK_THROWS_WITH(nlm::parse_checkpoint<float>(resealed(versioned), "mem"),
                    "mem: checkpoint format version 9 is not supported (expected 2 to 5)");
  // A section that appears twice.
  const std::uint32_t first_len = *reinterpret_cast<const std::uint32_t*>(body.data() + 12);
  std::uint64_t payload_len;
  std::memcpy(&payload_len, body.data() + 16 + first_len, 8);
  const std::string first_section = body.substr(12, 4 + first_len + 8 + payload_len);
  CHECK_THROWS_WITH(nlm::parse_checkpoint<float>(resealed(body + first_section), "mem"),
                    "mem: section 'machine' appears twice");
}


namespace {
// A sampler with state of its own beyond a random stream: it counts its advance calls and
// keeps the count in a checkpoint section of its own.
struct CountingSampler : nlm::EulerMaruyama {
  std::uint64_t calls = 0;
  std::string name = "counting sampler";
  template <class M, class Observer = nlm::NoObserver>
  void advance(M& model, nlm::Chains<typename M::scalar_type>& chains, std::size_t steps, Observer&& o = {}) {
    ++calls;
    nlm::EulerMaruyama::advance(model, chains, steps, std::forward<Observer>(o));
  }
  std::string describe() const { return "CountingSampler"; }
  std::string section_name() const { return name; }
  void save_section(nlm::io::SectionWriter& out) const { out.put(calls); }
  void load_section(nlm::io::SectionReader& in) { calls = in.get<std::uint64_t>("the call count"); }
};
using Counting = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, CountingSampler, double>;
}  // namespace

TEST_CASE("a part of the machine with state of its own writes and reads its own section") {
  nlm::test::TempDir dir;
  const auto path = dir / "m.ckpt";
  const auto data = toy_data<double>();
  Counting a(small());
  nlm::train(a, data, quiet(5), nlm::PeriodicCheckpoint(path));
  CHECK(a.sampler().calls == 5);
  Counting b(small());
  (void)nlm::load_checkpoint(path, b);
  CHECK(b.sampler().calls == 5);
  const auto c5 = nlm::read_checkpoint<double>(path);
  REQUIRE(c5.section("counting sampler") != nullptr);
  CHECK(c5.section("counting sampler")->payload.size() == 8);
  CHECK(c5.section("adam") != nullptr);  // the default step rule's (empty: plain steps)

  CountingSampler renamed;
  renamed.name = "another name";
  Counting c(small(), nlm::Tanh(), nlm::GaussianNoise(), nlm::WeightDecay(), renamed);
  CHECK_THROWS_WITH_AS((void)nlm::load_checkpoint(path, c),
                       (path.string() + ": the checkpoint has no section 'another name', which the machine's "
                                        "CountingSampler keeps its state in").c_str(),
                       std::runtime_error);
  CHECK(c.couplings() != b.couplings());  // refused before J was touched

  CountingSampler clash;
  clash.name = "chains";
  Counting d(small(), nlm::Tanh(), nlm::GaussianNoise(), nlm::WeightDecay(), clash);
  CHECK_THROWS_WITH_AS(nlm::save_checkpoint(dir / "d.ckpt", d, nlm::initial_training_state(d)),
                       "save_checkpoint: a part of the machine names its section 'chains', which nlm uses itself",
                       std::invalid_argument);
}

}  // TEST_SUITE
