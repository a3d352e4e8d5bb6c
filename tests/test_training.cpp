#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlm/nlm.hpp>

#include "test_support.hpp"

namespace {

template <class S>
using Machine = nlm::test::TrainingMachine<S>;
using nlm::test::small_hyperparameters;
using nlm::test::toy_data;

template <class S>
bool bit_equal(const nlm::Matrix<S>& a, const nlm::Matrix<S>& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(S)) == 0;
}

// Trains one machine straight through `epochs` epochs, and another that stops after
// `stop_at` updates, checkpoints to `checkpoint` and resumes in a fresh machine built from
// `resume_hp` (another seed: the checkpoint must restore every stream). Returns both.
struct ResumePair {
  Machine<double> straight, resumed;
};
ResumePair straight_and_resumed(const nlm::Hyperparameters& hp, const nlm::Hyperparameters& resume_hp,
                                std::size_t epochs, std::uint64_t stop_at,
                                const std::filesystem::path& checkpoint) {
  const auto data = toy_data<double>();
  nlm::TrainingOptions o = nlm::TrainingOptions::for_epochs(epochs);
  o.handle_signals = false;
  ResumePair r{Machine<double>(hp), Machine<double>(resume_hp)};
  nlm::train(r.straight, data, o);
  Machine<double> first(hp);
  nlm::TrainingOptions part = o;
  part.max_updates = stop_at;
  nlm::train(first, data, part, nlm::PeriodicCheckpoint(checkpoint));
  auto state = nlm::load_checkpoint(checkpoint, r.resumed);
  nlm::train(r.resumed, data, o, state);
  return r;
}

// Raises SIGINT from inside training after a given number of updates.
struct RaiseAt {
  std::uint64_t at;
  template <class M>
  void on_update(const M&, const nlm::TrainingState& s) const {
    if (s.updates == at) std::raise(SIGINT);
  }
};

}  // namespace

TEST_SUITE("training") {

TEST_CASE_TEMPLATE("same seed gives the same run, another seed a different one", S, float, double) {
  const auto data = toy_data<S>();
  const auto run = [&](std::uint64_t seed) {
    Machine<S> m(small_hyperparameters(seed));
    nlm::TrainingOptions o = nlm::TrainingOptions::for_epochs(3);
    o.handle_signals = false;
    const auto state = nlm::train(m, data, o);
    CHECK(state.updates == 12);
    CHECK(m.updates() == 12);
    return m.couplings();
  };
  CHECK(bit_equal<S>(run(1), run(1)));
  CHECK_FALSE(bit_equal<S>(run(1), run(2)));
}

TEST_CASE_TEMPLATE("resuming from a checkpoint reproduces the uninterrupted run bit for bit", S,
                   float, double) {
  const auto data = toy_data<S>();
  nlm::test::TempDir dir;
  nlm::TrainingOptions o = nlm::TrainingOptions::for_epochs(4);
  o.handle_signals = false;

  Machine<S> straight(small_hyperparameters());
  nlm::train(straight, data, o);

  // Stop mid-epoch (update 6 of 16: epoch 2, batch 2), save, then resume in a new machine.
  Machine<S> first(small_hyperparameters());
  nlm::TrainingOptions six = o;
  six.max_updates = 6;
  nlm::PeriodicCheckpoint ckpt(dir / "run.ckpt");
  const auto stopped = nlm::train(first, data, six, ckpt);
  CHECK(stopped.updates == 6);
  CHECK(stopped.batch == 2);
  CHECK(ckpt.saves() == 1);

  Machine<S> resumed(small_hyperparameters(12345));  // the checkpoint restores every stream
  auto state = nlm::load_checkpoint(dir / "run.ckpt", resumed);
  CHECK(state.updates == 6);
  nlm::train(resumed, data, o, state);
  CHECK(resumed.updates() == 16);
  CHECK(bit_equal<S>(resumed.couplings(), straight.couplings()));
  CHECK(bit_equal<S>(resumed.persistent_chains(), straight.persistent_chains()));
}

TEST_CASE("SIGINT saves a checkpoint, throws interrupted, and the run resumes exactly") {
  const auto data = toy_data<float>();
  nlm::test::TempDir dir;
  const auto o = nlm::TrainingOptions::for_epochs(3);

  Machine<float> straight(small_hyperparameters());
  nlm::TrainingOptions quiet = o;
  quiet.handle_signals = false;
  nlm::train(straight, data, quiet);

  const auto disposition = [] {
    const auto h = std::signal(SIGINT, SIG_IGN);
    std::signal(SIGINT, h);
    return h;
  };
  const auto before = disposition();
  Machine<float> m(small_hyperparameters());
  nlm::PeriodicCheckpoint ckpt(dir / "int.ckpt");
  CHECK_THROWS_AS(nlm::train(m, data, o, RaiseAt{5}, ckpt), nlm::interrupted);
  CHECK(ckpt.saves() == 1);
  const bool restored = disposition() == before;  // the caller's handler is back in place
  CHECK(restored);

  Machine<float> resumed(small_hyperparameters());
  auto state = nlm::load_checkpoint(dir / "int.ckpt", resumed);
  CHECK(state.updates == 5);
  nlm::train(resumed, data, quiet, state);
  CHECK(bit_equal<float>(resumed.couplings(), straight.couplings()));
}

TEST_CASE("damaged checkpoints are rejected with the file's name") {
  const auto data = toy_data<float>();
  nlm::test::TempDir dir;
  Machine<float> m(small_hyperparameters());
  nlm::TrainingOptions o = nlm::TrainingOptions::for_updates(2);
  o.handle_signals = false;
  const auto state = nlm::train(m, data, o);
  const auto path = dir / "a.ckpt";
  nlm::save_checkpoint(path, m, state);
  const auto size = std::filesystem::file_size(path);
  std::string bytes(size, '\0');
  std::ifstream(path, std::ios::binary).read(bytes.data(), std::streamsize(size));

  const auto write = [&](const std::string& b) {
    std::ofstream(dir / "bad.ckpt", std::ios::binary | std::ios::trunc)
        .write(b.data(), std::streamsize(b.size()));
    return dir / "bad.ckpt";
  };
  const std::string bad = (dir / "bad.ckpt").string();
  CHECK_THROWS_WITH(nlm::load_checkpoint(write(bytes.substr(0, size / 2)), m),
                    (bad + ": checkpoint is truncated (no end marker)").c_str());
  std::string flipped = bytes;
  flipped[size / 2] ^= 0x10;
  CHECK_THROWS_WITH(nlm::load_checkpoint(write(flipped), m),
                    (bad + ": checkpoint is corrupt (checksum mismatch)").c_str());
  CHECK_THROWS_WITH(nlm::load_checkpoint(write("hello, world, this is not it"), m),
                    (bad + ": not an nlm checkpoint (bad magic)").c_str());
  CHECK_THROWS_WITH(nlm::load_checkpoint(dir / "missing.ckpt", m),
                    ((dir / "missing.ckpt").string() + ": cannot open checkpoint for reading").c_str());

  nlm::Hyperparameters other = small_hyperparameters();
  other.time_step = 0.02;
  Machine<float> different(other);
  CHECK_THROWS_WITH(nlm::load_checkpoint(path, different),
                    (path.string() + ": the checkpoint was written with time_step (dt) = 0.050000000000000003, the machine has 0.02").c_str());
  // A failed save leaves the previous checkpoint intact.
  CHECK_THROWS(nlm::save_checkpoint(dir / "nowhere" / "x.ckpt", m, state));
  CHECK(std::filesystem::file_size(path) == size);
}

TEST_CASE("training rejects bad data with a sentence") {
  Machine<float> m(small_hyperparameters());
  nlm::TrainingOptions o = nlm::TrainingOptions::for_updates(1);
  o.handle_signals = false;
  CHECK_THROWS_WITH(nlm::train(m, nlm::Matrix<float>::from_shape({3, 12}), o),
                    "train: batch_size (b_size) 5 exceeds the 3 training images");
  CHECK_THROWS_WITH(nlm::train(m, nlm::Matrix<float>::from_shape({10, 11}), o),
                    "train: the data have 11 columns, the machine has 12 neurons");
  nlm::Matrix<float> d = toy_data<float>();
  d(4, 3) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(nlm::train(m, d, o),
                    "train: the data contain a non-finite value (image 4, pixel 3)");
}

TEST_CASE("a diverging run stops with numerical_error and keeps the last good couplings") {
  nlm::Hyperparameters hp = small_hyperparameters();
  hp.time_step = 3.0;  // explicit Euler far beyond stability: the chains blow up
  hp.coupling_strength = 6.0;
  Machine<float> m(hp);
  const auto data = toy_data<float>();
  nlm::TrainingOptions o = nlm::TrainingOptions::for_updates(200);
  o.handle_signals = false;
  nlm::Matrix<float> before;
  struct Keep {
    nlm::Matrix<float>* out;
    void on_update(const Machine<float>& mm, const nlm::TrainingState&) const { *out = mm.couplings(); }
  };
  REQUIRE_THROWS_AS(nlm::train(m, data, o, Keep{&before}, nlm::StopOnNonFinite()), nlm::numerical_error);
  for (const float v : m.couplings()) REQUIRE(std::isfinite(v));
  if (before.size() != 0) CHECK(bit_equal<float>(before, m.couplings()));
}

TEST_CASE("the training curve records one point per epoch") {
  const auto data = toy_data<double>();
  Machine<double> m(small_hyperparameters());
  nlm::TrainingCurve curve;
  nlm::TrainingOptions o = nlm::TrainingOptions::for_epochs(3);
  o.handle_signals = false;
  std::ostringstream progress;
  nlm::train(m, data, o, curve, nlm::ProgressBar(progress));
  REQUIRE(curve.points().size() == 3);
  CHECK(curve.points()[2].epoch == 3);
  CHECK(curve.points()[2].updates == 12);
  CHECK(curve.points()[0].signal_mean_square > 0);
  CHECK(progress.str().find("12/12") != std::string::npos);
}

}  // TEST_SUITE

TEST_CASE("a learned field is checkpointed and resumes exactly") {
  nlm::test::TempDir dir;
  nlm::Hyperparameters hp = small_hyperparameters();
  hp.learn_field = true;
  const auto r = straight_and_resumed(hp, hp, 2, 3, dir / "f.ckpt");
  CHECK(xt::amax(xt::abs(r.straight.field()))() > 0.0);
  CHECK(bit_equal<double>(r.resumed.couplings(), r.straight.couplings()));
  CHECK(std::memcmp(r.resumed.field().data(), r.straight.field().data(), 12 * sizeof(double)) == 0);

  nlm::Hyperparameters plain = small_hyperparameters();
  Machine<double> without(plain);
  CHECK_THROWS_WITH(nlm::load_checkpoint(dir / "f.ckpt", without),
                    ((dir / "f.ckpt").string() + ": the checkpoint was written with learn_field = 1, the machine has 0").c_str());
}

TEST_CASE("Adam steps: first update moves every coupling by about k, and resumes exactly") {
  const auto data = toy_data<double>();
  nlm::test::TempDir dir;
  nlm::Hyperparameters hp = small_hyperparameters();
  hp.step_rule = nlm::Hyperparameters::StepRule::adam;
  hp.learn_field = true;
  // At t = 1 the bias-corrected moments are g and g², so the step is k·g/(|g| + ε) ≈ k·sign(g)
  // (plus the weight decay term λJ).
  nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::NoRegularizer, nlm::EulerMaruyama, double> one(hp);
  const auto j0 = one.couplings();
  nlm::Matrix<double> batch = xt::view(data, xt::range(0, 5), xt::all());
  one.update(batch);
  const auto& g = one.signal();
  for (std::size_t i = 0; i < j0.size(); ++i) {
    const double expected = -hp.learning_rate * g.data()[i] / (std::abs(g.data()[i]) + hp.adam_epsilon);
    CHECK(one.couplings().data()[i] - j0.data()[i] == doctest::Approx(expected).epsilon(1e-9));
  }

  const auto r = straight_and_resumed(hp, hp, 2, 3, dir / "adam.ckpt");
  CHECK(bit_equal<double>(r.resumed.couplings(), r.straight.couplings()));
  CHECK(std::memcmp(r.resumed.field().data(), r.straight.field().data(), 12 * sizeof(double)) == 0);
}

TEST_SUITE("training") {

TEST_CASE("annealing scales k by 1, then linearly down over the last fraction of the run") {
  nlm::TrainingOptions o = nlm::TrainingOptions::for_updates(10);
  o.anneal_fraction = 0.3;  // the last 3 of 10 updates: 3/4, 2/4, 1/4
  const double expected[10] = {1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25};
  for (std::uint64_t t = 1; t <= 10; ++t) CHECK(o.learning_rate_scale(t, 10) == expected[t - 1]);
  o.anneal_fraction = 0;
  CHECK(o.learning_rate_scale(10, 10) == 1.0);

  // In a run, every update uses its scale (recorded after it) and the machine is left at 1.
  Machine<double> m(small_hyperparameters());
  const auto data = toy_data<double>();
  nlm::TrainingOptions run = nlm::TrainingOptions::for_updates(4);
  run.anneal_fraction = 0.5;
  std::vector<double> seen;
  struct Record {
    std::vector<double>* seen;
    void on_update(const Machine<double>& mm, const nlm::TrainingState&) {
      seen->push_back(mm.learning_rate_scale());
    }
  };
  nlm::train(m, data, run, Record{&seen});
  CHECK(seen == std::vector<double>{1, 1, 2.0 / 3, 1.0 / 3});
  CHECK(m.learning_rate_scale() == 1.0);

  // A scaled update is the plain step with k scaled: same chains, same data, J moves by s·k(M − D).
  Machine<double> a(small_hyperparameters()), b(small_hyperparameters());
  const nlm::Matrix<double> batch = xt::view(data, xt::range(0, 5), xt::all());
  b.set_learning_rate_scale(0.25);
  const nlm::Matrix<double> j0 = a.couplings();
  a.update(batch);
  b.update(batch);
  const nlm::Matrix<double> da = a.couplings() - j0, db = b.couplings() - j0;
  const nlm::Matrix<double> expected_db = 0.25 * da + 0.75 * (-a.regularizer().lambda() * j0);
  // The differences are of couplings of size |J0|: rounding leaves a few ulp of |J0|.
  const double ulp_j = 1e-16 * double(xt::amax(xt::abs(j0))());
  for (std::size_t i = 0; i < da.size(); ++i)
    CHECK(std::abs(db.data()[i] - expected_db.data()[i]) <= 16 * ulp_j);

  run.anneal_fraction = 1.5;
  CHECK_THROWS_WITH_AS(nlm::train(m, data, run), "train: anneal_fraction must be in [0, 1], got 1.500000",
                       std::invalid_argument);
}

TEST_CASE_TEMPLATE("fit_field zeroes the data's mean residual", S, float, double) {
  Machine<S> m(small_hyperparameters());
  const auto data = toy_data<S>();
  m.fit_field(data);
  nlm::Vector<S> mean_residual;
  m.field_statistics(data, mean_residual);  // (1/T) ⟨x − Jφ − b⟩
  for (std::size_t i = 0; i < mean_residual.size(); ++i)
    CHECK(double(mean_residual(i)) == doctest::Approx(0.0).scale(1.0).epsilon(1e-5));
  CHECK(xt::any(xt::not_equal(m.field(), S(0))));
}

}  // TEST_SUITE

TEST_SUITE("training") {

TEST_CASE("chain restarts put the chosen fraction of persistent chains back at N(0, I)") {
  // Chains parked at x = 5 barely move in one step of dt = 1e-6 (noise sd 1.4e-3), so after an
  // update a chain is either still at 5 (kept) or a fresh N(0, 1) draw (restarted).
  const auto run = [](double fraction) {
    nlm::Hyperparameters hp = small_hyperparameters(3);
    hp.persistent_chains = 4000;
    hp.langevin_steps = 1;
    hp.time_step = 1e-6;
    hp.chain_restart = fraction;
    Machine<double> m(hp);
    m.set_persistent_chains(nlm::Matrix<double>(xt::ones<double>({std::size_t(4000), std::size_t(12)}) * 5.0));
    m.update(xt::view(toy_data<double>(), xt::range(0, 5), xt::all()));
    return nlm::Matrix<double>(m.persistent_chains());
  };
  const auto count_restarted = [](const nlm::Matrix<double>& c) {
    std::size_t restarted = 0;
    for (std::size_t r = 0; r < c.shape(0); ++r) {
      std::size_t moved = 0;
      for (std::size_t j = 0; j < c.shape(1); ++j) moved += std::abs(c(r, j) - 5.0) > 0.05;
      CHECK((moved == 0 || moved == c.shape(1)));  // a chain restarts whole or not at all
      restarted += moved == c.shape(1);
    }
    return restarted;
  };
  CHECK(count_restarted(run(0.0)) == 0);
  const auto all = run(1.0);
  CHECK(count_restarted(all) == 4000);
  // 48 000 fresh values: mean 0 and variance 1 within 5 standard errors.
  const double n = double(all.size()), mean = xt::mean(all)(), var = xt::variance(all)();
  CHECK(std::abs(mean) < 5 / std::sqrt(n));
  CHECK(std::abs(var - 1) < 5 * std::sqrt(2 / n));
  // A quarter: binomial(4000, 0.25), standard deviation 27.4.
  CHECK(std::abs(double(count_restarted(run(0.25))) - 1000) < 5 * 27.4);

  nlm::Hyperparameters bad = small_hyperparameters();
  bad.chain_restart = 1.5;
  CHECK_THROWS_WITH_AS(Machine<double>{bad}, "Hyperparameters: chain_restart must be in [0, 1], got 1.5",
                       std::invalid_argument);
}

TEST_CASE("a run with chain restarts resumes from its checkpoint bit for bit") {
  const auto data = toy_data<double>();
  nlm::test::TempDir dir;
  nlm::Hyperparameters hp = small_hyperparameters();
  hp.chain_restart = 0.3;
  nlm::Hyperparameters other_seed = hp;
  other_seed.seed = 12345;
  const auto r = straight_and_resumed(hp, other_seed, 4, 6, dir / "restart.ckpt");
  CHECK(bit_equal<double>(r.resumed.couplings(), r.straight.couplings()));
  CHECK(bit_equal<double>(r.resumed.persistent_chains(), r.straight.persistent_chains()));

  // Restarts change the run, and a checkpoint does not resume into a machine without them.
  Machine<double> plain(small_hyperparameters());
  nlm::train(plain, data, nlm::TrainingOptions::for_epochs(4));
  CHECK_FALSE(bit_equal<double>(plain.couplings(), r.straight.couplings()));
  Machine<double> other(small_hyperparameters());
  CHECK_THROWS_WITH_AS(nlm::load_checkpoint(dir / "restart.ckpt", other),
                       ((dir / "restart.ckpt").string() +
                        ": the checkpoint was written with chain_restart = 0.29999999999999999, the "
                        "machine has 0").c_str(),
                       std::invalid_argument);
}

}  // TEST_SUITE

TEST_SUITE("training") {

TEST_CASE("the learning seam: on_signal sees M - D, on_step the step J is about to take") {
  const auto data = toy_data<double>();
  nlm::Hyperparameters hp = small_hyperparameters();
  hp.learn_field = true;
  // The seam's parts give the same bits as update(), hooks or not.
  Machine<double> plain(hp), hooked(hp);
  nlm::TrainingOptions o = nlm::TrainingOptions::for_updates(6);
  o.handle_signals = false;
  nlm::train(plain, data, o);
  struct Probe {
    std::size_t signals = 0, steps = 0;
    double worst = 0;  // |J_before − step − J_after| after the step is applied
    nlm::Matrix<double> before, step;
    void on_signal(Machine<double>& m, Machine<double>::LearningSignal& g, const nlm::TrainingState&) {
      ++signals;
      CHECK(g.chains == 8);
      CHECK(g.images == 5);
      CHECK(&g.couplings == &m.signal());  // the machine's own buffer, not a copy
    }
    void on_step(const Machine<double>& m, const nlm::Matrix<double>& s, const nlm::TrainingState&) {
      ++steps;
      before = m.couplings();
      step = s;
    }
    void on_update(const Machine<double>& m, const nlm::TrainingState&) {
      for (std::size_t i = 0; i < step.size(); ++i)
        worst = std::max(worst, std::abs(before.data()[i] - step.data()[i] - m.couplings().data()[i]));
    }
  } probe;
  nlm::train(hooked, data, o, probe);
  CHECK(probe.signals == 6);
  CHECK(probe.steps == 6);
  CHECK(probe.worst == 0.0);
  CHECK(bit_equal<double>(hooked.couplings(), plain.couplings()));

  // A reduction may change the signal: doubling it with k halved gives the same plain steps.
  struct Double {
    void on_signal(Machine<double>&, Machine<double>::LearningSignal& g, const nlm::TrainingState&) const {
      g.couplings *= 2.0;
      g.field *= 2.0;
    }
  };
  nlm::Hyperparameters half = hp;
  half.learning_rate = hp.learning_rate / 2;
  Machine<double> doubled(half);
  nlm::train(doubled, data, o, Double{});
  // (k/2)·(2g) = k·g exactly: scaling by powers of two is exact in binary floating point.
  CHECK(bit_equal<double>(doubled.couplings(), plain.couplings()));
  CHECK(std::memcmp(doubled.field().data(), plain.field().data(), 12 * sizeof(double)) == 0);
}

}  // TEST_SUITE
