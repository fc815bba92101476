// The results file's byte sink: plain, gzip or zstd, chosen by the output name's last extension
// (`recs.csv.gz`, `recs.jsonl.zst`), into an AtomicFile — so a compressed output is as atomic as a
// plain one. For machines that consume results compressed: CSV compresses ~5x and is written once.
#pragma once

#include "host/io/atomic_file.h"

#include <memory>
#include <string>
#include <string_view>

namespace marquee {

enum class OutputCompression { None, Gzip, Zstd };

/// ".gz"/".gzip" -> Gzip, ".zst"/".zstd" -> Zstd (case-insensitive; the suffixes the input
/// reader's without_compression_suffix knows), else None.
OutputCompression output_compression_of(const std::string& path);

class CompressedSink {
 public:
  /// Throws ArgumentError for .zst in a build without libzstd.
  CompressedSink(const std::string& path, OutputCompression compression);
  ~CompressedSink();
  CompressedSink(const CompressedSink&) = delete;
  CompressedSink& operator=(const CompressedSink&) = delete;

  void write(std::string_view data);
  /// Ends the stream and commits the file (AtomicFile::commit).
  void commit();

 private:
  struct Codec;
  AtomicFile file_;
  OutputCompression compression_;
  std::unique_ptr<Codec> codec_;
};

}  // namespace marquee
