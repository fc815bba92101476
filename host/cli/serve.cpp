// `marquee serve`: the front service, recommendations and similar titles over HTTP (docs/serving.md).
#include "engine/backend.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "engine/error.h"
#include "host/server/serve.h"

#include <fstream>
#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct ServeFlags {
  server::ServeOptions serve;
  InputFlags in;
  std::string backend = "auto";
  std::string token_file;
};
}  // namespace

// The first line of --token-file, without its line end and surrounding blanks.
std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  MARQUEE_CHECK_INPUT(in.is_open(), "cannot read --token-file {}", path);
  std::string line;
  std::getline(in, line);
  const size_t first = line.find_first_not_of(" \t\r"), last = line.find_last_not_of(" \t\r");
  const std::string token = first == std::string::npos ? "" : line.substr(first, last - first + 1);
  MARQUEE_CHECK_ARG(!token.empty(), "--token-file {}: the first line is empty", path);
  return token;
}

void add_serve(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<ServeFlags>();
  server::ServeOptions& serve = f->serve;
  auto* cmd = app.add_subcommand("serve", "the front service: recommendations and similar titles over HTTP");
  f->in.add(cmd, true);
  cmd->add_option("--port", serve.http.port, "TCP port (0 = any free port)")->required();
  cmd->add_option("--grpc-port", serve.grpc.port,
                  "also serve the routes over gRPC on this port (host/server/proto/marquee.proto; 0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--bind", serve.http.bind, "address to listen on")->capture_default_str();
  cmd->add_option("--backend", f->backend, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--threads", serve.engine.scorer.cpu.threads, "CPU scoring threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--title-shards", serve.engine.title_shards, "CPU: title ranges searched in parallel (0 = one per thread)")->capture_default_str();
  cmd->add_option("--http-threads", serve.http.threads, "request threads: requests answered at once (beyond: 503)")
      ->capture_default_str();
  auto* token = cmd->add_option("--token", serve.http.token,
                                "bearer token required for writes (/v1/events, reload); visible in `ps`: prefer "
                                "--token-file");
  auto* token_file = cmd->add_option("--token-file", f->token_file, "file whose first line is the bearer token for writes")
                         ->check(CLI::ExistingFile)
                         ->excludes(token);
  cmd->add_flag("--anonymous-writes", serve.http.anonymous_writes,
                "without a token, accept writes from anyone who can reach the port (default: refused, 403)")
      ->excludes(token)
      ->excludes(token_file);
  cmd->add_option("--max-batch", serve.engine.max_batch, "searches per micro-batch")->capture_default_str();
  cmd->add_option("--max-wait-us", serve.engine.max_wait_us, "how long a batch waits for company (µs)")->capture_default_str();
  cmd->add_option("--queue-limit", serve.engine.queue_limit, "queued searches beyond which requests get 503")->capture_default_str();
  cmd->add_option("--deadline-ms", serve.engine.deadline_ms, "a search queued longer than this gets 503")->capture_default_str();
  cmd->add_option("--max-body-bytes", serve.http.max_body_bytes, "larger request bodies get 413")->capture_default_str();
  cmd->add_option("--max-k", serve.http.max_k, "largest k (0 = the catalogue size)")->capture_default_str();
  cmd->add_option("--max-events", serve.http.max_events, "events per POST /v1/events")->capture_default_str();
  cmd->add_option("--max-batch-users", serve.http.max_batch_users, "users per POST /v1/recommendations; more get 413")
      ->capture_default_str();
  cmd->add_option("--header-timeout-ms", serve.http.header_timeout_ms,
                  "a request's whole request line and headers must arrive within this")
      ->capture_default_str();
  cmd->add_option("--body-timeout-ms", serve.http.body_timeout_ms, "a request's whole body must arrive within this")
      ->capture_default_str();
  cmd->add_option("--max-header-bytes", serve.http.max_header_bytes, "request line + headers; more get 431")
      ->capture_default_str();
  cmd->add_option("--max-headers", serve.http.max_headers, "header lines per request; more get 431")->capture_default_str();
  cmd->add_option("--max-connections", serve.http.max_connections,
                  "open connections; at the cap the oldest idle or still-reading one is closed")
      ->capture_default_str();
  cmd->add_option("--max-user-events", serve.engine.max_user_events,
                  "events held per user; a user's further online events are rejected")
      ->capture_default_str();
  cmd->add_option("--index", serve.engine.index_factory, "FAISS index_factory string (HNSW32, IVF4096,Flat, Flat); default: exact");
  cmd->add_option("--index-path", serve.engine.index_path, "load the index from here, or build and save it here");
  cmd->add_option("--index-params", serve.engine.index_params, "FAISS search parameters, e.g. nprobe=32 or efSearch=128");
  cmd->add_option("--model-dir", serve.engine.model_dir,
                  "a `marquee train` model folder: recommendations and similar titles rank with it (default: tags)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--daypart", serve.engine.daypart_path,
                  "daypart model (`marquee daypart`, fitted for the served model): ?hour=H re-ranks recommendations")
      ->check(CLI::ExistingFile);
  cmd->add_option("--artwork", serve.engine.artwork_path, "artwork.csv: recommended items carry the chosen artwork_id")
      ->check(CLI::ExistingFile);

  cmd->callback([f, cmd, &exit_code] {
    server::ServeOptions& serve = f->serve;
    // Said before the snapshot loads, which can take minutes.
    MARQUEE_CHECK_ARG(serve.grpc.port == 0 || server::grpc_available(),
                      "--grpc-port: this build lacks gRPC (install libgrpc++-dev protobuf-compiler-grpc, e.g. "
                      "scripts/setup.sh, and rebuild with -DMARQUEE_WITH_GRPC=ON)");
    f->in.finish(cmd);
    serve.engine.input = f->in.input;
    serve.engine.rejects_path = f->in.common.rejects_path;
    serve.engine.strict = f->in.common.strict;
    serve.engine.max_reject_rate = f->in.common.max_reject_rate;
    serve.engine.backend = parse_backend(f->backend);
    if (!f->token_file.empty()) serve.http.token = read_token_file(f->token_file);
    exit_code = server::run_serve(serve);
  });
}

}  // namespace marquee::cli
