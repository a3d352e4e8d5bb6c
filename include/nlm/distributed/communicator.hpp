/// @file communicator.hpp
/// @brief The MPI layer of nlm/distributed (needs MPI: link `nlm::mpi`): the environment, a
/// communicator whose collectives on rank 0 also listen for another process's failure, and
/// the failure path that ends the whole job with the failing process's message on rank 0.
///
/// Every collective a `Communicator` runs is non-blocking underneath: rank 0 waits for it and,
/// at the same time, for a message on a second (duplicated) communicator on which a failing
/// process sends what went wrong (`fail`). So a process that throws while the others wait in
/// an all-reduce does not leave them hanging: rank 0 receives the message, throws
/// `remote_failure("rank r: ...")`, and its own `fail` prints it and aborts the job.
#pragma once

// The C API only: MPI's deprecated C++ bindings are not used (and warn under -Wextra).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace nlm::distributed {

/// Thrown on rank 0 when another process reports a failure; what() is "rank r: <its message>".
class remote_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A check that failed on every process alike (the processes' couplings differ, their data
/// differ, a checkpoint was written by another number of processes).
class distributed_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// MPI_Init_thread (MPI_THREAD_FUNNELED: nlm's OpenMP threads never call MPI) on
/// construction, MPI_Finalize on destruction; does neither if MPI was initialised already.
/// Declare it first in `main`, before any `Communicator`.
class Environment {
 public:
  Environment(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) return;
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw std::runtime_error("nlm::distributed: MPI_Init_thread failed");
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      throw std::runtime_error("nlm::distributed: this MPI does not support MPI_THREAD_FUNNELED");
    }
    owner_ = true;
  }
  ~Environment() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owner_ && !finalized) MPI_Finalize();
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  bool owner_ = false;
};

namespace detail {

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<T, char>) return MPI_CHAR;
  else static_assert(sizeof(T) == 0, "nlm::distributed: no MPI type for this element type");
}

// Elements per MPI call: counts are ints.
inline constexpr std::size_t max_chunk = std::size_t(1) << 30;

}  // namespace detail

/// A duplicate of an MPI communicator (MPI_COMM_WORLD by default) with the collectives nlm
/// needs. Not thread-safe; call it from the thread that initialised MPI.
class Communicator {
 public:
  explicit Communicator(MPI_Comm parent = MPI_COMM_WORLD) {
    MPI_Comm_dup(parent, &data_);
    MPI_Comm_dup(parent, &errors_);
    MPI_Comm_rank(data_, &rank_);
    MPI_Comm_size(data_, &size_);
    if (rank_ == 0) post_failure_receive();
  }
  ~Communicator() {
    if (failure_ != MPI_REQUEST_NULL) {
      MPI_Cancel(&failure_);
      MPI_Wait(&failure_, MPI_STATUS_IGNORE);
    }
    MPI_Comm_free(&errors_);
    MPI_Comm_free(&data_);
  }
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  bool is_root() const noexcept { return rank_ == 0; }
  MPI_Comm get() const noexcept { return data_; }

  /// values ← their sum over all processes (in place).
  template <class T>
  void all_reduce_sum(std::span<T> values) {
    all_reduce(values, MPI_SUM);
  }
  /// The largest (smallest) of every process's `v`.
  template <class T>
  T all_reduce_max(T v) {
    all_reduce(std::span<T>(&v, 1), MPI_MAX);
    return v;
  }
  template <class T>
  T all_reduce_min(T v) {
    all_reduce(std::span<T>(&v, 1), MPI_MIN);
    return v;
  }
  /// `bytes` of `root` on every process.
  void broadcast(std::string& bytes, int root = 0) {
    std::uint64_t size = bytes.size();
    run(MPI_Ibcast(&size, 1, MPI_UINT64_T, root, data_, &request_));
    bytes.resize(std::size_t(size));
    for (std::size_t at = 0; at < bytes.size(); at += detail::max_chunk) {
      const int n = int(std::min(detail::max_chunk, bytes.size() - at));
      run(MPI_Ibcast(bytes.data() + at, n, MPI_CHAR, root, data_, &request_));
    }
  }
  /// Every process's `mine`, concatenated in rank order, on `root` (empty elsewhere); `counts`
  /// (if given) receives each process's element count on `root`.
  template <class T>
  std::vector<T> gather(std::span<const T> mine, int root = 0, std::vector<std::uint64_t>* counts = nullptr) {
    if (mine.size() > std::size_t(INT_MAX))
      throw std::invalid_argument("nlm::distributed: a gather of more than 2^31 elements from one process");
    const std::uint64_t n = mine.size();
    std::vector<std::uint64_t> all(rank_ == root ? std::size_t(size_) : 0);
    run(MPI_Igather(&n, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, root, data_, &request_));
    std::vector<int> sizes, offsets;
    std::vector<T> out;
    if (rank_ == root) {
      std::uint64_t total = 0;
      for (const std::uint64_t c : all) {
        sizes.push_back(int(c));
        offsets.push_back(int(total));
        total += c;
      }
      if (total > std::uint64_t(INT_MAX))
        throw std::invalid_argument("nlm::distributed: a gather of more than 2^31 elements in all");
      out.resize(std::size_t(total));
    }
    run(MPI_Igatherv(mine.data(), int(n), detail::mpi_type<T>(), out.data(), sizes.data(), offsets.data(),
                     detail::mpi_type<T>(), root, data_, &request_));
    if (counts) *counts = std::move(all);
    return out;
  }
  void barrier() { run(MPI_Ibarrier(data_, &request_)); }

  /// Ends the whole job after `error` on this process, never returning. Rank 0 prints
  /// "<program>: <message>" to stderr (for a `remote_failure`, the message names the rank it
  /// came from) and aborts every process with exit code `code`. Another rank sends its message
  /// to rank 0, which reports it from its next collective, and waits for the abort; if rank 0
  /// does not answer within `patience`, it prints the message itself and aborts.
  [[noreturn]] void fail(std::string_view program, const std::exception& error, int code = 1,
                         std::chrono::seconds patience = std::chrono::seconds(60)) noexcept {
    std::string message = error.what();
    if (rank_ == 0) {
      if (dynamic_cast<const remote_failure*>(&error) == nullptr && size_ > 1) message = "rank 0: " + message;
      std::fprintf(stderr, "%.*s: %s\n", int(program.size()), program.data(), message.c_str());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, code);
    }
    message.resize(std::min(message.size(), message_limit));
    MPI_Request sent = MPI_REQUEST_NULL;
    MPI_Isend(message.data(), int(message.size()), MPI_CHAR, 0, failure_tag, errors_, &sent);
    const auto deadline = std::chrono::steady_clock::now() + patience;
    int done = 0;
    while (std::chrono::steady_clock::now() < deadline) {  // rank 0 aborts the job meanwhile
      if (!done) MPI_Test(&sent, &done, MPI_STATUS_IGNORE);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::fprintf(stderr, "%.*s: rank %d: %s (rank 0 did not end the job)\n", int(program.size()), program.data(),
                 rank_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::terminate();  // MPI_Abort does not return
  }

 private:
  static constexpr int failure_tag = 7201;
  static constexpr std::size_t message_limit = 4096;

  void post_failure_receive() {
    MPI_Irecv(failure_text_.data(), int(failure_text_.size()), MPI_CHAR, MPI_ANY_SOURCE, failure_tag, errors_,
              &failure_);
  }

  template <class T>
  void all_reduce(std::span<T> values, MPI_Op op) {
    for (std::size_t at = 0; at < values.size(); at += detail::max_chunk) {
      const int n = int(std::min(detail::max_chunk, values.size() - at));
      run(MPI_Iallreduce(MPI_IN_PLACE, values.data() + at, n, detail::mpi_type<T>(), op, data_, &request_));
    }
  }

  // Waits for the collective just started; on rank 0, a failure message from another process
  // ends the wait with remote_failure (the collective is abandoned: the job is about to end).
  void run(int started) {
    if (started != MPI_SUCCESS) throw std::runtime_error("nlm::distributed: an MPI collective failed to start");
    if (rank_ != 0 || failure_ == MPI_REQUEST_NULL) {
      MPI_Wait(&request_, MPI_STATUS_IGNORE);
      return;
    }
    std::array<MPI_Request, 2> both{request_, failure_};
    int index = MPI_UNDEFINED;
    MPI_Status status;
    MPI_Waitany(2, both.data(), &index, &status);
    request_ = both[0];
    failure_ = both[1];
    if (index == 1) {
      int length = 0;
      MPI_Get_count(&status, MPI_CHAR, &length);
      throw remote_failure("rank " + std::to_string(status.MPI_SOURCE) + ": " +
                           std::string(failure_text_.data(), std::size_t(std::max(length, 0))));
    }
  }

  MPI_Comm data_ = MPI_COMM_NULL, errors_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  MPI_Request request_ = MPI_REQUEST_NULL, failure_ = MPI_REQUEST_NULL;
  std::array<char, message_limit> failure_text_{};
};

}  // namespace nlm::distributed
