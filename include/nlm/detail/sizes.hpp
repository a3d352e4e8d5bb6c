/// @file sizes.hpp
/// @brief Refuses sizes that cannot be right before anything is allocated: a product of counts
/// that overflows (784 × 2⁶² wraps to 0, and an empty buffer would be written through), and
/// buffers that need more memory than the machine has.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace nlm::detail {

/// Physical memory in bytes (0 where the system does not say).
inline std::uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? std::uint64_t(pages) * std::uint64_t(page) : 0;
}

inline std::string show_bytes(double b) {
  const char* unit[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (b >= 1000 && u < 6) b /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, unit[u]);
  return buf;
}

/// a × b, or std::invalid_argument "<what>: a x b elements overflow the address space".
inline std::size_t checked_elements(std::size_t a, std::size_t b, const std::string& what) {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a)
    throw std::invalid_argument(what + ": " + std::to_string(a) + " x " + std::to_string(b) +
                                " elements overflow the address space");
  return a * b;
}

/// Throws std::invalid_argument when `bytes` (an estimate of the large buffers, so a lower
/// bound of what is needed) exceed the machine's physical memory: such a run could only fail
/// with std::bad_alloc or swap for ever.
inline void require_memory(double bytes, const std::string& what) {
  const std::uint64_t have = physical_memory();
  if (have != 0 && bytes > double(have))
    throw std::invalid_argument(what + " need at least " + show_bytes(bytes) + ", more than the " +
                                show_bytes(double(have)) + " of memory here");
}

/// Checks a rows × cols buffer of `scalar_size`-byte values: no overflow, fits in memory.
inline std::size_t checked_buffer(std::size_t rows, std::size_t cols, std::size_t scalar_size,
                                  const std::string& what) {
  const std::size_t n = checked_elements(rows, cols, what);
  checked_elements(n, scalar_size, what);
  require_memory(double(n) * double(scalar_size),
                 what + ": " + std::to_string(rows) + " x " + std::to_string(cols) + " values");
  return n;
}

}  // namespace nlm::detail
