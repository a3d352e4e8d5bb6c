/// @file errors.hpp
/// @brief The exceptions nlm throws beyond the standard ones, so callers can tell a diverged
/// run from a bad argument.
#pragma once

#include <stdexcept>
#include <string>

namespace nlm {

/// Couplings, chains or the learning signal stopped being finite numbers. The machine never
/// applies a non-finite update: when this is thrown, the couplings are those of the last good
/// update.
class numerical_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Training was stopped by SIGINT/SIGTERM after the callbacks had their chance to save.
class interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nlm
