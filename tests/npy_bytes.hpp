// A .npy image with a hand-made header, for the tests of the readers (no nlm header needed).
#pragma once

#include <string>

namespace nlm::test {

/// A .npy version 1.0 image with the header dict `dict` (padded as NumPy pads) and `data`.
inline std::string npy_bytes_with_header(const std::string& dict, const std::string& data) {
  std::string header = dict;
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>(header.size() >> 8);
  return bytes + header + data;
}

}  // namespace nlm::test
