// Fuzz target: the UCI digits reader (data/uci_digits.hpp; plain and gzipped CSV) on arbitrary
// bytes in memory. Malformed input must end in idx_error, never in a crash; what it accepts
// must be whole images of 64 pixels 0-16 with a label 0-9 each.
#include <cstddef>
#include <cstdint>
#include <span>

#include <nlm/data/uci_digits.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto d = nlm::data::read_uci_digits(std::span<const std::uint8_t>(data, size), "fuzz-digits");
    if (d.count == 0 || d.pixels.size() != d.count * 64 || d.labels.size() != d.count) __builtin_trap();
    for (const std::uint8_t v : d.pixels)
      if (v > 16) __builtin_trap();
    for (const std::uint8_t v : d.labels)
      if (v > 9) __builtin_trap();
  } catch (const nlm::data::idx_error&) {
  }
  return 0;
}
