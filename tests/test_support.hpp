// Shared helpers for the test suite: per-type tolerances and temporary directories.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace nlm::test {

/// Central-difference step: balances truncation O(h²) against rounding O(ε/h).
template <class S>
constexpr double fd_step() {
  return sizeof(S) == 4 ? 1e-2 : 1e-5;
}
/// Relative tolerance for a central difference of an O(1) energy at fd_step: float carries
/// ~1e-7 relative rounding in E, amplified by 1/h = 100; double is far below 1e-6.
template <class S>
constexpr double fd_tolerance() {
  return sizeof(S) == 4 ? 5e-3 : 1e-6;
}

/// A fresh directory removed when the object dies.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("nlm-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace nlm::test
