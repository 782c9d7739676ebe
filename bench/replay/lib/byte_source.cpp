// Byte sources for the trace readers: plain files, .xz (liblzma stream decoder) and .zst
// (ZSTD_decompressStream). Each decoder pulls compressed input in chunk_bytes pieces and
// decodes straight into the caller's buffer.
#include <lzma.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "trace_io.hpp"

namespace belady::replay::detail {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class file_source final : public byte_source {
 public:
  explicit file_source(std::string path) : byte_source(std::move(path)) {
    errno = 0;
    file_ = std::fopen(this->path().c_str(), "rb");
    if (file_ == nullptr) {
      throw trace_error(this->path() + ": cannot open: " + std::strerror(errno));
    }
    std::error_code ec;
    const auto size = std::filesystem::file_size(this->path(), ec);
    if (!ec) size_ = size;
  }
  ~file_source() override { std::fclose(file_); }

  std::size_t read(unsigned char* dst, std::size_t n) override {
    if (n == 0 || eof_) return 0;
    errno = 0;
    const std::size_t got = std::fread(dst, 1, n, file_);
    if (got < n) {
      if (std::ferror(file_)) {
        throw trace_error(path() + ": read error at byte offset " + std::to_string(offset_ + got) +
                          ": " + std::strerror(errno != 0 ? errno : EIO));
      }
      eof_ = true;
    }
    offset_ += got;
    return got;
  }

  std::optional<std::uint64_t> size_hint() const override { return size_; }
  std::uint64_t offset() const { return offset_; }

 private:
  std::FILE* file_ = nullptr;
  std::optional<std::uint64_t> size_;
  std::uint64_t offset_ = 0;
  bool eof_ = false;
};

const char* lzma_message(lzma_ret r) {
  switch (r) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "memory usage limit reached";
    case LZMA_FORMAT_ERROR: return "not in the .xz format";
    case LZMA_OPTIONS_ERROR: return "unsupported compression options";
    case LZMA_DATA_ERROR: return "compressed data is corrupt";
    case LZMA_BUF_ERROR: return "unexpected end of input (truncated .xz file)";
    case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
    case LZMA_PROG_ERROR: return "internal error (LZMA_PROG_ERROR)";
    default: return "unknown liblzma error";
  }
}

/// Decoded size of an .xz file from its stream footers and indexes (read from the end of the
/// file, a few KiB), without decoding anything. nullopt when the file does not look right; the
/// decoder then reports the actual problem.
std::optional<std::uint64_t> xz_decoded_size(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  f.seekg(0, std::ios::end);
  const std::streamoff file_size = f.tellg();
  if (file_size < 0) return std::nullopt;
  auto read_at = [&](std::uint64_t offset, unsigned char* dst, std::size_t n) {
    f.clear();
    f.seekg(static_cast<std::streamoff>(offset));
    f.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
    return static_cast<std::size_t>(f.gcount()) == n;
  };
  std::uint64_t end = static_cast<std::uint64_t>(file_size);  // end of the not yet seen prefix
  std::uint64_t total = 0;
  std::vector<unsigned char> index;
  for (int streams = 0; end > 0; ++streams) {
    if (streams == 4096) return std::nullopt;
    unsigned char word[4];
    while (end >= 4 && read_at(end - 4, word, 4) && (word[0] | word[1] | word[2] | word[3]) == 0) {
      end -= 4;  // stream padding
    }
    if (end < 2 * LZMA_STREAM_HEADER_SIZE) return std::nullopt;
    unsigned char footer[LZMA_STREAM_HEADER_SIZE];
    lzma_stream_flags flags;
    if (!read_at(end - LZMA_STREAM_HEADER_SIZE, footer, sizeof footer) ||
        lzma_stream_footer_decode(&flags, footer) != LZMA_OK) {
      return std::nullopt;
    }
    const std::uint64_t index_size = flags.backward_size;
    if (index_size > end - 2 * LZMA_STREAM_HEADER_SIZE || index_size > (std::uint64_t{1} << 30)) {
      return std::nullopt;
    }
    index.resize(index_size);
    if (!read_at(end - LZMA_STREAM_HEADER_SIZE - index_size, index.data(), index.size())) {
      return std::nullopt;
    }
    lzma_index* idx = nullptr;
    std::uint64_t memlimit = UINT64_MAX;
    std::size_t in_pos = 0;
    if (lzma_index_buffer_decode(&idx, &memlimit, nullptr, index.data(), &in_pos, index.size()) !=
        LZMA_OK) {
      return std::nullopt;
    }
    total += lzma_index_uncompressed_size(idx);
    const std::uint64_t stream_size = lzma_index_stream_size(idx);  // header + blocks + index + footer
    lzma_index_end(idx, nullptr);
    if (stream_size > end) return std::nullopt;
    end -= stream_size;
  }
  return total;
}

/// Decoded size of the first frame of a .zst file when its header records it (zstd does for
/// single-shot and file compression); only a hint, later frames are not counted.
std::optional<std::uint64_t> zstd_first_frame_size(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char header[18];  // ZSTD_FRAMEHEADERSIZE_MAX (only in the static-linking API)
  f.read(reinterpret_cast<char*>(header), sizeof header);
  const unsigned long long n =
      ZSTD_getFrameContentSize(header, static_cast<std::size_t>(f.gcount()));
  if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) return std::nullopt;
  return n;
}

class xz_source final : public byte_source {
 public:
  explicit xz_source(std::string path)
      : byte_source(path), file_(std::move(path)), in_(chunk_bytes) {
    const lzma_ret r = lzma_stream_decoder(&strm_, UINT64_MAX, LZMA_CONCATENATED);
    if (r != LZMA_OK) fail(r);
    size_ = xz_decoded_size(this->path());
  }
  ~xz_source() override { lzma_end(&strm_); }

  std::size_t read(unsigned char* dst, std::size_t n) override {
    if (done_ || n == 0) return 0;
    strm_.next_out = dst;
    strm_.avail_out = n;
    while (strm_.avail_out > 0) {
      if (strm_.avail_in == 0 && !input_eof_) {
        const std::size_t got = file_.read(in_.data(), in_.size());
        strm_.next_in = in_.data();
        strm_.avail_in = got;
        input_eof_ = got == 0;
      }
      const lzma_ret r = lzma_code(&strm_, input_eof_ ? LZMA_FINISH : LZMA_RUN);
      if (r == LZMA_STREAM_END) {
        done_ = true;
        break;
      }
      if (r != LZMA_OK) fail(r);
    }
    return n - strm_.avail_out;
  }

  std::optional<std::uint64_t> size_hint() const override { return size_; }
  bool compressed() const override { return true; }

 private:
  [[noreturn]] void fail(lzma_ret r) const {
    throw trace_error(path() + ": xz decoder: " + lzma_message(r) + " (compressed byte offset " +
                      std::to_string(strm_.total_in) + ")");
  }

  file_source file_;
  std::optional<std::uint64_t> size_;
  std::vector<unsigned char> in_;
  lzma_stream strm_ = LZMA_STREAM_INIT;
  bool input_eof_ = false;
  bool done_ = false;
};

class zstd_source final : public byte_source {
 public:
  explicit zstd_source(std::string path)
      : byte_source(path), file_(std::move(path)), buf_(chunk_bytes), dctx_(ZSTD_createDCtx()) {
    if (dctx_ == nullptr) throw trace_error(this->path() + ": zstd decoder: out of memory");
    size_ = zstd_first_frame_size(this->path());
  }
  ~zstd_source() override { ZSTD_freeDCtx(dctx_); }

  std::size_t read(unsigned char* dst, std::size_t n) override {
    ZSTD_outBuffer out{dst, n, 0};
    while (out.pos < out.size) {
      if (in_.pos == in_.size && !input_eof_) {
        const std::size_t got = file_.read(buf_.data(), buf_.size());
        in_ = ZSTD_inBuffer{buf_.data(), got, 0};
        input_eof_ = got == 0;
      }
      const std::size_t out_before = out.pos;
      const std::size_t in_before = in_.pos;
      const std::size_t r = ZSTD_decompressStream(dctx_, &out, &in_);
      if (ZSTD_isError(r)) {
        throw trace_error(path() + ": zstd decoder: " + ZSTD_getErrorName(r) +
                          " (compressed byte offset " +
                          std::to_string(file_.offset() - (in_.size - in_.pos)) + ")");
      }
      if (out.pos != out_before || in_.pos != in_before) {
        frame_open_ = r != 0;  // 0: a frame ended and everything is flushed
      } else if (input_eof_ && in_.pos == in_.size) {
        // No input left and no progress: done, or the last frame is cut short.
        if (frame_open_) {
          throw trace_error(path() + ": zstd decoder: unexpected end of input (truncated .zst "
                            "file at compressed byte offset " + std::to_string(file_.offset()) + ")");
        }
        break;
      }
    }
    return out.pos;
  }

  std::optional<std::uint64_t> size_hint() const override { return size_; }
  bool compressed() const override { return true; }

 private:
  file_source file_;
  std::optional<std::uint64_t> size_;
  std::vector<unsigned char> buf_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  ZSTD_DCtx* dctx_;
  bool input_eof_ = false;
  bool frame_open_ = false;
};

}  // namespace

std::unique_ptr<byte_source> open_byte_source(const std::string& path) {
  if (ends_with(path, ".xz")) return std::make_unique<xz_source>(path);
  if (ends_with(path, ".zst")) return std::make_unique<zstd_source>(path);
  return std::make_unique<file_source>(path);
}

}  // namespace belady::replay::detail
