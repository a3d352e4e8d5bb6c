/// @file sections.hpp
/// @brief The one codec of nlm's saved state: a file of named sections, and a typed writer
/// and reader of one section's bytes. Checkpoints, the training state, every part of a machine
/// that keeps state of its own (Adam's moments, parallel tempering's replicas, a user's
/// policy) and the processes of a distributed run write and read their state with it.
///
/// **A section's bytes** are written with `SectionWriter` and read back with `SectionReader`
/// in the same order: fixed-size values (`put`/`get`, little-endian as the platforms nlm
/// supports), 64-bit words with their count (`put_words`/`words`: random-generator states),
/// byte strings with their length (`put_bytes`/`bytes`), arrays of values with their count
/// (`put_values`/`values`) and whole arrays as embedded .npy (`put_array`/`array`). A reader
/// refuses to read past the end and refuses bytes left over (`finish`), and every error names
/// the file, the section and what was being read.
///
/// **A file** (`FileWriter`, `File`) is an 8-byte magic, a u32 format version, the named
/// sections (u32 name length, name, u64 payload length, payload), a 64-bit FNV-1a checksum of
/// everything before it and an 8-byte end marker: a file cut short or altered fails the
/// checksum with an error naming the file.
///
/// **A part with state of its own** (a policy, a step rule, a backend) satisfies
/// `StatefulPart`: it names its section and writes and reads it; a checkpoint then carries it
/// with no change to nlm (docs/policies.md shows one).
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <istream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../detail/checksum.hpp"
#include "../types.hpp"
#include "npy.hpp"

namespace nlm::io {

/// Writes one section's bytes.
class SectionWriter {
 public:
  /// A value of fixed size, as it is in memory.
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void put(T value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  /// 64-bit words and their count (a random generator's state).
  void put_words(std::span<const std::uint64_t> words) { put_values(words); }
  /// Values of fixed size and their count.
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void put_values(std::span<const T> values) {
    put<std::uint64_t>(values.size());
    bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  template <class T>
  void put_values(const std::vector<T>& values) {
    put_values(std::span<const T>(values));
  }
  /// Bytes and their length (a name, a nested section).
  void put_bytes(std::string_view bytes) {
    put<std::uint64_t>(bytes.size());
    bytes_.append(bytes);
  }
  /// Bytes whose length the reader knows (a magic, a block of known shape).
  void put_raw(std::string_view bytes) { bytes_.append(bytes); }
  /// An array as an embedded .npy (its dtype and shape travel with it).
  template <class Array>
  void put_array(const Array& array) {
    std::ostringstream out(std::ios::binary);
    write_npy(out, array);
    bytes_ += std::move(out).str();
  }
  const std::string& bytes() const& noexcept { return bytes_; }
  std::string bytes() && noexcept { return std::move(bytes_); }

 private:
  std::string bytes_;
};

/// Reads one section's bytes in the order `SectionWriter` wrote them. `where` (the file and
/// the section) starts every error message, which then says what was being read.
class SectionReader {
 public:
  SectionReader(std::string_view payload, std::string where)
      : in_(std::string(payload), std::ios::binary), size_(payload.size()), where_(std::move(where)) {}

  template <class T>
    requires std::is_trivially_copyable_v<T>
  T get(const char* what) {
    T value;
    if (!in_.read(reinterpret_cast<char*>(&value), sizeof(T)))
      fail(std::string("the section ends while reading ") + what);
    return value;
  }
  /// `put_words`' words; more than `most` is refused before anything is allocated.
  std::vector<std::uint64_t> words(const char* what, std::uint64_t most = 1024) {
    return values<std::uint64_t>(what, most);
  }
  /// `put_values`' values; a count the section cannot hold (or above `most`) is refused
  /// before anything is allocated.
  template <class T>
    requires std::is_trivially_copyable_v<T>
  std::vector<T> values(const char* what, std::uint64_t most = ~std::uint64_t{0}) {
    const auto n = get<std::uint64_t>(what);
    if (n > most) fail("implausible length " + std::to_string(n) + " for " + what);
    require_room(n, sizeof(T), what);
    std::vector<T> v(static_cast<std::size_t>(n));
    if (n != 0) in_.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(T)));
    return v;
  }
  /// `put_bytes`' bytes.
  std::string bytes(const char* what) {
    const auto n = get<std::uint64_t>(what);
    require_room(n, 1, what);
    std::string s(std::size_t(n), '\0');
    if (n != 0) in_.read(s.data(), std::streamsize(n));
    return s;
  }
  /// `n` bytes written with `put_raw`.
  std::string raw(std::size_t n, const char* what) {
    std::string s(n, '\0');
    if (n != 0 && !in_.read(s.data(), std::streamsize(n)))
      fail(std::string("the section ends while reading ") + what + " (" + std::to_string(remaining() + in_.gcount()) +
           " of " + std::to_string(n) + " bytes left)");
    return s;
  }
  /// `put_array`'s array, as S of rank R (a stored float64 array read as float is converted).
  template <Scalar S, std::size_t R>
  xt::xtensor<S, R> array(const char* what) {
    return read_npy<S, R>(in_, where_ + " (" + what + ")");
  }
  /// `count` elements of `size` bytes are announced: refuse a count the section cannot hold.
  void require_room(std::uint64_t count, std::size_t size, const char* what) {
    if (count > remaining() / size)
      fail(std::string(what) + " announces " + std::to_string(count) + " entries, more than the " +
           std::to_string(remaining()) + " bytes left in the section hold");
  }
  std::uint64_t remaining() {
    const auto here = in_.tellg();
    return here < 0 ? 0 : size_ - std::uint64_t(here);
  }
  bool at_end() { return remaining() == 0; }
  /// Throws unless every byte was read.
  void finish() {
    if (!at_end()) fail(std::to_string(remaining()) + " unexpected bytes at the end of the section");
  }
  const std::string& where() const noexcept { return where_; }
  /// Throws std::runtime_error: "where: message".
  [[noreturn]] void fail(const std::string& message) const { throw std::runtime_error(where_ + ": " + message); }

 private:
  std::istringstream in_;
  std::uint64_t size_;
  std::string where_;
};

/// A part of a machine (a policy, the step rule, the product backend) with state of its own
/// beyond a random stream: it names its section and writes and reads it. A checkpoint writes
/// the section of every such part and, on loading, refuses a file without it (naming the part)
/// before it changes anything; a failed `load_section` must leave the part as it was.
/// Detected with `requires`, so a part without state costs nothing.
template <class P>
concept StatefulPart = requires(const P& cp, P& p, SectionWriter& w, SectionReader& r) {
  { cp.section_name() } -> std::convertible_to<std::string>;
  cp.save_section(w);
  p.load_section(r);
};

/// Builds a file of named sections (see the file comment).
class FileWriter {
 public:
  FileWriter(std::string_view magic, std::uint32_t version) {
    if (magic.size() != 8) throw std::invalid_argument("nlm::io::FileWriter: the magic must be 8 bytes");
    bytes_.append(magic);
    append(version);
  }
  void add(std::string_view name, std::string_view payload) {
    if (name.empty() || name.size() > 64)
      throw std::invalid_argument("nlm::io::FileWriter: a section name must have 1 to 64 bytes, '" +
                                  std::string(name) + "' has " + std::to_string(name.size()));
    append(std::uint32_t(name.size()));
    bytes_.append(name);
    append(std::uint64_t(payload.size()));
    bytes_.append(payload);
  }
  void add(std::string_view name, const SectionWriter& section) { add(name, std::string_view(section.bytes())); }
  /// The file's bytes: the sections, the checksum and `end`, the 8-byte end marker.
  std::string finish(std::string_view end) && {
    append(nlm::detail::fnv1a(bytes_));
    bytes_.append(end);
    return std::move(bytes_);
  }

 private:
  template <class T>
  void append(T v) {
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  std::string bytes_;
};

/// One section of a file: its name and bytes.
struct Section {
  std::string name;
  std::string payload;
};

/// A verified file of named sections. `name` (usually the path) starts every error message.
class File {
 public:
  /// Checks the magic, the end marker and the checksum, and reads the version; the sections
  /// are split by `split` (a file may keep older layouts behind other versions).
  File(std::string_view bytes, std::string_view magic, std::string_view end, std::string name,
       std::string_view what = "file")
      : name_(std::move(name)), what_(what) {
    if (bytes.size() < magic.size() + 4 + 16 || bytes.substr(0, magic.size()) != magic)
      throw std::runtime_error(name_ + ": not an nlm " + what_ + " (bad magic)");
    if (bytes.substr(bytes.size() - end.size()) != end)
      throw std::runtime_error(name_ + ": " + what_ + " is truncated (no end marker)");
    std::uint64_t stored;
    std::memcpy(&stored, bytes.data() + bytes.size() - 16, 8);
    body_ = bytes.substr(0, bytes.size() - 16);
    if (nlm::detail::fnv1a(body_) != stored)
      throw std::runtime_error(name_ + ": " + what_ + " is corrupt (checksum mismatch)");
    std::memcpy(&version_, body_.data() + magic.size(), 4);
    header_ = magic.size() + 4;
  }
  std::uint32_t version() const noexcept { return version_; }
  const std::string& name() const noexcept { return name_; }
  /// Everything between the checksum and the magic (for older layouts read by position).
  std::string_view body() const noexcept { return body_; }

  /// Splits the sections (the layout of every version that has them).
  void split() {
    std::string_view rest = body_.substr(header_);
    auto take = [&](std::size_t n, const char* what) {
      if (rest.size() < n) throw std::runtime_error(name_ + ": " + what_ + " ends inside " + std::string(what));
      const std::string_view v = rest.substr(0, n);
      rest.remove_prefix(n);
      return v;
    };
    while (!rest.empty()) {
      std::uint32_t name_length;
      std::memcpy(&name_length, take(4, "a section header").data(), 4);
      if (name_length == 0 || name_length > 64)
        throw std::runtime_error(name_ + ": " + what_ + " has a section name of " + std::to_string(name_length) +
                                 " bytes");
      std::string section(take(name_length, "a section name"));
      std::uint64_t length;
      std::memcpy(&length, take(8, "a section header").data(), 8);
      if (length > rest.size())
        throw std::runtime_error(name_ + ": section '" + section + "' announces " + std::to_string(length) +
                                 " bytes, " + std::to_string(rest.size()) + " remain");
      if (find(section) != nullptr) throw std::runtime_error(name_ + ": section '" + section + "' appears twice");
      sections_.push_back({std::move(section), std::string(take(std::size_t(length), "a section"))});
    }
  }
  const std::vector<Section>& sections() const noexcept { return sections_; }
  std::vector<Section>& sections() noexcept { return sections_; }
  const Section* find(std::string_view section) const {
    for (const auto& s : sections_)
      if (s.name == section) return &s;
    return nullptr;
  }
  /// "name (section 'section')": how messages name a section of this file.
  std::string where(std::string_view section) const { return name_ + " (section '" + std::string(section) + "')"; }
  /// A reader of the section, or an error naming the file and the missing section.
  SectionReader reader(std::string_view section) const {
    const Section* s = find(section);
    if (s == nullptr) throw std::runtime_error(name_ + ": " + what_ + " has no '" + std::string(section) + "' section");
    return SectionReader(s->payload, where(section));
  }

 private:
  std::string name_, what_;
  std::string_view body_;
  std::size_t header_ = 0;
  std::uint32_t version_ = 0;
  std::vector<Section> sections_;
};

/// Ordered `key=value` lines: the text sections (a machine's policies, its hyperparameters).
using Configuration = std::vector<std::pair<std::string, std::string>>;

inline std::string configuration_text(const Configuration& c) {
  std::string out;
  for (const auto& [k, v] : c) out += k + "=" + v + "\n";
  return out;
}

inline Configuration parse_configuration(std::string_view text, const std::string& where) {
  Configuration c;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    if (eol == std::string_view::npos) throw std::runtime_error(where + ": unterminated line");
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) throw std::runtime_error(where + ": line without key=value");
    c.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return c;
}

inline const std::string* lookup(const Configuration& c, std::string_view key) {
  for (const auto& [k, v] : c)
    if (k == key) return &v;
  return nullptr;
}

}  // namespace nlm::io
