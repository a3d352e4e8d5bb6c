// mnist_train --update-stats DIR: the histograms of |ΔJ| (and of |M − D|) per window of
// updates, their power-law tail fits, one log-log picture per window and one line per window.
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlm/analysis/power_law.hpp>
#include <nlm/training/callbacks/update_statistics.hpp>
#include <nlm_examples/picture.hpp>

#include "mnist_common.hpp"

namespace nlm::examples {

/// Histogram density (per unit |x|, over the non-zero values) at the bins' geometric centres.
inline Series histogram_density(const LogHistogram& h, const std::string& name) {
  std::uint64_t binned = 0;
  for (const auto c : h.counts()) binned += c;
  Series s{name, {}, {}};
  for (std::size_t i = 0; i < h.counts().size(); ++i) {
    if (h.counts()[i] == 0) continue;
    const double lo = h.edges()[i], hi = h.edges()[i + 1];
    s.xs.push_back(std::log10(std::sqrt(lo * hi)));
    s.ys.push_back(double(h.counts()[i]) / double(binned) / (hi - lo));
  }
  return s;
}

/// The fitted tail's density n_tail/n · (α − 1)/x_min · (x/x_min)^−α over the histogram's range.
inline Series tail_density(const PowerLawFit& f, const Series& over, const std::string& name) {
  Series s{name, {}, {}};
  s.line_width = 1.5;
  for (const double lx : over.xs) {
    const double x = std::pow(10.0, lx);
    if (x < f.xmin) continue;
    s.xs.push_back(lx);
    s.ys.push_back(double(f.n_tail) / double(f.n) * (f.alpha - 1) / f.xmin * std::pow(x / f.xmin, -f.alpha));
  }
  return s;
}

inline std::string fit_line(const PowerLawFit& f) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "alpha %.3f ± %.3f, xmin %.3g, tail %zu/%zu over %.1f decades, p %.2f, R_exp %.1f (p %.2g), R_lognormal %.1f (p %.2g): %s",
                f.alpha, f.alpha_se, f.xmin, f.n_tail, f.n, f.decades, f.p_value, f.vs_exponential.r, f.vs_exponential.p,
                f.vs_lognormal.r, f.vs_lognormal.p, f.verdict().c_str());
  return buf;
}

/// Writes the files of `stats` under `dir` and prints one line per window of steps.
inline void report_update_statistics(const std::filesystem::path& dir, const UpdateStatistics& stats,
                                     std::size_t bootstrap, std::uint64_t seed) {
  save_update_windows(dir, stats.step_windows(), "");
  if (!stats.signal_windows().empty()) save_update_windows(dir, stats.signal_windows(), "signal_");
  std::string csv =
      "window,quantity,updates,alpha,alpha_se,xmin,ks,n_tail,n,decades,p_value,r_exponential,p_exponential,r_lognormal,"
      "p_lognormal,verdict\n";
  PowerLawOptions o;
  o.bootstrap = bootstrap;
  o.seed = seed;
  const auto fit_of = [&](const UpdateWindow& w, const char* quantity) {
    const PowerLawFit f = fit_power_law(w.sample, o);
    char row[400];
    std::snprintf(row, sizeof row, "%s,%s,%llu,%.6g,%.6g,%.6g,%.6g,%zu,%zu,%.3g,%.4g,%.6g,%.4g,%.6g,%.4g,%s\n",
                  w.label().c_str(), quantity, static_cast<unsigned long long>(w.updates), f.alpha, f.alpha_se,
                  f.xmin, f.ks, f.n_tail, f.n, f.decades, f.p_value, f.vs_exponential.r, f.vs_exponential.p,
                  f.vs_lognormal.r, f.vs_lognormal.p, f.verdict().c_str());
    csv += row;
    return f;
  };
  for (std::size_t i = 0; i < stats.step_windows().size(); ++i) {
    const UpdateWindow& w = stats.step_windows()[i];
    if (w.sample.size() < o.min_tail) {
      std::printf("window %s: %zu non-zero sampled values, too few for a tail fit\n", w.label().c_str(), w.sample.size());
      continue;
    }
    const PowerLawFit f = fit_of(w, "step");
    std::printf("window %s: %s (%llu updates)\n", w.label().c_str(), fit_line(f).c_str(),
                static_cast<unsigned long long>(w.updates));
    std::vector<Series> series;
    series.push_back(histogram_density(w.histogram, "|dJ| (applied step)"));
    series.push_back(tail_density(f, series[0], "power-law fit"));
    if (i < stats.signal_windows().size() && stats.signal_windows()[i].sample.size() >= o.min_tail) {
      const UpdateWindow& sw = stats.signal_windows()[i];
      const PowerLawFit sf = fit_of(sw, "signal");
      std::printf("  signal |M - D| %s: %s\n", sw.label().c_str(), fit_line(sf).c_str());
      series.push_back(histogram_density(sw.histogram, "|M - D| (learning signal)"));
      series.push_back(tail_density(sf, series.back(), "its power-law fit"));
    }
    line_plot(dir / ("window_" + w.label() + ".png"), series,
              "updates " + w.label() + ": alpha " + std::to_string(f.alpha).substr(0, 5), "log10 |x|",
              "density", true);
  }
  io::write_atomically(dir / "tail.csv", [&](std::ostream& out) { out << csv; });
}

}  // namespace nlm::examples
