// A drift-only model for the sampler tests: dx = −x dt + √(2T) dW in every coordinate, with no
// energy member (a DriftModel, not an EnergyModel), as the plain recurrent drift will be.
#pragma once

#include <cstddef>

#include <nlm/nlm.hpp>

struct OrnsteinUhlenbeck {
  using scalar_type = double;
  std::size_t n = 2;
  double t = 1.0;
  nlm::GaussianNoise stream{7};

  std::size_t neurons() const { return n; }
  double temperature() const { return t; }
  nlm::GaussianNoise& noise() { return stream; }
  void prepare(const nlm::Matrix<double>& x, nlm::ForceWorkspace<double>& ws) const {
    ws.resize(x.shape(0), x.shape(1));
    ws.residual = -x;
  }
  void products(nlm::ForceWorkspace<double>&) const {}
  struct Drift {
    const double* r;
    double operator()(std::size_t i) const { return r[i]; }
  };
  Drift drift_terms(const nlm::ForceWorkspace<double>& ws) const { return {ws.residual.data()}; }
};
