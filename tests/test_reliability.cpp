// Sizes that cannot be right are refused before allocation; a write stopped by the file-size
// limit or by a crash leaves no temporary behind.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlm/data/idx.hpp>
#include <nlm/nlm.hpp>

#include "test_support.hpp"

TEST_SUITE("reliability") {

TEST_CASE("a machine refuses sizes whose product overflows or that no memory could hold") {
  nlm::Hyperparameters hp;
  hp.persistent_chains = std::size_t(1) << 62;  // 784 x 2^62 wraps to 0 in 64 bits
  CHECK_THROWS_WITH_AS(nlm::PaperMachine{hp},
                       "LangevinMachine: N = 784, N_model = 4611686018427387904: 4611686018427387904 x "
                       "784 elements overflow the address space",
                       std::invalid_argument);
  hp.persistent_chains = 1000;
  hp.neurons = std::size_t(1) << 33;
  CHECK_THROWS_WITH_AS(nlm::PaperMachine{hp},
                       "LangevinMachine: N = 8589934592 couplings: 8589934592 x 8589934592 elements "
                       "overflow the address space",
                       std::invalid_argument);
  hp.neurons = 784;
  hp.persistent_chains = 1'000'000'000;  // 3.1 TB of states alone
  try {
    nlm::PaperMachine m(hp);
    FAIL("a machine of terabytes was built");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.starts_with("LangevinMachine: N = 784, N_model = 1000000000 and b_size = 1000 need at least "));
    CHECK(what.ends_with(" of memory here"));
  }
  hp.persistent_chains = 4;
  hp.batch_size = 4;
  nlm::PaperMachine m(hp);
  CHECK_THROWS_WITH(m.random_states(std::size_t(1) << 62),
                    "LangevinMachine::random_states: 4611686018427387904 x 784 elements overflow the "
                    "address space");
  CHECK(nlm::detail::show_bytes(18.8e12) == "18.8 TB");
  CHECK(nlm::detail::show_bytes(512) == "512 bytes");
}

TEST_CASE("a write past the file-size limit fails with EFBIG and leaves no temporary file") {
  // In a child process: the limit (ulimit -f) and SIGXFSZ must not touch the test runner.
  nlm::test::TempDir dir;
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    rlimit limit{};
    ::getrlimit(RLIMIT_FSIZE, &limit);
    limit.rlim_cur = 100000;  // bytes
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::string message = "no error";
    try {
      nlm::io::write_atomically(dir / "big.bin", [](std::ostream& out) {
        const std::string block(1 << 16, 'x');
        for (int i = 0; i < 8; ++i) out.write(block.data(), std::streamsize(block.size()));
      });
    } catch (const std::exception& e) {
      message = e.what();
    }
    (void)!::write(pipe_fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) message.append(buf, std::size_t(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE_MESSAGE(WIFEXITED(status), "the writer was killed by signal ", WTERMSIG(status));
  CHECK(message.starts_with((dir / "big.bin").string() + ": cannot write " + (dir / "big.bin").string() + ".tmp."));
  CHECK(message.ends_with(": File too large"));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 0);
}

TEST_CASE("a successful write removes temporaries of processes that died mid-write, no others") {
  nlm::test::TempDir dir;
  // A pid that exists for certain (ours is skipped, 1 is init) and one that does not.
  const pid_t dead = [] {
    const pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    ::waitpid(p, nullptr, 0);
    return p;
  }();
  const auto touch = [&](const std::string& name) { std::ofstream(dir / name) << "partial"; };
  touch("c.nlm.tmp." + std::to_string(dead) + ".0");
  touch("c.nlm.tmp." + std::to_string(dead) + ".7");
  touch("c.nlm.tmp.1.0");                                   // a live process's write
  touch("c.nlm.tmp." + std::to_string(::getpid()) + ".99");  // this process's own
  touch("c.nlm.tmp.notapid.0");
  touch("other.nlm.tmp." + std::to_string(dead) + ".0");  // another target's
  nlm::io::write_atomically(dir / "c.nlm", [](std::ostream& out) { out << "whole"; });
  CHECK_FALSE(std::filesystem::exists(dir / ("c.nlm.tmp." + std::to_string(dead) + ".0")));
  CHECK_FALSE(std::filesystem::exists(dir / ("c.nlm.tmp." + std::to_string(dead) + ".7")));
  CHECK(std::filesystem::exists(dir / "c.nlm.tmp.1.0"));
  CHECK(std::filesystem::exists(dir / ("c.nlm.tmp." + std::to_string(::getpid()) + ".99")));
  CHECK(std::filesystem::exists(dir / "c.nlm.tmp.notapid.0"));
  CHECK(std::filesystem::exists(dir / ("other.nlm.tmp." + std::to_string(dead) + ".0")));
}

TEST_CASE("IDX bytes in memory read as the same files do, errors included") {
  // The in-memory entry point (used by the fuzz target) against every IDX fixture.
  const std::filesystem::path fixtures = std::filesystem::path(NLM_TEST_FIXTURES) / "idx";
  int compared = 0;
  for (const auto& e : std::filesystem::directory_iterator(fixtures)) {
    if (e.path().extension() == ".py") continue;
    CAPTURE(e.path().filename().string());
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string name = e.path().string();
    const auto outcome = [&](auto&& read) -> std::string {
      try {
        return "ok " + std::to_string(read());
      } catch (const nlm::data::idx_error& x) {
        return x.what();
      }
    };
    // Successes must agree exactly; a damaged file must fail from memory too (zlib reading
    // ahead may meet a bad CRC before the header check that the in-memory reader makes first).
    const auto agree = [&](const std::string& file, const std::string& memory) {
      if (file.starts_with("ok ")) CHECK(memory == file);
      else CHECK(memory.starts_with(name + ": "));
    };
    agree(outcome([&] { return nlm::data::read_idx_images(e.path()).pixels.size(); }),
          outcome([&] { return nlm::data::read_idx_images(bytes, name).pixels.size(); }));
    agree(outcome([&] { return nlm::data::read_idx_labels(e.path()).size(); }),
          outcome([&] { return nlm::data::read_idx_labels(bytes, name).size(); }));
    ++compared;
  }
  CHECK(compared >= 15);
}

}  // TEST_SUITE
