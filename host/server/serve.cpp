#include "host/server/serve.h"

#include "engine/error.h"

#include <spdlog/spdlog.h>

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <thread>

namespace marquee::server {

int run_serve(const ServeOptions& options) {
  // glibc gives every thread that allocates its own arena (up to 8 per core) and seldom returns
  // them: each reload's large allocations on a different connection thread grew RSS by gigabytes
  // (136 reloads: 268 MB -> 2.05 GB; with 2 arenas 433 MB). Two arenas keep that bounded; an
  // operator's MALLOC_ARENA_MAX still wins.
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
  // Signals are taken by sigwait() on this thread only: block them here, before any thread exists,
  // so that every thread started below (HTTP pool, batch worker, OpenMP) inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  struct RestoreMask {
    sigset_t mask;
    ~RestoreMask() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{previous};

  if (options.http.token.empty()) {
    if (!options.http.anonymous_writes)
      spdlog::info("serve: no --token: writes (POST /v1/events, /v1/admin/reload) are refused with 403; "
                   "SIGHUP still reloads");
    else if (options.http.bind != "127.0.0.1" && options.http.bind != "localhost" && options.http.bind != "::1")
      spdlog::warn("serve: listening on {} with --anonymous-writes: anyone who can reach it can post events and reload",
                   options.http.bind);
  }

  ServingEngine engine(options.engine);
  HttpServer http(engine, options.http);
  const int port = http.bind();
  std::unique_ptr<GrpcServer> grpc;  // --grpc-port: the same routes over gRPC (docs/serving.md, "gRPC")
  if (options.grpc.port > 0) {
    grpc = std::make_unique<GrpcServer>(engine, options.http, options.grpc);
    const int grpc_port = grpc->start();
    spdlog::info("serve: gRPC on {}:{} (host/server/proto/marquee.proto)", options.http.bind, grpc_port);
  }
  const auto snap = engine.snapshot();
  spdlog::info("serve: listening on http://{}:{} ({} users, {} titles, model {}, {}; batches of up to {}, wait {} us, queue {}, "
               "deadline {} ms{})",
               options.http.bind, port, snap->users.size(), snap->catalog.num_titles(), snap->model_version, snap->scorer->describe(),
               options.engine.max_batch, options.engine.max_wait_us, options.engine.queue_limit,
               options.engine.deadline_ms, snap->index ? ", index " + snap->index->describe() : "");

  std::atomic<bool> listen_failed{false};
  std::thread listener([&] {
    if (!http.serve()) {
      listen_failed = true;
      kill(getpid(), SIGTERM);  // wake the signal loop below
    }
  });
  if (options.on_listening) options.on_listening(port);

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      spdlog::info("serve: SIGHUP: reloading");
      try {
        engine.reload();
      } catch (const std::exception& e) {
        spdlog::error("serve: reload failed, still serving generation {}: {}", engine.snapshot()->generation, e.what());
      }
      continue;
    }
    spdlog::info("serve: {}: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  http.set_draining();
  if (grpc) grpc->set_draining();
  http.stop();        // stops accepting; returns from serve() once the requests in flight are answered
  listener.join();
  if (grpc) grpc->stop();  // waits for the RPCs in flight
  engine.stop();      // runs whatever is still queued
  if (listen_failed) MARQUEE_THROW("serve: the HTTP listener stopped unexpectedly on port {}", port);
  spdlog::info("serve: stopped");
  return 0;
}

}  // namespace marquee::server
