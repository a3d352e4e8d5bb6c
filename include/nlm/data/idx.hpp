/// @file
/// @brief Reader for the IDX files MNIST and Fashion-MNIST are distributed in: idx3 image
/// files (magic 0x00000803: count, rows, cols, then one unsigned byte per pixel, image after
/// image, row-major) and idx1 label files (magic 0x00000801: count, then one byte per label),
/// plain or gzip-compressed (recognised by the gzip magic bytes, decompressed with zlib).
/// Header integers are big-endian. Every malformed input (wrong magic, zero dimensions,
/// too few or too many bytes, damaged gzip stream, images and labels that do not pair up)
/// throws nlm::data::idx_error with a message that names the file and says what is wrong,
/// because a silently short data set would only surface much later as a poor model.

#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace nlm::data
{

/// Thrown for any IDX file that cannot be read or does not hold what its header promises.
class idx_error : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// Images of one idx3 file: `pixels` holds `count * rows * cols` bytes, image after image,
/// each image row-major, 0 = background, 255 = full ink.
struct images
{
    std::size_t count = 0;
    std::size_t rows = 0;
    std::size_t cols = 0;
    std::vector<std::uint8_t> pixels;
};

/// An idx3 image file and its idx1 label file, checked to hold the same number of entries.
struct labelled_images
{
    nlm::data::images images;
    std::vector<std::uint8_t> labels;
};

inline constexpr std::uint32_t idx3_magic = 0x00000803;
inline constexpr std::uint32_t idx1_magic = 0x00000801;

namespace detail
{

inline std::string hex32(std::uint32_t value)
{
    char text[11];
    std::snprintf(text, sizeof text, "0x%08X", static_cast<unsigned>(value));
    return text;
}

/// Bytes of a file or of a buffer in memory, decompressed on the fly when they start with the
/// gzip magic. zlib's gzread could pass plain files through as well, but deciding ourselves
/// lets the messages say which kind of damage was found.
class byte_source
{
public:
    /// Reads `bytes` (which must outlive the source); messages start with `name`.
    byte_source(std::span<const std::uint8_t> bytes, std::string name)
        : name_(std::move(name)), memory_(bytes), in_memory_(true)
    {
        gzipped_ = bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
        if (gzipped_)
        {
            // 16 + MAX_WBITS: a gzip wrapper, whose CRC and length zlib checks at the end.
            if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK)
                throw idx_error(where() + "cannot start gzip decompression");
            stream_ready_ = true;
            stream_.next_in = const_cast<Bytef*>(bytes.data());
            stream_.avail_in = static_cast<uInt>(std::min<std::size_t>(bytes.size(), std::numeric_limits<uInt>::max()));
            memory_position_ = stream_.avail_in;
        }
    }

    explicit byte_source(const std::filesystem::path& path) : name_(path.string())
    {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec) && !ec)
            throw idx_error(where() + "no such file");
        if (std::filesystem::is_directory(path, ec))
            throw idx_error(where() + "is a directory, not an IDX file");
        std::array<unsigned char, 2> head{};
        {
            std::ifstream probe(path, std::ios::binary);
            if (!probe)
                throw idx_error(where() + "cannot open file for reading");
            probe.read(reinterpret_cast<char*>(head.data()), head.size());
            gzipped_ = probe.gcount() == 2 && head[0] == 0x1f && head[1] == 0x8b;
        }
        if (gzipped_)
        {
            gz_ = gzopen(path.c_str(), "rb");
            if (gz_ == nullptr)
                throw idx_error(where() + "cannot open gzip file for reading");
            // 1 MiB instead of zlib's 8 KiB default: MNIST train is 47 MB uncompressed.
            gzbuffer(gz_, 1u << 20);
        }
        else
        {
            plain_.open(path, std::ios::binary);
            if (!plain_)
                throw idx_error(where() + "cannot open file for reading");
        }
    }

    byte_source(const byte_source&) = delete;
    byte_source& operator=(const byte_source&) = delete;

    ~byte_source()
    {
        if (gz_ != nullptr)
            gzclose_r(gz_);
        if (stream_ready_)
            inflateEnd(&stream_);
    }

    /// "path: " as every message starts.
    std::string where() const { return name_ + ": "; }

    /// Reads up to `n` bytes; fewer only at the end of the data. A damaged gzip stream
    /// throws with zlib's diagnosis.
    std::size_t read(std::uint8_t* out, std::size_t n)
    {
        if (in_memory_)
            return gzipped_ ? inflate_memory(out, n) : copy_memory(out, n);
        if (!gzipped_)
        {
            plain_.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
            return static_cast<std::size_t>(plain_.gcount());
        }
        std::size_t got = 0;
        while (got < n)
        {
            const auto chunk = static_cast<unsigned>(
                std::min<std::size_t>(n - got, std::numeric_limits<int>::max()));
            const int r = gzread(gz_, out + got, chunk);
            if (r > 0)
            {
                got += static_cast<std::size_t>(r);
                continue;
            }
            int code = Z_OK;
            std::string message = gzerror(gz_, &code);
            // zlib prefixes its message with the path, which ours already starts with.
            if (message.starts_with(where()))
                message.erase(0, where().size());
            // Z_BUF_ERROR is zlib's word for a stream cut short: that is a truncated file,
            // reported by the caller with the byte count; anything else is damage.
            if (r < 0 && code != Z_BUF_ERROR)
                throw idx_error(where() + "corrupt gzip data (zlib: " + message + ")");
            cut_short_ = code == Z_BUF_ERROR;
            break;
        }
        return got;
    }

    /// Whether the gzip stream ended without its trailer (as opposed to a clean end).
    bool cut_short() const { return cut_short_; }

private:
    std::size_t copy_memory(std::uint8_t* out, std::size_t n)
    {
        const std::size_t got = std::min(n, memory_.size() - memory_position_);
        std::copy_n(memory_.data() + memory_position_, got, out);
        memory_position_ += got;
        return got;
    }

    std::size_t inflate_memory(std::uint8_t* out, std::size_t n)
    {
        std::size_t got = 0;
        while (got < n && !finished_)
        {
            stream_.next_out = out + got;
            stream_.avail_out = static_cast<uInt>(std::min<std::size_t>(n - got, std::numeric_limits<uInt>::max()));
            const uInt before = stream_.avail_out;
            const int code = inflate(&stream_, Z_NO_FLUSH);
            got += before - stream_.avail_out;
            if (code == Z_STREAM_END)
            {
                // Another gzip member may follow, as gzread would read it.
                if (stream_.avail_in == 0 && memory_position_ == memory_.size())
                    finished_ = true;
                else if (inflateReset(&stream_) != Z_OK)
                    throw idx_error(where() + "corrupt gzip data (zlib: cannot reset)");
                continue;
            }
            if (code == Z_OK)
                continue;
            if (code == Z_BUF_ERROR && stream_.avail_in == 0)
            {
                if (memory_position_ < memory_.size())
                {
                    const std::size_t more = std::min<std::size_t>(memory_.size() - memory_position_,
                                                                   std::numeric_limits<uInt>::max());
                    stream_.next_in = const_cast<Bytef*>(memory_.data() + memory_position_);
                    stream_.avail_in = static_cast<uInt>(more);
                    memory_position_ += more;
                    continue;
                }
                cut_short_ = true;  // the data end before the gzip stream does
                finished_ = true;
                break;
            }
            throw idx_error(where() + "corrupt gzip data (zlib: "
                            + (stream_.msg != nullptr ? std::string(stream_.msg) : "error " + std::to_string(code))
                            + ")");
        }
        return got;
    }

    std::string name_;
    std::span<const std::uint8_t> memory_{};
    std::size_t memory_position_ = 0;
    bool in_memory_ = false;
    z_stream stream_{};
    bool stream_ready_ = false;
    bool finished_ = false;
    bool gzipped_ = false;
    bool cut_short_ = false;
    gzFile gz_ = nullptr;
    std::ifstream plain_;
};

inline std::uint32_t big_endian(const std::uint8_t* bytes)
{
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16)
           | (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

/// Reads the header, `dims` big-endian counts after the magic, and checks the magic.
template <std::size_t Dims>
std::array<std::size_t, Dims> read_header(byte_source& in, std::uint32_t expected_magic,
                                          const char* kind)
{
    constexpr std::size_t header_bytes = 4 * (Dims + 1);
    std::array<std::uint8_t, header_bytes> header{};
    const std::size_t got = in.read(header.data(), header.size());
    if (got < 4)
        throw idx_error(in.where() + "file ends after " + std::to_string(got)
                        + " bytes, before the 4-byte magic number of an " + kind);
    const std::uint32_t magic = big_endian(header.data());
    if (magic != expected_magic)
    {
        std::string message = in.where() + "bad magic number " + hex32(magic) + " (expected "
                              + hex32(expected_magic) + " for an " + kind + ")";
        if (expected_magic == idx3_magic && magic == idx1_magic)
            message += "; this looks like an idx1 label file";
        else if (expected_magic == idx1_magic && magic == idx3_magic)
            message += "; this looks like an idx3 image file";
        throw idx_error(message);
    }
    if (got < header_bytes)
        throw idx_error(in.where() + "file ends after " + std::to_string(got)
                        + " bytes, inside the " + std::to_string(header_bytes)
                        + "-byte header of an " + kind);
    std::array<std::size_t, Dims> dims{};
    for (std::size_t i = 0; i < Dims; ++i)
        dims[i] = big_endian(header.data() + 4 * (i + 1));
    return dims;
}

/// Reads exactly `expected` payload bytes and checks that nothing follows them. The buffer
/// grows as data arrives rather than trusting the header up front, so a corrupt count of
/// billions fails as a truncated file and not as an allocation of gigabytes.
inline std::vector<std::uint8_t> read_payload(byte_source& in, std::size_t expected,
                                              const std::string& what)
{
    // Chunks grow from 64 KiB to 4 MiB: a 100-byte file whose header announces gigabytes
    // costs a 64 KiB buffer before it is found short, not megabytes.
    std::size_t chunk = std::size_t{1} << 16;
    std::vector<std::uint8_t> data;
    while (data.size() < expected)
    {
        const std::size_t old_size = data.size();
        const std::size_t want = std::min(chunk, expected - old_size);
        chunk = std::min(chunk * 2, std::size_t{1} << 22);
        data.resize(old_size + want);
        const std::size_t got = in.read(data.data() + old_size, want);
        if (got < want)
        {
            std::string message = in.where() + "expected " + std::to_string(expected) + " "
                                  + what + " after the header, file ends after "
                                  + std::to_string(old_size + got);
            if (in.cut_short())
                message += " (gzip stream cut short)";
            throw idx_error(message);
        }
    }
    // Reading on to the end also makes zlib verify the gzip trailer's CRC and length.
    std::size_t extra = 0;
    std::array<std::uint8_t, 4096> rest{};
    for (std::size_t got; (got = in.read(rest.data(), rest.size())) > 0;)
        extra += got;
    if (extra > 0)
        throw idx_error(in.where() + std::to_string(extra) + " unexpected bytes after the "
                        + std::to_string(expected) + " " + what + " the header announces");
    if (in.cut_short())
        throw idx_error(in.where() + "gzip stream cut short after the " + std::to_string(expected)
                        + " " + what + " (missing gzip trailer)");
    return data;
}

} // namespace detail

namespace detail
{

inline images read_images(byte_source& in)
{
    const auto [count, rows, cols] = read_header<3>(in, idx3_magic, "idx3 image file");
    if (rows == 0 || cols == 0)
        throw idx_error(in.where() + "image dimensions " + std::to_string(rows) + "x"
                        + std::to_string(cols) + " are invalid (rows and cols must be > 0)");
    // Each factor is below 2^32; only the triple product can overflow 64 bits.
    const std::size_t per_image = rows * cols;
    if (count > std::numeric_limits<std::size_t>::max() / per_image)
        throw idx_error(in.where() + "header announces " + std::to_string(count) + " images of "
                        + std::to_string(rows) + "x" + std::to_string(cols)
                        + ", more bytes than can be addressed");
    images result{count, rows, cols, {}};
    result.pixels = read_payload(in, count * per_image, "pixel bytes");
    return result;
}

inline std::vector<std::uint8_t> read_labels(byte_source& in)
{
    const auto [count] = read_header<1>(in, idx1_magic, "idx1 label file");
    return read_payload(in, count, "label bytes");
}

} // namespace detail

/// Reads an idx3 image file (plain or gzipped).
/// @throws idx_error if the file is missing, truncated, has trailing bytes, a wrong magic
///         number, zero rows or columns, or a damaged gzip stream.
inline images read_idx_images(const std::filesystem::path& path)
{
    detail::byte_source in(path);
    return detail::read_images(in);
}

/// Reads idx3 image bytes held in memory (plain or gzipped); messages start with `name`.
/// @throws idx_error as the file version does.
inline images read_idx_images(std::span<const std::uint8_t> bytes, const std::string& name)
{
    detail::byte_source in(bytes, name);
    return detail::read_images(in);
}

/// Reads an idx1 label file (plain or gzipped): one byte per label, in file order.
/// @throws idx_error as read_idx_images does.
inline std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path)
{
    detail::byte_source in(path);
    return detail::read_labels(in);
}

/// Reads idx1 label bytes held in memory (plain or gzipped); messages start with `name`.
inline std::vector<std::uint8_t> read_idx_labels(std::span<const std::uint8_t> bytes,
                                                 const std::string& name)
{
    detail::byte_source in(bytes, name);
    return detail::read_labels(in);
}

/// Reads an image file and its label file and checks that they pair up one to one.
/// @throws idx_error if either file is bad or their counts differ.
inline labelled_images read_idx_pair(const std::filesystem::path& images_path,
                                     const std::filesystem::path& labels_path)
{
    labelled_images result{read_idx_images(images_path), read_idx_labels(labels_path)};
    if (result.images.count != result.labels.size())
        throw idx_error("image/label count mismatch: " + images_path.string() + " holds "
                        + std::to_string(result.images.count) + " images but "
                        + labels_path.string() + " holds " + std::to_string(result.labels.size())
                        + " labels");
    return result;
}

} // namespace nlm::data
