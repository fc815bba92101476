#include "host/io/line_source.h"

#include "engine/error.h"

#include <zlib.h>
#ifdef MARQUEE_HAVE_ZSTD
#include <zstd.h>
#endif

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace marquee {

namespace {
constexpr size_t kChunk = 256 * 1024;  // bytes read or decoded per step

bool starts_with(const std::string& s, const char* magic, size_t n) {
  return s.size() >= n && std::memcmp(s.data(), magic, n) == 0;
}

// Formats seen in data pipelines that this reader does not decode: named, so that the message says
// what the file is rather than showing its bytes as a header.
const char* unsupported_format(const std::string& head) {
  if (starts_with(head, "\xFD" "7zXZ\0", 6)) return "xz-compressed";
  if (starts_with(head, "BZh", 3) && head.size() >= 4 && head[3] >= '1' && head[3] <= '9') return "bzip2-compressed";
  if (starts_with(head, "PK\x03\x04", 4)) return "a zip archive";
  if (starts_with(head, "\x04\x22\x4D\x18", 4)) return "lz4-compressed";
  if (starts_with(head, "7z\xBC\xAF\x27\x1C", 6)) return "a 7-zip archive";
  if (starts_with(head, "PAR1", 4)) return "a Parquet file";
  return nullptr;
}
}  // namespace

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::Gzip: return "gzip";
    case Compression::Zstd: return "zstd";
    case Compression::None: break;
  }
  return "plain";
}

bool zstd_supported() {
#ifdef MARQUEE_HAVE_ZSTD
  return true;
#else
  return false;
#endif
}

// Appends decoded bytes to `out`: true when some were added, false at the clean end of the stream.
struct LineSource::Decoder {
  virtual ~Decoder() = default;
  virtual bool decode(LineSource& src, std::string& out) = 0;

 protected:
  // A nested class may use LineSource's private members; the decoders below reach them through these.
  static size_t read(LineSource& src, void* to, size_t n) { return src.read_raw(static_cast<char*>(to), n); }
  /// The InputError of a bad compressed stream: file, compression, what is wrong, where.
  [[noreturn]] static void fail(const LineSource& src, const std::string& what) {
    MARQUEE_THROW_AS(InputError, "{}: {} (after line {} of the decompressed text)", src.path_, what, src.line_);
  }
};

namespace {

struct PlainDecoder final : LineSource::Decoder {
  bool decode(LineSource& src, std::string& out) override;
};

// gzip through zlib's inflate (not gzFile, which needs to reopen or seek the file): one member after
// another, as `cat a.gz b.gz` and parallel compressors (pigz) write them.
struct GzipDecoder final : LineSource::Decoder {
  z_stream z{};
  std::vector<unsigned char> in = std::vector<unsigned char>(kChunk);
  bool in_member = false;
  size_t members = 0;
  GzipDecoder() {
    if (inflateInit2(&z, 15 + 16) != Z_OK) MARQUEE_THROW("zlib: cannot initialise inflate");
  }
  ~GzipDecoder() override { inflateEnd(&z); }
  bool decode(LineSource& src, std::string& out) override;
};

#ifdef MARQUEE_HAVE_ZSTD
struct ZstdDecoder final : LineSource::Decoder {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  std::vector<char> in = std::vector<char>(ZSTD_DStreamInSize());
  ZSTD_inBuffer input{in.data(), 0, 0};
  size_t pending = 0;  // ZSTD_decompressStream's last answer: 0 at the end of a frame
  ZstdDecoder() {
    if (!ctx) MARQUEE_THROW("libzstd: cannot create a decompression context");
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(ctx); }
  bool decode(LineSource& src, std::string& out) override;
};
#endif

}  // namespace

LineSource::LineSource(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  MARQUEE_CHECK_INPUT(!std::filesystem::is_directory(path_, ec), "cannot read {}: it is a directory, not a file", path_);
  file_ = std::fopen(path_.c_str(), "rb");
  MARQUEE_CHECK_INPUT(file_ != nullptr, "cannot open {}: {}", path_, std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(file_), &st) == 0 && S_ISREG(st.st_mode)) file_size_ = uint64_t(st.st_size);

  // The first bytes tell the format; they are kept and handed to the decoder, never seeked back to.
  peeked_.resize(6);
  peeked_.resize(std::fread(peeked_.data(), 1, peeked_.size(), file_));
  if (const char* what = unsupported_format(peeked_)) {
    std::fclose(file_);
    file_ = nullptr;
    MARQUEE_THROW_AS(InputError,
                     "{} is {}: Marquee reads CSV, TSV or JSON Lines, plain or compressed with gzip or zstd "
                     "(convert or recompress it)",
                     path_, what);
  }
  if (starts_with(peeked_, "\x1F\x8B", 2)) {
    compression_ = Compression::Gzip;
    decoder_ = std::make_unique<GzipDecoder>();
  } else if (starts_with(peeked_, "\x28\xB5\x2F\xFD", 4)) {
    compression_ = Compression::Zstd;
#ifdef MARQUEE_HAVE_ZSTD
    decoder_ = std::make_unique<ZstdDecoder>();
#else
    std::fclose(file_);
    file_ = nullptr;
    MARQUEE_THROW_AS(InputError,
                     "{} is zstd-compressed, and this build of Marquee lacks zstd (libzstd-dev was not found when it "
                     "was built): decompress it (zstd -d), or rebuild after scripts/setup.sh",
                     path_);
#endif
  } else {
    decoder_ = std::make_unique<PlainDecoder>();
  }
}

LineSource::~LineSource() {
  if (file_) std::fclose(file_);
}

size_t LineSource::read_raw(char* to, size_t n) {
  size_t got = 0;
  if (!peeked_.empty()) {
    got = std::min(n, peeked_.size());
    std::memcpy(to, peeked_.data(), got);
    peeked_.erase(0, got);
  }
  if (got < n) {
    got += std::fread(to + got, 1, n - got, file_);
    MARQUEE_CHECK_INPUT(!std::ferror(file_), "cannot read {}: {}", path_, std::strerror(errno));
  }
  bytes_read_ += got;
  return got;
}

bool LineSource::refill() {
  out_.clear();
  out_pos_ = 0;
  if (eof_) return false;
  if (!decoder_->decode(*this, out_)) eof_ = true;
  return !out_.empty();
}

bool LineSource::getline(std::string& line) {
  line.clear();
  return append_line(line);
}

bool LineSource::append_line(std::string& line) {
  const size_t from = line.size();
  for (;;) {
    const char* start = out_.data() + out_pos_;
    const size_t avail = out_.size() - out_pos_;
    if (const void* nl = std::memchr(start, '\n', avail)) {
      const size_t len = size_t(static_cast<const char*>(nl) - start);
      line.append(start, len);
      out_pos_ += len + 1;
      ++line_;
      return true;
    }
    line.append(start, avail);
    out_pos_ = out_.size();
    if (!refill()) {
      if (line.size() == from) return false;  // nothing after the last '\n'
      ++line_;  // a last line without '\n'
      return true;
    }
  }
}

namespace {

bool PlainDecoder::decode(LineSource& src, std::string& out) {
  out.resize(kChunk);
  const size_t n = read(src, out.data(), kChunk);
  out.resize(n);
  return n > 0;
}

bool GzipDecoder::decode(LineSource& src, std::string& out) {
  for (;;) {
    if (z.avail_in == 0) {
      const size_t n = read(src, in.data(), in.size());
      if (n == 0) {
        if (in_member) fail(src, "truncated gzip data: the file ends inside the compressed stream");
        return false;
      }
      z.next_in = in.data();
      z.avail_in = uInt(n);
    }
    if (!in_member) {  // a member starts (the first, or one more after the last one ended)
      if (members > 0 && inflateReset(&z) != Z_OK) fail(src, "zlib: cannot reset inflate");
      in_member = true;
    }
    const size_t old = out.size();
    out.resize(old + kChunk);
    z.next_out = reinterpret_cast<Bytef*>(&out[old]);
    z.avail_out = uInt(kChunk);
    const int ret = inflate(&z, Z_NO_FLUSH);
    out.resize(old + kChunk - z.avail_out);
    if (ret == Z_STREAM_END) {
      in_member = false;
      ++members;
    } else if (ret == Z_DATA_ERROR && members > 0 && out.size() == old) {
      fail(src, fmt::format("data after the end of the gzip stream that is not gzip ({})", z.msg ? z.msg : "?"));
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
      fail(src, fmt::format("corrupt gzip data ({})", z.msg ? z.msg : zError(ret)));
    }
    if (out.size() > old) return true;
  }
}

#ifdef MARQUEE_HAVE_ZSTD
bool ZstdDecoder::decode(LineSource& src, std::string& out) {
  for (;;) {
    if (input.pos == input.size) {
      const size_t n = read(src, in.data(), in.size());
      if (n == 0) {
        if (pending != 0) fail(src, "truncated zstd data: the file ends inside a compressed frame");
        return false;
      }
      input = ZSTD_inBuffer{in.data(), n, 0};
    }
    const size_t old = out.size();
    out.resize(old + kChunk);
    ZSTD_outBuffer output{&out[old], kChunk, 0};
    const size_t ret = ZSTD_decompressStream(ctx, &output, &input);
    out.resize(old + output.pos);
    if (ZSTD_isError(ret)) fail(src, fmt::format("corrupt zstd data ({})", ZSTD_getErrorName(ret)));
    pending = ret;
    if (out.size() > old) return true;
  }
}
#endif

}  // namespace

}  // namespace marquee
