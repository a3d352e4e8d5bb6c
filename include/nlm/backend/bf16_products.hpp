/// @file bf16_products.hpp
/// @brief A product backend on oneDNN matmul primitives with bfloat16 inputs and float32
/// outputs (needs oneDNN: link `nlm::onednn`, CMake option NLM_ONEDNN).
///
/// J stays float32 (the master copy every step is applied to); `refresh(J)` rounds it to a
/// bf16 copy after every change, which serves both as Jᵀ (drive) and J (feedback) through
/// strides. Each product rounds its float32 operand (Φ, R, or the batch) to bf16 into a kept
/// buffer, and oneDNN multiplies with float32 accumulation, the output scale α and the sum
/// post-op β·O. Primitives are created once per shape (and α, β) and reused with the same
/// memory objects and a kept scratchpad, executed through the C API with a kept argument array:
/// nlm allocates nothing in the steady state (oneDNN 2.6's execute itself makes 7 small blocks
/// for its execution context per call; benchmarks/alloc_check counts them apart). `multiply`
/// (the N×N×N product of the data-moments path, once per run) stays float32.
///
/// On a CPU without bf16 instructions oneDNN emulates them (or, where it has no bf16 matmul at
/// all, the backend multiplies the bf16-rounded operands in float32): the numbers are the same
/// kind, the speed is not, and the backend says so once, on the first product.
#pragma once

#ifndef NLM_HAVE_ONEDNN
#define NLM_HAVE_ONEDNN 1
#endif

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../detail/blas.hpp"
#include "../detail/parallel.hpp"
#include "../types.hpp"
#include "backend.hpp"

namespace nlm {
namespace detail {

/// float → bfloat16 bits, rounded to nearest even; NaN stays a (quiet) NaN.
inline std::uint16_t to_bf16(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return std::uint16_t(u >> 16);
}
inline float from_bf16(std::uint16_t h) noexcept {
  const std::uint32_t u = std::uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
/// `n` floats rounded to bf16, split over threads for large arrays.
inline void round_to_bf16(const float* x, std::uint16_t* out, std::size_t n) {
  constexpr std::size_t cols = 4096;  // rows of 4096 elements for parallel_rows
  parallel_rows((n + cols - 1) / cols, cols, [&](std::size_t r0, std::size_t r1) {
    const std::size_t end = std::min(n, r1 * cols);
    for (std::size_t i = r0 * cols; i < end; ++i) out[i] = to_bf16(x[i]);
  });
}
/// The same, kept as floats (the fallback without a bf16 matmul).
inline void round_through_bf16(const float* x, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = from_bf16(to_bf16(x[i]));
}

}  // namespace detail

class Bf16Products {
 public:
  Bf16Products() : state_(std::make_unique<State>()) {}
  /// A copy keeps the bf16 J and creates its own primitives and buffers when first used.
  Bf16Products(const Bf16Products& other) : state_(std::make_unique<State>()) {
    state_->j = other.state_->j;
    state_->n = other.state_->n;
  }
  Bf16Products& operator=(const Bf16Products& other) {
    if (this != &other) *this = Bf16Products(other);
    return *this;
  }
  Bf16Products(Bf16Products&&) noexcept = default;
  Bf16Products& operator=(Bf16Products&&) noexcept = default;

  std::string describe() const { return "Bf16Products"; }

  /// The bf16 copy of J (every change of J reaches it through `Couplings`).
  void refresh(const Matrix<float>& j) {
    state_->n = j.shape(0);
    if (state_->j.size() != j.size()) state_->j.resize(j.size());
    detail::round_to_bf16(j.data(), state_->j.data(), j.size());
    state_->fj_stale = true;
  }
  /// R += bf16(Φ) bf16(J)ᵀ
  void drive(const Matrix<float>& phi, const Matrix<float>& j, Matrix<float>& r) const {
    const long m = long(phi.shape(0)), k = long(phi.shape(1)), n = long(j.shape(0));
    run(Kind::drive, {m, k}, {k, 1}, {k, n}, {1, k}, {m, n}, 1.0f, 1.0f, phi, nullptr, r);
  }
  /// G = bf16(R) bf16(J)
  void feedback(const Matrix<float>& rr, const Matrix<float>& j, Matrix<float>& g) const {
    const long m = long(rr.shape(0)), k = long(rr.shape(1)), n = long(j.shape(1));
    run(Kind::feedback, {m, k}, {k, 1}, {k, n}, {n, 1}, {m, n}, 1.0f, 0.0f, rr, nullptr, g);
  }
  /// O = α bf16(A)ᵀ bf16(B) + β O
  void correlate(const Matrix<float>& a, const Matrix<float>& b, Matrix<float>& out, float alpha, float beta) const {
    const long rows = long(a.shape(0)), na = long(a.shape(1)), nb = long(b.shape(1));
    run(Kind::correlate, {na, rows}, {1, na}, {rows, nb}, {nb, 1}, {na, nb}, alpha, beta, a, &b, out);
  }
  /// O = α J A + β O in float32 (once per run, in the data-moments path).
  void multiply(const Matrix<float>& j, const Matrix<float>& a, Matrix<float>& out, float alpha, float beta) const {
    detail::gemm(j, detail::Op::none, a, detail::Op::none, out, alpha, beta);
  }

  /// oneDNN's implementation of the last product ("brg:avx512_core_amx", ...), or
  /// "float32 on bf16-rounded inputs" without a bf16 matmul.
  std::string implementation() const { return state_->implementation; }
  /// Whether the products run on bf16 instructions (false: emulated or the float32 fallback).
  bool hardware_bf16() const noexcept { return state_->hardware; }
  /// Whether oneDNN may use bf16 instructions here (AVX-512 BF16 or AMX; DNNL_MAX_CPU_ISA lowers it).
  static bool has_bf16_instructions() {
    const auto isa = unsigned(dnnl::get_effective_cpu_isa()), bf16 = unsigned(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & bf16) == bf16;  // ISA values are nested bit masks
  }
  /// oneDNN's effective ISA, in words.
  static std::string isa_name() {
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::avx512_core_amx: return "AVX-512 with AMX";
      case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512 BF16";
      case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512 VNNI";
      case dnnl::cpu_isa::avx512_core: return "AVX-512";
      case dnnl::cpu_isa::avx2_vnni: return "AVX2 VNNI";
      case dnnl::cpu_isa::avx2: return "AVX2";
      default: return "older than AVX2";
    }
  }

 private:
  enum class Kind { drive, feedback, correlate };
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;
  using pair = std::array<long, 2>;  // dims and strides on the hot path: no allocation

  struct Entry {
    Kind kind;
    pair src_dims, wei_dims;
    float alpha, beta;
    bool fallback = false;
    dnnl::matmul primitive;
    dnnl::memory src, weights, dst, scratchpad;
    std::array<dnnl_exec_arg_t, 4> args;  // for the C API's execute: the C++ one copies a map into a vector
  };
  struct State {
    dnnl::engine engine{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream{engine};
    std::vector<std::uint16_t> j, a, b;  // bf16 J and the rounded operands
    // The fallback's rounded operands, as floats: grow-only buffers, so products whose shapes
    // alternate (a training update's chains, then a generation batch) allocate nothing once
    // each has been seen.
    std::vector<float> fx, fy, fj;
    bool fj_stale = true;
    std::vector<std::uint8_t> scratchpad;
    std::size_t n = 0;
    std::vector<std::unique_ptr<Entry>> entries;
    std::string implementation;
    bool hardware = false, told = false;
  };

  // The product `kind` with src (first operand) and weights of the given dims and strides:
  // the first operand is rounded from `x` (for correlate, xᵀ through its strides), the weights
  // are the bf16 J (drive, feedback) or rounded from `*y` (correlate).
  void run(Kind kind, pair src_dims, pair src_strides, pair wei_dims, pair wei_strides, pair dst_dims, float alpha,
           float beta, const Matrix<float>& x, const Matrix<float>* y, Matrix<float>& out) const {
    State& s = *state_;
    Entry& e = entry(kind, src_dims, src_strides, wei_dims, wei_strides, dst_dims, alpha, beta);
    if (e.fallback) return fallback(e, alpha, beta, x, y, out);
    if (s.a.size() < x.size()) s.a.resize(x.size());
    detail::round_to_bf16(x.data(), s.a.data(), x.size());
    e.src.set_data_handle(s.a.data());
    if (y != nullptr) {
      if (s.b.size() < y->size()) s.b.resize(y->size());
      detail::round_to_bf16(y->data(), s.b.data(), y->size());
      e.weights.set_data_handle(s.b.data());
    } else {
      e.weights.set_data_handle(s.j.data());
    }
    e.dst.set_data_handle(out.data());
    e.scratchpad.set_data_handle(s.scratchpad.data());
    dnnl::error::wrap_c_api(dnnl_primitive_execute(e.primitive.get(), s.stream.get(), int(e.args.size()), e.args.data()),
                            "nlm::Bf16Products: oneDNN matmul failed");
    s.stream.wait();
  }

  Entry& entry(Kind kind, const pair& src_dims, const pair& src_strides, const pair& wei_dims,
               const pair& wei_strides, const pair& dst_dims, float alpha, float beta) const {
    State& s = *state_;
    for (auto& e : s.entries)
      if (e->kind == kind && e->src_dims == src_dims && e->wei_dims == wei_dims && e->alpha == alpha &&
          e->beta == beta)
        return *e;
    // α and β are fixed in the primitive (oneDNN 2.6 leaves its AMX kernels for a generic,
    // allocating one when α comes at run time); callers use a few values each (the statistics'
    // 1/(T·B)), so the cache stays small: it is cleared if it ever grows past 64 primitives.
    if (s.entries.size() >= 64) s.entries.clear();
    auto e = std::make_unique<Entry>();
    e->kind = kind;
    e->src_dims = src_dims;
    e->wei_dims = wei_dims;
    e->alpha = alpha;
    e->beta = beta;
    const auto d = [](const pair& p) { return dims{p[0], p[1]}; };
    const dnnl::memory::desc src_md(d(src_dims), dt::bf16, d(src_strides)),
        wei_md(d(wei_dims), dt::bf16, d(wei_strides)), dst_md(d(dst_dims), dt::f32, dims{dst_dims[1], 1});
    dnnl::primitive_attr attr;
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    try {
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_md, dst_md), attr, s.engine);
      e->primitive = dnnl::matmul(pd);
      e->src = dnnl::memory(src_md, s.engine, nullptr);
      e->weights = dnnl::memory(wei_md, s.engine, nullptr);
      e->dst = dnnl::memory(dst_md, s.engine, nullptr);
      const dnnl::memory::desc pad = pd.scratchpad_desc();
      if (s.scratchpad.size() < pad.get_size()) s.scratchpad.resize(pad.get_size());
      e->scratchpad = dnnl::memory(pad, s.engine, nullptr);
      e->args = {dnnl_exec_arg_t{DNNL_ARG_SRC, e->src.get()}, dnnl_exec_arg_t{DNNL_ARG_WEIGHTS, e->weights.get()},
                 dnnl_exec_arg_t{DNNL_ARG_DST, e->dst.get()},
                 dnnl_exec_arg_t{DNNL_ARG_SCRATCHPAD, e->scratchpad.get()}};
      s.implementation = pd.impl_info_str();
      s.hardware = has_bf16_instructions();
    } catch (const dnnl::error&) {
      e->fallback = true;
      s.implementation = "float32 on bf16-rounded inputs";
      s.hardware = false;
    }
    if (!s.told && !s.hardware) {
      std::fprintf(stderr,
                   "nlm: Bf16Products: no bf16 instructions on this CPU (oneDNN's ISA: %s; product: %s); the "
                   "products keep bf16 rounding but run no faster than float32\n",
                   isa_name().c_str(), s.implementation.c_str());
      s.told = true;
    }
    s.entries.push_back(std::move(e));
    return *s.entries.back();
  }

  // Without a bf16 matmul: the same bf16-rounded operands, multiplied in float32.
  void fallback(const Entry& e, float alpha, float beta, const Matrix<float>& x, const Matrix<float>* y,
                Matrix<float>& out) const {
    State& s = *state_;
    const auto rounded = [](const Matrix<float>& from, std::vector<float>& to) {
      if (to.size() < from.size()) to.resize(from.size());
      detail::round_through_bf16(from.data(), to.data(), from.size());
      return to.data();
    };
    const float* a = rounded(x, s.fx);
    const float* w;
    if (y != nullptr) {
      w = rounded(*y, s.fy);
    } else {  // the bf16 J as floats, once per refresh
      if (s.fj_stale || s.fj.size() != s.j.size()) {
        s.fj.resize(s.j.size());
        for (std::size_t i = 0; i < s.j.size(); ++i) s.fj[i] = detail::from_bf16(s.j[i]);
        s.fj_stale = false;
      }
      w = s.fj.data();
    }
    // The entry's dims are those of the product: src m×k, weights k×n, whatever the strides.
    const std::size_t m = std::size_t(e.src_dims[0]), k = std::size_t(e.src_dims[1]), n = std::size_t(e.wei_dims[1]);
    using detail::Op;
    switch (e.kind) {
      case Kind::drive: detail::gemm(a, Op::none, w, Op::transpose, out.data(), m, n, k, alpha, beta); break;
      case Kind::feedback: detail::gemm(a, Op::none, w, Op::none, out.data(), m, n, k, alpha, beta); break;
      case Kind::correlate: detail::gemm(a, Op::transpose, w, Op::none, out.data(), m, n, k, alpha, beta); break;
    }
  }

  std::unique_ptr<State> state_;
};

}  // namespace nlm
