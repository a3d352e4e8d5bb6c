// The options the example programs share, each registered in one place: the sampler and the
// precision of the products (with the one run-time → type dispatch over them), and one
// registration function each for --threads, --out, --digits, --layout, --held-out, --seed,
// --chains and --temperature. The data (DataSource, mnist_common.hpp), the model
// (ModelFiles) and the generation dynamics (GenerationOptions, generation.hpp) and the training
// hyperparameters (PresetOptions, presets.hpp) are the other groups.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlm/nlm.hpp>
#ifdef NLM_HAVE_ONEDNN
#include <nlm/bf16.hpp>
#endif

#include "mnist_common.hpp"

namespace nlm::examples {

/// --threads, the same in every program.
inline CLI::Option* add_threads_option(CLI::App& app, int& threads) {
  return app.add_option("--threads", threads, "OpenBLAS threads (0: OPENBLAS_NUM_THREADS or all cores)")
      ->transform(count());
}

/// --out, the output folder (`help` says its default when it depends on other options).
inline CLI::Option* add_output_option(CLI::App& app, std::string& out, const std::string& help = "output folder") {
  CLI::Option* o = app.add_option("--out", out, help);
  if (!out.empty()) o->capture_default_str();
  return o;
}

/// --digits, the classes a program keeps or a model knows (comma-separated); `help` says which.
inline CLI::Option* add_digits_option(CLI::App& app, std::string& digits, const std::string& help) {
  CLI::Option* o = app.add_option("--digits", digits, help);
  if (!digits.empty()) o->capture_default_str();
  return o;
}

/// --layout, the model's unit layout when neither the model file nor layout.txt beside it has it.
inline CLI::Option* add_layout_option(CLI::App& app, std::string& layout) {
  return app.add_option("--layout", layout, "unit layout (default: the model file's, else layout.txt beside the model)");
}

/// --held-out, the held-out digits per class (the last of each class); `help` says what for.
inline CLI::Option* add_held_out_option(CLI::App& app, std::size_t& held_out, const std::string& help,
                                        bool positive = true) {
  return app.add_option("--held-out", held_out, help)->capture_default_str()->transform(count(positive));
}

/// --seed; `help` says which draws it fixes.
inline CLI::Option* add_seed_option(CLI::App& app, std::uint64_t& seed, const std::string& help = "seed") {
  return app.add_option("--seed", seed, help)->capture_default_str()->transform(count());
}

/// --chains, independent chains from N(0, I); `help` says which.
inline CLI::Option* add_chains_option(CLI::App& app, std::size_t& chains, const std::string& help = "independent chains") {
  return app.add_option("--chains", chains, help)->capture_default_str()->transform(count(true));
}

/// --temperature (--T), the temperature of the dynamics; `help` says which.
inline CLI::Option* add_temperature_option(CLI::App& app, double& temperature,
                                           const std::string& help = "temperature T") {
  return app.add_option("--temperature,--T", temperature, help)->capture_default_str();
}

/// The sampler that runs the chains and the precision of the products, with one set of
/// defaults for every program: parallel tempering over 4 replicas up to T_max = 1.5, swapping
/// every 10 steps (docs/quality.md measures it in generation and as the model phase).
struct SamplingOptions {
  std::string sampler = "em", precision = "fp32";
  std::size_t replicas = 4, swap_every = 10;
  double t_max = 1.5;

  /// Registers `option` (--sampler; mnist_train's --model-phase), which takes one of
  /// `samplers` (em, mala, pt), parallel tempering's --replicas, --t-max and --swap-every,
  /// and --precision.
  void add_to(CLI::App& app, const std::string& option, const std::vector<std::string>& samplers,
              const std::string& help) {
    app.add_option(option, sampler, help)->check(CLI::IsMember(samplers))->capture_default_str();
    app.add_option("--replicas", replicas, "parallel tempering (pt): replicas on the geometric ladder T..t_max")
        ->capture_default_str()
        ->transform(count(true));
    app.add_option("--t-max", t_max, "parallel tempering (pt): the top of the temperature ladder")
        ->capture_default_str();
    app.add_option("--swap-every", swap_every,
                   "parallel tempering (pt): steps between swap rounds (even and odd pairs alternate)")
        ->capture_default_str()
        ->transform(count(true));
    app.add_option("--precision", precision,
                   "fp32 (float32 products) or bf16 (bf16 products through oneDNN, float32 J and states; a build "
                   "with -DNLM_ONEDNN=ON)")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
  }

  /// The sampler of type `SamplerT` these options describe.
  template <class SamplerT>
  SamplerT make_sampler() const {
    if constexpr (std::is_same_v<SamplerT, ParallelTempering<EulerMaruyama>>)
      return SamplerT(replicas, t_max, swap_every);
    else
      return SamplerT();
  }

  /// Calls `f.template operator()<SamplerT, Backend>()` with the types the options name
  /// (em: EulerMaruyama, mala: Mala, pt: ParallelTempering<EulerMaruyama>; fp32: BlasProducts,
  /// bf16: Bf16Products) and returns its result; `WithMala = false` leaves MALA out (training
  /// has no MALA model phase). `program` names the program in the sentences for what this
  /// build or these samplers cannot do.
  template <bool WithMala = true, class F>
  int dispatch([[maybe_unused]] const std::string& program, F&& f) const {
    if (sampler == "pt") {
      if (precision == "bf16") throw std::invalid_argument("pt (parallel tempering): with --precision fp32 only");
      return f.template operator()<ParallelTempering<EulerMaruyama>, BlasProducts>();
    }
    const bool mala = sampler == "mala";
    if (!(sampler == "em" || (WithMala && mala)))
      throw std::invalid_argument("unknown sampler '" + sampler + (WithMala ? "' (use em, mala or pt)" : "' (use em or pt)"));
    if (precision != "fp32" && precision != "bf16")
      throw std::invalid_argument("--precision: unknown precision '" + precision + "' (use fp32 or bf16)");
    const auto with = [&]<class Backend>() -> int {
      if constexpr (WithMala)
        if (mala) return f.template operator()<Mala, Backend>();
      return f.template operator()<EulerMaruyama, Backend>();
    };
    if (precision == "fp32") return with.template operator()<BlasProducts>();
#ifdef NLM_HAVE_ONEDNN
    return with.template operator()<Bf16Products>();
#else
    throw std::invalid_argument("--precision bf16: this " + program + " was built without oneDNN (cmake -DNLM_ONEDNN=ON)");
#endif
  }
};

/// The training machine over sampler `SamplerT` and products `Backend`: the paper's tanh,
/// Gaussian noise and weight decay (PaperMachine for EulerMaruyama and BlasProducts).
template <class SamplerT, class Backend>
using TrainingMachine = LangevinMachine<Tanh, GaussianNoise, WeightDecay, SamplerT, float, Backend>;

}  // namespace nlm::examples
