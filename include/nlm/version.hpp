/// @file version.hpp
/// @brief The library's version, the single place CMake reads it from.
#pragma once

#define NLM_VERSION_MAJOR 0
#define NLM_VERSION_MINOR 2
#define NLM_VERSION_PATCH 0

namespace nlm {
inline constexpr int version_major = NLM_VERSION_MAJOR;
inline constexpr int version_minor = NLM_VERSION_MINOR;
inline constexpr int version_patch = NLM_VERSION_PATCH;
}  // namespace nlm
