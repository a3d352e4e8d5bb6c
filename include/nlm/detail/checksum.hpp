/// @file checksum.hpp
/// @brief 64-bit FNV-1a: the checksum of checkpoint files and the identity of training data.
#pragma once

#include <cstdint>
#include <string_view>

namespace nlm::detail {

inline std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace nlm::detail
