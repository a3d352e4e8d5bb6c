// Fault-injection suite: kills fault_child at a fixed list of points (every update, so every
// epoch boundary; after each checkpoint; at each step of writing a checkpoint, the final one
// included; SIGINT at every update; kills in a row), resumes it until it finishes, and
// requires its final state (couplings, field, chains, Adam moments, every generator state,
// counters, shuffle and training curve: the whole final checkpoint) to equal an
// uninterrupted run's byte for byte. Also requires that no temporary file is left behind
// once a later write has succeeded.
//
//   fault_driver PATH/TO/fault_child WORK_DIR
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string child_path;

// Runs the child; returns its exit status, or 1000 + signal number if a signal ended it.
int run(const fs::path& dir, const std::string& mode, unsigned at) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string d = dir.string(), a = std::to_string(at);
    ::execl(child_path.c_str(), child_path.c_str(), d.c_str(), mode.c_str(), a.c_str(), (char*)nullptr);
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? 1000 + WTERMSIG(status) : WEXITSTATUS(status);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Fault {
  std::string mode;
  unsigned at;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fault_driver FAULT_CHILD WORK_DIR\n");
    return 2;
  }
  child_path = argv[1];
  const fs::path work = argv[2];
  fs::remove_all(work);
  fs::create_directories(work / "reference");
  if (const int rc = run(work / "reference", "none", 0); rc != 0) {
    std::fprintf(stderr, "the uninterrupted run failed (status %d)\n", rc);
    return 1;
  }
  const std::string reference = slurp(work / "reference" / "final.nlm");

  // Each scenario: the faults in order, then a run to the end.
  std::vector<std::vector<Fault>> scenarios;
  for (unsigned u = 1; u < 20; ++u) scenarios.push_back({{"after-update", u}});  // every update
  for (unsigned u : {3u, 6u, 9u, 12u, 15u, 18u}) scenarios.push_back({{"after-save", u}});
  for (const char* step : {"half-written", "written", "synced", "renamed"})
    for (unsigned u : {3u, 6u, 9u, 12u, 15u, 18u, 20u}) scenarios.push_back({{step, u}});
  for (unsigned u = 1; u < 20; ++u) scenarios.push_back({{"sigint", u}});
  scenarios.push_back({{"after-update", 5}, {"half-written", 9}, {"after-update", 17}});
  scenarios.push_back({{"sigint", 4}, {"written", 12}, {"sigint", 16}});
  scenarios.push_back({{"half-written", 3}, {"half-written", 6}, {"synced", 12}, {"renamed", 20}});

  unsigned points = 0, kills = 0, interrupts = 0, passed = 0, failed = 0;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const fs::path dir = work / ("scenario-" + std::to_string(i));
    fs::create_directories(dir);
    std::string label, problem;
    for (const auto& f : scenarios[i]) {
      label += f.mode + "@" + std::to_string(f.at) + " ";
      ++points;
      const int rc = run(dir, f.mode, f.at);
      const int expected = f.mode == "sigint" ? 130 : 1000 + SIGKILL;
      (f.mode == "sigint" ? interrupts : kills) += 1;
      if (rc != expected && problem.empty())
        problem = f.mode + "@" + std::to_string(f.at) + " ended with status " + std::to_string(rc) +
                  ", expected " + std::to_string(expected);
    }
    if (problem.empty()) {
      if (const int rc = run(dir, "none", 0); rc != 0)
        problem = "the resumed run failed with status " + std::to_string(rc);
      else if (slurp(dir / "final.nlm") != reference)
        problem = "the resumed run's final state differs from the uninterrupted run's";
      else
        for (const auto& e : fs::directory_iterator(dir))
          if (e.path().filename().string().find(".tmp.") != std::string::npos)
            problem = "temporary file left behind: " + e.path().filename().string();
    }
    if (problem.empty()) {
      ++passed;
      fs::remove_all(dir);
    } else {
      ++failed;
      std::printf("FAILED %s: %s (files kept in %s)\n", label.c_str(), problem.c_str(), dir.c_str());
    }
  }
  std::printf("fault injection: %u kill points (%u SIGKILL, %u SIGINT) in %zu scenarios\n", points,
              kills, interrupts, scenarios.size());
  std::printf("%u passed, %u failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
