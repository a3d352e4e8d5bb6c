// The frontier picture and tables of the class-balance study (benchmarks/balance_study.sh,
// docs/quality.md "Balance"): reads the study's rows.csv (one row per configuration, seed and
// kind of samples: raw or quenched), and for each configuration and kind prints mean ± SD and
// [min, max] over the seeds of every metric, and draws the confident fraction against the
// balance entropy: a dot at the seeds' mean, bars from the seeds' minimum to maximum in each
// direction, the aim (confident >= 0.90, balance >= 0.97) drawn as two lines.
//
//   nlm_balance_frontier --rows out/balance/rows.csv --picture docs/img/balance_frontier.png
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlm_examples/picture.hpp>

namespace ex = nlm::examples;

namespace {

struct Row {
  std::string config, kind;
  int seed = 0;
  std::map<std::string, double> value;
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream s(line);
  std::string cell;
  while (std::getline(s, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

std::vector<Row> read_rows(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + " is empty");
  const auto header = split(line);
  const auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw std::runtime_error(path + " has no column '" + name + "'");
    return std::size_t(it - header.begin());
  };
  const std::size_t config = column("config"), seed = column("seed"), kind = column("samples");
  std::vector<Row> rows;
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto cells = split(line);
    if (cells.size() != header.size())
      throw std::runtime_error(path + ":" + std::to_string(number) + ": " + std::to_string(cells.size()) +
                               " cells, the header has " + std::to_string(header.size()));
    Row r{cells[config], cells[kind], std::stoi(cells[seed]), {}};
    for (std::size_t c = 0; c < header.size(); ++c)
      if (c != config && c != kind && c != seed) r.value[header[c]] = cells[c].empty() ? NAN : std::stod(cells[c]);
    rows.push_back(std::move(r));
  }
  return rows;
}

struct Summary {
  double mean = 0, sd = 0, min = 0, max = 0;
  std::size_t n = 0;
};

Summary summarise(const std::vector<double>& v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  for (double x : v) s.mean += x / double(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / double(v.size() - 1)) : 0.0;
  return s;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"The class-balance study's tables and frontier picture (nlm)"};
  std::string rows_path = "out/balance/rows.csv", picture, kind = "samples";
  double aim_confident = 0.90, aim_balance = 0.97;
  app.add_option("--rows", rows_path, "the study's rows (benchmarks/balance_study.sh)")->capture_default_str();
  app.add_option("--picture", picture, "draw the frontier here (PNG)");
  app.add_option("--kind", kind, "the samples the picture shows: samples (raw) or quenched")->capture_default_str();
  app.add_option("--aim-confident", aim_confident, "the aim's confident fraction")->capture_default_str();
  app.add_option("--aim-balance", aim_balance, "the aim's balance entropy")->capture_default_str();
  bool markdown = false;
  app.add_flag("--markdown", markdown, "also print the table as Markdown (docs/quality.md)");
  CLI11_PARSE(app, argc, argv);

  const auto rows = read_rows(rows_path);
  std::vector<std::pair<std::string, std::string>> groups;  // (config, kind) in first-seen order
  for (const auto& r : rows)
    if (std::find(groups.begin(), groups.end(), std::pair{r.config, r.kind}) == groups.end())
      groups.emplace_back(r.config, r.kind);
  const std::vector<std::string> metrics = {"confident", "balance_entropy", "share_1", "share_3", "share_6",
                                            "fd_ratio", "aai", "inverted", "train_s"};
  std::printf("%-24s %-9s %5s", "configuration", "samples", "seeds");
  for (const auto& m : metrics) std::printf(" %27s", m.c_str());
  std::printf("\n");
  std::vector<ex::Series> series;
  std::string md =
      "| configuration | samples | train (s) | confident | balance entropy | 1 / 3 / 6 share (mean) | FD ratio | AAI |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|\n";
  std::size_t colour = 0;
  for (const auto& [config, k] : groups) {
    std::map<std::string, std::vector<double>> values;
    std::string seeds;
    for (const auto& r : rows) {
      if (r.config != config || r.kind != k) continue;
      seeds += (seeds.empty() ? "" : " ") + std::to_string(r.seed);
      for (const auto& m : metrics)
        if (const auto it = r.value.find(m); it != r.value.end()) values[m].push_back(it->second);
    }
    std::printf("%-24s %-9s %5s", config.c_str(), k.c_str(), seeds.c_str());
    std::map<std::string, Summary> s;
    for (const auto& m : metrics) {
      s[m] = summarise(values[m]);
      char cell[64];
      std::snprintf(cell, sizeof cell, "%.3g ± %.2g [%.3g, %.3g]", s[m].mean, s[m].sd, s[m].min, s[m].max);
      std::printf(" %27s", cell);
    }
    std::printf("\n");
    const auto cell = [&](const std::string& m, const char* f) {
      char c[96];
      std::snprintf(c, sizeof c, f, s[m].mean, s[m].sd, s[m].min, s[m].max);
      return std::string(c);
    };
    char shares[64];
    std::snprintf(shares, sizeof shares, "%.0f / %.0f / %.0f %%", 100 * s["share_1"].mean, 100 * s["share_3"].mean,
                  100 * s["share_6"].mean);
    md += "| " + config + " | " + k + " | " + cell("train_s", "%.0f") + " | " +
          cell("confident", "%.3f ± %.3f [%.3f, %.3f]") + " | " + cell("balance_entropy", "%.3f ± %.3f [%.3f, %.3f]") +
          " | " + shares + " | " + cell("fd_ratio", "%.1f ± %.1f") + " | " + cell("aai", "%.3f") + " |\n";
    if (k != kind || s["confident"].n == 0) continue;
    const ex::Colour c = ex::tab10(colour++);
    const auto& x = s["balance_entropy"];
    const auto& y = s["confident"];
    series.push_back({"", {x.min, x.max}, {y.mean, y.mean}, c, false, 1.5});
    series.push_back({"", {x.mean, x.mean}, {y.min, y.max}, c, false, 1.5});
    series.push_back({config + " (" + std::to_string(y.n) + " seeds)", {x.mean}, {y.mean}, c, true, 3.0});
  }
  if (markdown) std::printf("\n%s", md.c_str());
  if (!picture.empty()) {
    if (series.empty()) throw std::runtime_error("no rows of kind '" + kind + "' to draw");
    series.push_back({"aim", {aim_balance, aim_balance, 1.0}, {1.0, aim_confident, aim_confident}, ex::ink, false, 1.0});
    ex::line_plot(picture, series,
                  "Confident fraction vs class balance, mean and min-max over training seeds (" + kind + ")",
                  "balance entropy / log 3", "confidently classified (p >= 0.9)");
    std::printf("wrote %s\n", picture.c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "nlm_balance_frontier: " << e.what() << "\n";
  return 1;
}
