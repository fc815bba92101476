// Reads a text file line by line as pipelines write it: plain, gzip or zstd compressed. The
// compression is told by the file's first bytes (its magic number), not by its name, so
// `events.csv` that is really gzip, or `events.gz` piped in through /dev/stdin, read the same.
// Bytes are read through one buffer and never seeked, so pipes and FIFOs work too.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace marquee {

enum class Compression { None, Gzip, Zstd };

/// "plain", "gzip", "zstd".
const char* compression_name(Compression c);

/// True when this build reads zstd (libzstd was found at build time).
bool zstd_supported();

class LineSource {
 public:
  /// Opens `path`. Throws InputError when it cannot be opened, is a directory, is compressed in a
  /// format Marquee does not read (xz, bzip2, zip, lz4, Parquet: named), or is zstd in a build
  /// without libzstd.
  explicit LineSource(std::string path);
  ~LineSource();
  LineSource(const LineSource&) = delete;
  LineSource& operator=(const LineSource&) = delete;

  /// The next line without its '\n' (a trailing '\r' is kept: the caller decides); false at the end.
  /// Line numbers count decompressed lines. A truncated or corrupt compressed stream is an
  /// InputError naming the file, the compression and the last whole line read.
  bool getline(std::string& line);
  /// As getline, appending the line to `line` (a batch of lines in one buffer); false at the end,
  /// `line` then as it was.
  bool append_line(std::string& line);

  Compression compression() const { return compression_; }
  const std::string& path() const { return path_; }
  /// Lines returned so far (the 1-based number of the last one).
  size_t line() const { return line_; }
  /// Bytes of the file on disk consumed so far (compressed bytes for a compressed file), and the
  /// file's size (0 when unknown: a pipe): the fraction done for a progress line.
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t file_size() const { return file_size_; }

  /// The decoder of one compression (defined in line_source.cpp).
  struct Decoder;

 private:
  /// Refills `out_` from the decoder; false when the file is exhausted.
  bool refill();
  /// Reads up to `n` raw bytes of the file (the peeked magic first).
  size_t read_raw(char* to, size_t n);

  std::string path_;
  std::FILE* file_ = nullptr;
  Compression compression_ = Compression::None;
  std::string peeked_;  // the magic bytes, read before the decoder was chosen
  size_t line_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t file_size_ = 0;
  std::unique_ptr<Decoder> decoder_;
  std::string out_;  // decoded bytes not yet returned
  size_t out_pos_ = 0;
  bool eof_ = false;
};

}  // namespace marquee
