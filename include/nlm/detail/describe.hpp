/// @file describe.hpp
/// @brief How a policy names itself and its parameters in a checkpoint, so that a checkpoint
/// refuses to load into a machine configured differently (another activation gain, another
/// weight decay λ, another sampler).
///
/// A policy may define `std::string describe() const` returning its name and parameters, as
/// `WeightDecay(lambda=2e-06)`; parameters are written with `describe_parameter`, which keeps
/// every bit of a double. A policy without `describe()` is named by its C++ type (as the
/// compiler spells it), and its parameters, if any, are not checked.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace nlm::detail {

/// `name=value` with the shortest decimal form that reads back to the same double.
inline std::string describe_parameter(std::string_view name, double value) {
  char buf[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, value);
    double back = 0;
    std::sscanf(buf, "%lf", &back);
    if (back == value) break;
  }
  return std::string(name) + "=" + buf;
}

template <class T>
std::string type_name() {
  // GCC and Clang: "... [with T = Name; ...]" / "... [T = Name]"
  const std::string_view f = __PRETTY_FUNCTION__;
  const auto at = f.find("T = ");
  if (at == std::string_view::npos) return std::string(f);
  auto end = f.find_first_of(";]", at);
  return std::string(f.substr(at + 4, end - at - 4));
}

template <class P>
std::string describe_policy(const P& p) {
  if constexpr (requires { { p.describe() } -> std::convertible_to<std::string>; })
    return p.describe();
  else
    return type_name<P>();
}

}  // namespace nlm::detail
