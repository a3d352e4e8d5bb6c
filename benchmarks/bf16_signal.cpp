/// @file bf16_signal.cpp
/// @brief The learning signal's bf16 error against its mini-batch noise (docs/performance.md,
/// "Mixed precision"): for trained couplings, the data statistics D of K mini-batches of real
/// digits and the model statistics M of persistent-chain-like states, each computed with
/// float32 and with bf16 products. Prints the RMS of the bf16 − float32 difference next to the
/// RMS of the signal's fluctuation from one mini-batch to the next (what every update already
/// carries), and their ratio.
///
///   nlm_bf16_signal J.npy [field.npy] [DATA_DIR]   (a build with -DNLM_ONEDNN=ON)
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlm/bf16.hpp>

#include "../examples/common/mnist_common.hpp"

namespace {

double rms(const nlm::Matrix<float>& a, const nlm::Matrix<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = double(a.data()[i]) - double(b.data()[i]);
    s += d * d;
  }
  return std::sqrt(s / double(a.size()));
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: nlm_bf16_signal J.npy [field.npy] [DATA_DIR]\n");
    return 2;
  }
  const std::string j_path = argv[1], field_path = argc > 2 ? argv[2] : "", data_dir = argc > 3 ? argv[3] : "data/mnist";
  constexpr std::size_t batch = 200, batches = 30, chains = 200;
  const nlm::Matrix<float> j = nlm::io::load_npy_matrix<float>(j_path);
  nlm::Hyperparameters hp;  // the quick preset's shape
  hp.neurons = j.shape(0);
  hp.persistent_chains = chains;
  hp.batch_size = batch;
  hp.seed = 5;
  nlm::PaperMachine single(hp);
  nlm::PaperMachineBf16 half(hp);
  single.set_couplings(j);
  half.set_couplings(j);
  if (!field_path.empty()) {
    const auto b = nlm::io::load_npy_vector<float>(field_path);
    single.set_field(b);
    half.set_field(b);
  }
  // Model-phase states: chains from noise after 2 000 float32 steps (20 time units).
  nlm::Matrix<float> states = single.random_states(chains);
  single.sample(states, 2000);
  single.set_persistent_chains(states);
  half.set_persistent_chains(states);
  nlm::Matrix<float> m32 = nlm::Matrix<float>::from_shape({hp.neurons, hp.neurons}), m16 = m32;
  single.model_statistics(m32);
  half.model_statistics(m16);

  const auto digits = nlm::examples::load_digits(data_dir, "1,3,6", 0);
  const nlm::Matrix<float> x(digits.x);
  nlm::detail::Xoshiro256 rng(7);
  std::vector<nlm::Matrix<float>> s32, s16;
  nlm::Matrix<float> rows = nlm::Matrix<float>::from_shape({batch, hp.neurons});
  for (std::size_t k = 0; k < batches; ++k) {
    for (std::size_t r = 0; r < batch; ++r) {
      const std::size_t i = std::size_t(rng() % x.shape(0));
      std::copy_n(x.data() + i * hp.neurons, hp.neurons, rows.data() + r * hp.neurons);
    }
    nlm::Matrix<float> d32 = m32, d16 = m16;
    single.data_statistics(rows, d32);
    half.data_statistics(rows, d16);
    s32.push_back(m32 - d32);  // the learning signal M − D of this mini-batch
    s16.push_back(m16 - d16);
  }
  nlm::Matrix<float> mean = s32[0];
  for (std::size_t k = 1; k < batches; ++k) mean += s32[k];
  mean /= float(batches);
  double error = 0, noise = 0;
  for (std::size_t k = 0; k < batches; ++k) {
    error += rms(s16[k], s32[k]) / double(batches);
    noise += rms(s32[k], mean) / double(batches);
  }
  std::printf("couplings %s; %zu mini-batches of %zu digits, %zu model states; products %s\n", j_path.c_str(), batches,
              batch, chains, half.parameters().backend().implementation().c_str());
  std::printf("model statistics M: bf16 - float32 RMS %.3e (M's RMS %.3e)\n", rms(m16, m32),
              rms(m32, nlm::Matrix<float>(0.0f * m32)));
  std::printf("learning signal M - D: bf16 - float32 RMS %.3e, mini-batch fluctuation RMS %.3e, ratio %.4f\n",
              error, noise, error / noise);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "nlm_bf16_signal: %s\n", e.what());
  return 1;
}
