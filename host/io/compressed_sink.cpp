#include "host/io/compressed_sink.h"

#include "engine/error.h"

#include <zlib.h>
#ifdef MARQUEE_HAVE_ZSTD
#include <zstd.h>
#endif

#include <algorithm>
#include <cctype>
#include <vector>

namespace marquee {
namespace {

std::string lower_extension(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  const size_t dot = name.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

constexpr size_t kChunk = 1 << 18;  // compressed bytes handed to the file at a time

}  // namespace

OutputCompression output_compression_of(const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".gz" || ext == ".gzip") return OutputCompression::Gzip;
  if (ext == ".zst" || ext == ".zstd") return OutputCompression::Zstd;
  return OutputCompression::None;
}

// One codec's stream state; write() and finish() push whatever it produced into the file.
struct CompressedSink::Codec {
  OutputCompression kind;
  std::vector<char> out = std::vector<char>(kChunk);
  z_stream gz{};
#ifdef MARQUEE_HAVE_ZSTD
  ZSTD_CCtx* zstd = nullptr;
#endif

  explicit Codec(OutputCompression k) : kind(k) {
    if (kind == OutputCompression::Gzip) {
      // windowBits 15 + 16: a gzip header and trailer (what `gzip -d` and zcat read).
      if (deflateInit2(&gz, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) MARQUEE_THROW("zlib: deflateInit2 failed");
    } else {
#ifdef MARQUEE_HAVE_ZSTD
      zstd = ZSTD_createCCtx();
      if (zstd == nullptr) MARQUEE_THROW("zstd: cannot create a compression context");
      ZSTD_CCtx_setParameter(zstd, ZSTD_c_compressionLevel, 3);
#endif
    }
  }
  ~Codec() {
    if (kind == OutputCompression::Gzip) deflateEnd(&gz);
#ifdef MARQUEE_HAVE_ZSTD
    if (zstd) ZSTD_freeCCtx(zstd);
#endif
  }

  void push(AtomicFile& file, std::string_view data, bool finish) {
    if (kind == OutputCompression::Gzip) {
      gz.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      gz.avail_in = uInt(data.size());
      int rc;
      do {
        gz.next_out = reinterpret_cast<Bytef*>(out.data());
        gz.avail_out = uInt(out.size());
        rc = deflate(&gz, finish ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) MARQUEE_THROW("zlib: deflate failed");
        file.write(out.data(), out.size() - gz.avail_out);
      } while (gz.avail_out == 0 || (finish && rc != Z_STREAM_END));
      return;
    }
#ifdef MARQUEE_HAVE_ZSTD
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      const size_t left = ZSTD_compressStream2(zstd, &o, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(left)) MARQUEE_THROW("zstd: {}", ZSTD_getErrorName(left));
      file.write(out.data(), o.pos);
      if (finish ? left == 0 : in.pos == in.size) break;
    }
#endif
  }
};

CompressedSink::CompressedSink(const std::string& path, OutputCompression compression)
    : file_(path), compression_(compression) {
#ifndef MARQUEE_HAVE_ZSTD
  MARQUEE_CHECK_ARG(compression != OutputCompression::Zstd,
                    "--out {}: this build has no zstd (install libzstd-dev and rebuild), write .gz or plain", path);
#endif
  if (compression_ != OutputCompression::None) codec_ = std::make_unique<Codec>(compression_);
}

CompressedSink::~CompressedSink() = default;

void CompressedSink::write(std::string_view data) {
  if (codec_) codec_->push(file_, data, false);
  else file_.write(data);
}

void CompressedSink::commit() {
  if (codec_) codec_->push(file_, {}, true);
  file_.commit();
}

}  // namespace marquee
