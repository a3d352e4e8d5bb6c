/// @file progress_bar.hpp
/// @brief A progress line with ETA: epoch, a bar over the whole run, updates, the epoch's mean
/// learning-signal square, elapsed time.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

#include <unistd.h>

#include "../training_state.hpp"

namespace nlm {

namespace detail {

inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
  return buf;
}

}  // namespace detail

/// One line, redrawn at most a few times a second: epoch, a bar over the whole run, updates,
/// the epoch's mean of the learning signal's mean square (langevin_machine.hpp), elapsed time and ETA. A
/// summary line is kept at the end of every `epoch_lines`-th epoch. When the stream is not a
/// terminal (a log file, CI) only those summary lines are written.
class ProgressBar {
 public:
  explicit ProgressBar(std::ostream& out = std::cerr, std::size_t width = 30,
                       std::size_t epoch_lines = 1)
      : out_(&out),
        width_(width),
        epoch_lines_(epoch_lines == 0 ? 1 : epoch_lines),
        interactive_((&out == &std::cerr && ::isatty(2)) || (&out == &std::cout && ::isatty(1))) {}

  template <class M>
  void on_begin(const M&, const TrainingState& s) {
    start_ = clock::now();
    first_update_ = s.updates;
    last_draw_ = {};
  }
  template <class M>
  void on_update(const M&, const TrainingState& s) {
    if (!interactive_) return;
    const auto now = clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(200) && s.updates != s.planned_updates) return;
    last_draw_ = now;
    draw(s, now);
  }
  template <class M>
  void on_epoch_end(const M&, const TrainingState& s) {
    if (s.epoch % epoch_lines_ != 0) return;  // s.epoch: epochs completed
    draw(s, clock::now());
    *out_ << '\n' << std::flush;
    drawn_epoch_ = s.updates;
  }
  template <class M>
  void on_end(const M&, const TrainingState& s) {
    if (drawn_epoch_ == s.updates) return;  // the epoch line already shows the end
    draw(s, clock::now());
    *out_ << '\n' << std::flush;
  }

 private:
  using clock = std::chrono::steady_clock;
  void draw(const TrainingState& s, clock::time_point now) {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double done = double(s.updates - first_update_);
    const double left = double(s.planned_updates - s.updates);
    const double eta = done > 0 ? elapsed / done * left : NAN;
    const double frac = s.planned_updates ? double(s.updates) / double(s.planned_updates) : 0;
    const auto filled = static_cast<std::size_t>(frac * double(width_));
    std::string bar(width_, ' ');
    for (std::size_t i = 0; i < filled && i < width_; ++i) bar[i] = '=';
    if (filled < width_) bar[filled] = '>';
    char line[256];
    std::snprintf(line, sizeof line, "%sepoch %zu [%s] %llu/%llu  signal ms %.3e  %s elapsed  ETA %s ",
                  interactive_ ? "\r" : "", s.epoch + (s.batch == 0 && s.updates > 0 ? 0 : 1), bar.c_str(),
                  static_cast<unsigned long long>(s.updates),
                  static_cast<unsigned long long>(s.planned_updates), s.epoch_signal_mean_square(),
                  detail::format_duration(elapsed).c_str(), detail::format_duration(eta).c_str());
    *out_ << line << std::flush;
  }

  std::ostream* out_;
  std::size_t width_;
  std::size_t epoch_lines_;
  bool interactive_;
  std::uint64_t drawn_epoch_ = ~std::uint64_t{0};
  clock::time_point start_{};
  clock::time_point last_draw_{};
  std::uint64_t first_update_ = 0;
};

}  // namespace nlm
