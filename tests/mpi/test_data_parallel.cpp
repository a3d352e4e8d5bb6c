// nlm/distributed on 2 MPI processes (ctest runs it under mpirun -np 2; every process runs every
// case in the same order). argv[1]: a folder for checkpoints (shared by the processes: one host).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlm/distributed.hpp>
#include <nlm/nlm.hpp>

namespace dist = nlm::distributed;
using Machine = nlm::PaperMachine;
using nlm::Matrix;

namespace {

nlm::Hyperparameters small_run() {
  nlm::Hyperparameters hp;
  hp.neurons = 12;
  hp.persistent_chains = 5;  // 3 + 2 chains on 2 processes: the shares are uneven
  hp.batch_size = 7;         // 4 + 3 rows
  hp.langevin_steps = 3;
  hp.temperature = 0.7;
  hp.learning_rate = 1e-2;
  hp.learn_field = true;
  hp.seed = 2026;
  return hp;
}

Matrix<float> dataset(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  Matrix<float> d = Matrix<float>::from_shape({rows, cols});
  nlm::detail::Xoshiro256 rng(seed);
  nlm::detail::fill_normal<float>(rng, std::span<float>(d.data(), d.size()));
  return d;
}

bool same_bits(const Matrix<float>& a, const Matrix<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// `x` of rank 0 on every process.
Matrix<float> from_root(dist::Communicator& comm, const Matrix<float>& x) {
  std::string bytes;
  if (comm.is_root()) bytes.assign(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(float));
  comm.broadcast(bytes);
  Matrix<float> out = Matrix<float>::from_shape({bytes.size() / sizeof(float) / x.shape(1), x.shape(1)});
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

std::filesystem::path work_dir() {
  static const std::filesystem::path dir = [] {
    const char* base = std::getenv("NLM_MPI_TEST_DIR");
    std::filesystem::path d = base ? base : std::filesystem::temp_directory_path() / "nlm-mpi-tests";
    return d;
  }();
  return dir;
}

// Copies of the learning signal after the reduction, the rows of this process's batch.
struct Capture {
  Matrix<float> signal;
  nlm::Vector<float> field;
  std::vector<std::uint64_t> rows;
  std::size_t chains = 0, images = 0;
  template <class M, class Batch>
  void on_batch(M&, Batch&, std::span<const std::uint32_t> r, const nlm::TrainingState&) {
    rows.assign(r.begin(), r.end());
  }
  template <class M, class Signal>
  void on_signal(M&, Signal& s, const nlm::TrainingState&) {
    signal = s.couplings;
    field = s.field;
    chains = s.chains;
    images = s.images;
  }
};

}  // namespace

TEST_SUITE("distributed") {
  TEST_CASE("the partition shares chains and rows as evenly as possible and refuses too few") {
    CHECK(dist::share_of(5, 0, 2) == std::pair<std::size_t, std::size_t>{0, 3});
    CHECK(dist::share_of(5, 1, 2) == std::pair<std::size_t, std::size_t>{3, 2});
    CHECK(dist::share_of(1000, 63, 64) == std::pair<std::size_t, std::size_t>{1000 - 15, 15});
    nlm::Hyperparameters hp = small_run();
    hp.persistent_chains = 1;
    CHECK_THROWS_WITH_AS(dist::Partition::of(hp, 0, 2),
                         "nlm::distributed: persistent_chains (N_model) 1 cannot be shared among 2 processes "
                         "(each needs at least one)",
                         std::invalid_argument);
  }

  TEST_CASE("the all-reduced signal is the single-process signal of all processes' chains and rows") {
    dist::Communicator comm;
    REQUIRE(comm.size() == 2);
    const nlm::Hyperparameters hp = small_run();
    const Matrix<float> data = dataset(40, hp.neurons, 7);
    dist::DataParallel<Machine> run(comm, hp);
    const Matrix<float> j0 = run.machine().couplings();
    const nlm::Vector<float> b0 = run.machine().field();
    Capture capture;
    run.train(data, nlm::TrainingOptions::for_updates(1), capture);
    // Each process's counts; their sum is the run's (the reduction checks it too).
    CHECK(capture.chains == run.partition().chains);
    CHECK(capture.images == run.partition().batch);
    // The chains as they were when the signal was taken (training moves J, not the chains).
    const Matrix<float> chains = run.gather_chains();
    const std::vector<std::uint64_t> rows = comm.gather(std::span<const std::uint64_t>(capture.rows));
    if (!comm.is_root()) return;
    REQUIRE(chains.shape(0) == hp.persistent_chains);
    REQUIRE(rows.size() == hp.batch_size);
    Matrix<float> batch = Matrix<float>::from_shape({rows.size(), hp.neurons});
    for (std::size_t r = 0; r < rows.size(); ++r)
      std::copy_n(data.data() + rows[r] * hp.neurons, hp.neurons, batch.data() + r * hp.neurons);

    Machine single(hp);
    single.set_couplings(j0);
    single.set_field(b0);
    single.set_persistent_chains(chains);
    Matrix<float> m = Matrix<float>::from_shape({hp.neurons, hp.neurons}), d = m;
    single.model_statistics(m);
    single.data_statistics(batch, d);
    nlm::Vector<float> fm, fd;
    single.field_statistics(chains, fm);
    single.field_statistics(batch, fd);

    // Tolerance (float rounding only). Both signals are (1/(T n)) Σ_b R_bi φ_bj with
    // R = b − x + Jφ(x), summed in different orders (two partial sums per process, added)
    // and with R's products taken over different row blocks. With ε = 2⁻²⁴ and
    // γ_k = kε/(1 − kε), a sum of k products is within γ_k Σ|terms| of exact in any order,
    // so each computed R_bi is within γ_{N+2} Σ_k |J_ik φ_bk| (+|b_i| + |x_bi|), and each
    // statistic within [γ_n A_ij + γ_{N+2} C_ij]/(T n) + 2ε|value| (the scaling), where
    // A = Σ_b |R_bi φ_bj| and C = Σ_b (Σ_k |J_ik φ_bk| + |b_i| + |x_bi|) |φ_bj|. The two
    // signals' distance is at most twice that, for M and D each; the field the same with
    // φ_bj replaced by 1. (γ_{n+3} and 4ε: the all-reduce's addition, M − D accumulated in
    // one product, the field's per-row weights.)
    const double eps = std::ldexp(1.0, -24), t = hp.temperature;
    const auto gamma = [&](double k) { return k * eps / (1 - k * eps); };
    const std::size_t n = hp.neurons;
    const auto bound = [&](const Matrix<float>& x, std::size_t i, std::size_t j, bool field) {
      double a = 0, c = 0;
      for (std::size_t r = 0; r < x.shape(0); ++r) {
        double drive = 0, scale = std::abs(double(b0(i))) + std::abs(double(x(r, i)));
        for (std::size_t k = 0; k < n; ++k) {
          const double p = double(j0(i, k)) * std::tanh(double(x(r, k)));
          drive += p;
          scale += std::abs(p);
        }
        const double residual = double(b0(i)) - double(x(r, i)) + drive;
        const double phi = field ? 1.0 : std::abs(std::tanh(double(x(r, j))));
        a += std::abs(residual) * phi;
        c += scale * phi;
      }
      const double rows_n = double(x.shape(0));
      return 2 * ((gamma(rows_n + 3) * a + gamma(double(n + 2)) * c) / (t * rows_n) + 4 * eps * a / (t * rows_n));
    };
    double worst = 0, largest = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const double want = double(m(i, j)) - double(d(i, j));
        const double tol = bound(chains, i, j, false) + bound(batch, i, j, false);
        CHECK(std::abs(double(capture.signal(i, j)) - want) <= tol);
        worst = std::max(worst, tol);
        largest = std::max(largest, std::abs(want));
      }
    for (std::size_t i = 0; i < n; ++i) {
      const double want = double(fm(i)) - double(fd(i));
      CHECK(std::abs(double(capture.field(i)) - want) <= bound(chains, i, 0, true) + bound(batch, i, 0, true));
    }
    // Not vacuous: the bound is small against the signal, and the signal of rank 0's chains
    // alone (what a missing or mis-weighted share would give) is far outside it.
    CHECK(worst < 1e-4 * largest);
    nlm::Hyperparameters own = hp;
    own.persistent_chains = run.partition().chains;
    Machine rank0(own);
    rank0.set_couplings(j0);
    rank0.set_field(b0);
    Matrix<float> first = Matrix<float>::from_shape({own.persistent_chains, n});
    std::copy_n(chains.data(), first.size(), first.data());
    rank0.set_persistent_chains(first);
    Matrix<float> m0 = m;
    rank0.model_statistics(m0);
    double apart = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        apart = std::max(apart, std::abs(double(m0(i, j)) - double(m(i, j))));
    CHECK(apart > 100 * worst);
  }

  TEST_CASE("J and b are the same on both processes after 50 updates") {
    dist::Communicator comm;
    const nlm::Hyperparameters hp = small_run();
    const Matrix<float> data = dataset(40, hp.neurons, 7);
    dist::DataParallel<Machine> run(comm, hp);
    run.set_check_every(10);  // the run itself checks J every 10 updates and at the end
    run.train(data, nlm::TrainingOptions::for_updates(50));
    CHECK(same_bits(from_root(comm, run.machine().couplings()), run.machine().couplings()));
    Matrix<float> b = Matrix<float>::from_shape({1, hp.neurons});
    std::copy_n(run.machine().field().data(), hp.neurons, b.data());
    CHECK(same_bits(from_root(comm, b), b));
    // and they learned something: J moved from its start
    dist::DataParallel<Machine> fresh(comm, hp);
    CHECK_FALSE(same_bits(fresh.machine().couplings(), run.machine().couplings()));
  }

  TEST_CASE("on one process the run is nlm::train's, bit for bit") {
    dist::Communicator self(MPI_COMM_SELF);
    const nlm::Hyperparameters hp = small_run();
    const Matrix<float> data = dataset(40, hp.neurons, 7);
    dist::DataParallel<Machine> run(self, hp);
    run.train(data, nlm::TrainingOptions::for_updates(20));
    Machine plain(hp);
    nlm::train(plain, data, nlm::TrainingOptions::for_updates(20));
    CHECK(same_bits(run.machine().couplings(), plain.couplings()));
    CHECK(same_bits(run.machine().persistent_chains(), plain.persistent_chains()));
  }

  TEST_CASE("a checkpoint of 2 processes resumes bit for bit on 2 and is refused elsewhere") {
    dist::Communicator comm;
    const nlm::Hyperparameters hp = small_run();
    const Matrix<float> data = dataset(40, hp.neurons, 7);
    const std::filesystem::path dir = work_dir(), path = dir / "resume.ckpt";
    if (comm.is_root()) {
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
    }
    comm.barrier();

    dist::DataParallel<Machine> straight(comm, hp);
    straight.train(data, nlm::TrainingOptions::for_updates(30));
    const Matrix<float> chains = straight.gather_chains();

    {
      dist::DataParallel<Machine> first(comm, hp);
      first.train(data, nlm::TrainingOptions::for_updates(13),
                  dist::GatheredCheckpoint<Machine>(first, path, 0));  // saved at the end: update 13
    }
    dist::DataParallel<Machine> resumed(comm, hp);
    nlm::TrainingState state = resumed.load_checkpoint(path);
    CHECK(state.updates == 13);
    state = resumed.train(data, nlm::TrainingOptions::for_updates(30), state);
    CHECK(state.updates == 30);
    CHECK(same_bits(resumed.machine().couplings(), straight.machine().couplings()));
    CHECK(same_bits(resumed.machine().persistent_chains(), straight.machine().persistent_chains()));
    const Matrix<float> resumed_chains = resumed.gather_chains();
    if (comm.is_root()) CHECK(same_bits(resumed_chains, chains));

    // The file holds the run: its hyperparameters and all 5 chains.
    const auto c = nlm::read_checkpoint<float>(path);
    CHECK(c.hyperparameters.persistent_chains == 5);
    CHECK(c.persistent_chains.shape(0) == 5);
    // One process may not resume it, neither through nlm/distributed nor nlm::io.
    dist::Communicator self(MPI_COMM_SELF);
    dist::DataParallel<Machine> alone(self, hp);
    CHECK_THROWS_WITH_AS(alone.load_checkpoint(path),
                         (path.string() + ": the checkpoint was written by 2 processes; this run has 1. Resume it "
                                          "with mpirun -np 2 (a checkpoint resumes on as many processes as wrote it)")
                             .c_str(),
                         dist::distributed_error);
    Machine plain(hp);
    CHECK_THROWS_WITH_AS(nlm::load_checkpoint(path, plain),
                         (path.string() + ": the checkpoint was written by a run on several MPI processes; resume "
                                          "it with nlm::distributed::DataParallel on as many processes (mpirun -np P)")
                             .c_str(),
                         std::runtime_error);
    comm.barrier();  // nobody removes the folder while another reads
  }

  TEST_CASE("sharded generation: rank 0's share is its machine's own sampling, the shares differ") {
    dist::Communicator comm;
    const nlm::Hyperparameters hp = small_run();
    dist::DataParallel<Machine> run(comm, hp);
    const Matrix<float> samples = run.generate(7, 5);  // 4 on rank 0, 3 on rank 1
    if (!comm.is_root()) {
      CHECK(samples.shape(0) == 0);
      return;
    }
    REQUIRE(samples.shape(0) == 7);
    Machine alone(run.partition().local());  // rank 0's machine, without the run around it
    Matrix<float> x = alone.random_states(4);
    alone.sample(x, 5);
    CHECK(std::memcmp(samples.data(), x.data(), x.size() * sizeof(float)) == 0);
    // rank 1's states came from its own streams
    CHECK(std::memcmp(samples.data() + 4 * hp.neurons, x.data(), 3 * hp.neurons * sizeof(float)) != 0);
    for (std::size_t i = 0; i < samples.size(); ++i) REQUIRE(std::isfinite(samples.data()[i]));
  }

  TEST_CASE("different data on the processes are refused on every process") {
    dist::Communicator comm;
    const nlm::Hyperparameters hp = small_run();
    const Matrix<float> data = dataset(40, hp.neurons, comm.rank() == 0 ? 7 : 8);
    dist::DataParallel<Machine> run(comm, hp);
    CHECK_THROWS_WITH_AS(run.train(data, nlm::TrainingOptions::for_updates(1)),
                         "nlm::distributed: the processes were given different training data (40 images here): "
                         "every process needs the whole training set, in the same order",
                         dist::distributed_error);
  }
}
