// Fuzz target: the IDX reader (images and labels, plain and gzipped) on arbitrary bytes in
// memory. Malformed input must end in idx_error, never in a crash or an allocation of what a
// corrupt header announces.
#include <cstddef>
#include <cstdint>
#include <span>

#include <nlm/data/idx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  try {
    const auto images = nlm::data::read_idx_images(bytes, "fuzz-images");
    if (images.pixels.size() != images.count * images.rows * images.cols) __builtin_trap();
  } catch (const nlm::data::idx_error&) {
  }
  try {
    (void)nlm::data::read_idx_labels(bytes, "fuzz-labels");
  } catch (const nlm::data::idx_error&) {
  }
  return 0;
}
