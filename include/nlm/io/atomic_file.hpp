/// @file
/// @brief Crash-safe file output and path-naming file input. write_atomically() writes a
/// file's new contents to a temporary file beside it, forces them to disk, renames the
/// temporary over the target and forces the directory entry to disk, so that a reader (or a
/// run restarted after a crash or a full disk) sees either the complete old file or the
/// complete new one, never a torn mix: couplings and checkpoints written every few epochs of
/// a long training run must not be lost to an interruption during the write.
/// open_for_reading() is the input side: its errors name the path and the system's reason.
/// POSIX only (open, fsync, rename semantics of Linux and the BSDs).

#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace nlm::io
{

namespace detail
{

inline std::runtime_error file_error(const std::filesystem::path& path, std::string_view what,
                                     int error_number)
{
    return std::runtime_error(path.string() + ": " + std::string(what) + ": "
                              + std::generic_category().message(error_number));
}

/// Output buffer over a POSIX file descriptor. std::ofstream would do for the bytes, but it
/// gives no access to its descriptor for fsync and loses errno; this keeps the first error.
class fd_streambuf : public std::streambuf
{
public:
    explicit fd_streambuf(int fd) : fd_(fd), buffer_(std::size_t{1} << 16)
    {
        reset_put_area();
    }

    /// errno of the first failed write, 0 if none failed.
    int error() const { return error_; }

protected:
    int_type overflow(int_type ch) override
    {
        if (!flush_buffer())
            return traits_type::eof();
        if (!traits_type::eq_int_type(ch, traits_type::eof()))
        {
            *pptr() = traits_type::to_char_type(ch);
            pbump(1);
        }
        return traits_type::not_eof(ch);
    }

    /// Large blocks (array data) go straight to the descriptor instead of through the buffer.
    std::streamsize xsputn(const char* s, std::streamsize n) override
    {
        if (n <= epptr() - pptr())
        {
            std::memcpy(pptr(), s, static_cast<std::size_t>(n));
            pbump(static_cast<int>(n));
            return n;
        }
        if (!flush_buffer())
            return 0;
        if (n < static_cast<std::streamsize>(buffer_.size()))
        {
            std::memcpy(pptr(), s, static_cast<std::size_t>(n));
            pbump(static_cast<int>(n));
            return n;
        }
        return write_all(s, static_cast<std::size_t>(n)) ? n : 0;
    }

    int sync() override { return flush_buffer() ? 0 : -1; }

private:
    void reset_put_area() { setp(buffer_.data(), buffer_.data() + buffer_.size()); }

    bool flush_buffer()
    {
        const auto pending = static_cast<std::size_t>(pptr() - pbase());
        const bool ok = pending == 0 || write_all(pbase(), pending);
        reset_put_area();
        return ok;
    }

    bool write_all(const char* data, std::size_t n)
    {
        if (error_ != 0)
            return false;
        while (n > 0)
        {
            const ::ssize_t written = ::write(fd_, data, n);
            if (written < 0)
            {
                if (errno == EINTR)
                    continue;
                error_ = errno;
                return false;
            }
            data += written;
            n -= static_cast<std::size_t>(written);
        }
        return true;
    }

    int fd_;
    int error_ = 0;
    std::vector<char> buffer_;
};

/// Owns the temporary file until it has been renamed: closes and deletes it on every way out.
class temporary_file
{
public:
    temporary_file(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
    temporary_file(const temporary_file&) = delete;
    temporary_file& operator=(const temporary_file&) = delete;

    ~temporary_file()
    {
        if (fd_ >= 0)
            ::close(fd_);
        if (!renamed_)
            ::unlink(path_.c_str());
    }

    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return path_; }

    /// Closes the descriptor, returning errno on failure (close can report a deferred write
    /// error on network file systems) and 0 on success.
    int close()
    {
        const int fd = std::exchange(fd_, -1);
        return ::close(fd) == 0 ? 0 : errno;
    }

    void mark_renamed() { renamed_ = true; }

private:
    std::filesystem::path path_;
    int fd_;
    bool renamed_ = false;
};

/// Ignores SIGXFSZ while it lives. A write past the file-size limit (ulimit -f) would otherwise
/// kill the process inside write(2), leaving the temporary file behind; ignored, the write
/// fails with EFBIG, which is reported and the temporary removed like any other failed write.
class ignore_file_size_signal
{
public:
    ignore_file_size_signal()
    {
        struct sigaction ignore{};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        active_ = ::sigaction(SIGXFSZ, &ignore, &previous_) == 0;
    }
    ~ignore_file_size_signal()
    {
        if (active_)
            ::sigaction(SIGXFSZ, &previous_, nullptr);
    }
    ignore_file_size_signal(const ignore_file_size_signal&) = delete;
    ignore_file_size_signal& operator=(const ignore_file_size_signal&) = delete;

private:
    struct sigaction previous_{};
    bool active_ = false;
};

/// Called between the steps of write_atomically() with the temporary file's path and a step
/// name ("written", "synced", "renamed"), for fault-injection tests that stop the process
/// there. Null (nothing is called) unless a test sets it.
inline void (*&write_step_hook())(const std::filesystem::path&, const char*)
{
    static void (*hook)(const std::filesystem::path&, const char*) = nullptr;
    return hook;
}

/// Removes `<target>.tmp.<pid>.<n>` files left by processes that no longer exist (killed in
/// the middle of a write: SIGKILL, power loss), so that repeated crashes leave no litter.
/// Files of live processes, and anything not named so, are left alone.
inline void remove_stale_temporaries(const std::filesystem::path& target)
{
    const std::string prefix = target.filename().string() + ".tmp.";
    const std::filesystem::path directory =
        target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec))
    {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0)
            continue;
        const std::string rest = name.substr(prefix.size());
        const auto dot = rest.find('.');
        if (dot == 0 || dot == std::string::npos
            || rest.find_first_not_of("0123456789") != dot
            || rest.find_first_not_of("0123456789", dot + 1) != std::string::npos || dot + 1 == rest.size())
            continue;
        const long pid = std::stol(rest.substr(0, dot));
        if (pid <= 0 || pid == ::getpid())
            continue;
        if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        {
            std::error_code ignored;
            std::filesystem::remove(it->path(), ignored);
        }
    }
}

/// Distinct for every call in this process; the pid in the name separates processes.
inline unsigned long next_temporary_number()
{
    static std::atomic<unsigned long> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace detail

/// Replaces `target` with the bytes `writer` puts into the stream it is given, atomically:
/// afterwards the file holds either its previous contents (when anything failed) or all of
/// the new ones, even across a crash or power loss. The temporary file is
/// `<target>.tmp.<pid>.<n>` in the target's directory (a rename is only atomic within one
/// file system); it is removed whenever the write does not complete. A new file gets the
/// default permissions (0666 less the umask), also when it replaces an existing one.
///
/// @throws std::runtime_error naming `target`, the step that failed and the system's reason
///         (e.g. a missing directory, a full disk); an exception thrown by `writer` itself
///         propagates unchanged unless it was caused by a failed write to the file, which is
///         then reported with its errno text instead.
inline void write_atomically(const std::filesystem::path& target,
                             const std::function<void(std::ostream&)>& writer)
{
    if (!target.has_filename())
        throw std::runtime_error(target.string() + ": cannot write: not a file name");
    const std::filesystem::path temporary_path =
        target.parent_path()
        / (target.filename().string() + ".tmp." + std::to_string(::getpid()) + "."
           + std::to_string(detail::next_temporary_number()));

    // O_EXCL: never write through a stale temporary someone else still holds open.
    const int fd = ::open(temporary_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        throw detail::file_error(target, "cannot create temporary file " + temporary_path.string(),
                                 errno);
    detail::temporary_file temporary(temporary_path, fd);
    const detail::ignore_file_size_signal no_sigxfsz;
    const auto step = [&](const char* name) {
        if (auto* hook = detail::write_step_hook())
            hook(temporary_path, name);
    };

    {
        detail::fd_streambuf buffer(temporary.fd());
        std::ostream out(&buffer);
        try
        {
            writer(out);
        }
        catch (...)
        {
            if (buffer.error() != 0)
                throw detail::file_error(target, "cannot write " + temporary_path.string(),
                                         buffer.error());
            throw;
        }
        out.flush();
        if (buffer.error() != 0)
            throw detail::file_error(target, "cannot write " + temporary_path.string(),
                                     buffer.error());
        if (!out)
            throw std::runtime_error(target.string()
                                     + ": writing failed: the stream was left in a failed state");
    }

    step("written");
    if (::fsync(temporary.fd()) != 0)
        throw detail::file_error(target, "cannot flush " + temporary_path.string() + " to disk",
                                 errno);
    if (const int error = temporary.close(); error != 0)
        throw detail::file_error(target, "cannot close " + temporary_path.string(), error);

    step("synced");
    std::error_code ec;
    std::filesystem::rename(temporary_path, target, ec);
    if (ec)
        throw detail::file_error(target, "cannot rename " + temporary_path.string() + " over it",
                                 ec.value());
    temporary.mark_renamed();
    step("renamed");
    detail::remove_stale_temporaries(target);

    // The rename is durable only once the directory itself is on disk.
    const std::filesystem::path directory =
        target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd < 0)
        throw detail::file_error(target, "written, but cannot open its directory to flush it",
                                 errno);
    const int sync_result = ::fsync(directory_fd);
    const int sync_error = errno;
    ::close(directory_fd);
    // EINVAL: file systems that cannot sync a directory (some FUSE and network mounts) say so;
    // the rename has happened and nothing more can be done there.
    if (sync_result != 0 && sync_error != EINVAL)
        throw detail::file_error(target, "written, but cannot flush its directory to disk",
                                 sync_error);
}

/// Opens `path` for binary reading.
/// @throws std::runtime_error "<path>: cannot open for reading: <reason>" when the file is
///         missing, unreadable or a directory.
inline std::ifstream open_for_reading(const std::filesystem::path& path)
{
    std::error_code ec;
    // A directory opens "successfully" on Linux and only fails at the first read.
    if (std::filesystem::is_directory(path, ec))
        throw detail::file_error(path, "cannot open for reading", EISDIR);
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in)
    {
        const int error = errno != 0 ? errno : EIO;
        throw detail::file_error(path, "cannot open for reading", error);
    }
    return in;
}

}  // namespace nlm::io
