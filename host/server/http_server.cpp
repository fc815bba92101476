// The transport of `marquee serve`: Boost.Beast sessions on a few Asio I/O threads, a bounded pool of
// request threads for the routes (api.cpp), the connection registry that enforces --max-connections,
// and the drain. One translation unit, so Beast's templates are compiled once.
#include "host/server/http_server.h"

#include "host/server/api.h"

#include "engine/error.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

namespace marquee::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = beast::error_code;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Request threads: complete requests only; a full pool answers 503 at once instead of queueing.

class RequestPool {
 public:
  RequestPool(size_t threads, size_t max_pending, Metrics& metrics)
      : capacity_(threads + max_pending), metrics_(metrics) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~RequestPool() { stop(); }

  /// Queues `job` unless `capacity` requests are already taken or waiting; false: the caller answers 503.
  bool try_submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_ || busy_ + jobs_.size() >= capacity_) return false;
      jobs_.push_back(std::move(job));
      metrics_.set("marquee_http_connections_waiting", {}, double(jobs_.size()));
    }
    cv_.notify_one();
    return true;
  }

  /// Runs the queued jobs, then joins the threads. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopped_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopped and drained
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      metrics_.set("marquee_http_connections_waiting", {}, double(jobs_.size()));
      ++busy_;
      lock.unlock();
      job();
      job = nullptr;  // releases what the job holds (its session) before the slot is freed
      lock.lock();
      --busy_;
    }
  }

  const size_t capacity_;
  Metrics& metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t busy_ = 0;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

class Session;

}  // namespace

// ---------------------------------------------------------------------------------------------

struct HttpServer::Impl {
  ServingEngine& engine;
  const HttpOptions& options;
  Api api;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::unique_ptr<RequestPool> pool;
  net::steady_timer accept_retry{ioc};
  size_t max_connections = 0;

  std::atomic<bool> stopping{false};
  // Open connections, oldest first: at --max-connections the oldest one not being answered is closed.
  std::mutex sessions_mu;
  std::list<std::weak_ptr<Session>> sessions;

  Impl(ServingEngine& e, const HttpOptions& o) : engine(e), options(o), api(e, o) {}

  void declare_metrics();
  void accept();
  void on_accept(error_code ec, tcp::socket socket);
  bool evict_oldest_idle();
  void refuse(tcp::socket& socket, const std::string& message);
  void shutdown();
  void session_closed(std::list<std::weak_ptr<Session>>::iterator entry);
  // Lets ioc.run() return once nothing is left to do; from any I/O thread.
  void release_work() {
    std::lock_guard<std::mutex> lock(work_mu);
    work.reset();
  }
  std::mutex work_mu;
  void dropped(const char* reason) { engine.metrics().inc("marquee_http_connections_dropped_total", {{"reason", reason}}); }
};

namespace {

// Reading: waiting for or receiving a request (closable at the cap and by the drain); Evicting: chosen
// to be closed at the cap; Answering: a request is being answered (never closed early).
enum class Phase { Reading, Evicting, Answering };

// One connection: read a request within the deadlines and limits, answer it, repeat while kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& server, tcp::socket socket) : s_(server), stream_(std::move(socket)) {}
  ~Session() { s_.session_closed(registry); }

  std::list<std::weak_ptr<Session>>::iterator registry;  // set once by the acceptor, under sessions_mu
  std::atomic<Phase> phase{Phase::Reading};

  void start() { read_request(true); }

  /// Closes the connection unless it has begun answering a request (the connection cap, the drain);
  /// on its strand, where the phase cannot change under it.
  void close_if_reading() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->phase == Phase::Answering || !self->stream_.socket().is_open()) return;
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
    });
  }

 private:
  void read_request(bool first) {
    phase = Phase::Reading;
    if (s_.stopping) return close();
    if (buffer_.size() == 0) buffer_.shrink_to_fit();  // an idle connection keeps no read buffer
    parser_.emplace();
    parser_->header_limit(uint32_t(std::min<size_t>(s_.options.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(uint64_t(s_.options.max_body_bytes));
    if (first || buffer_.size() > 0) return read_header();
    // Kept alive: wait up to keep_alive_seconds for the next request to begin; its header deadline
    // runs from its first byte.
    stream_.expires_after(std::chrono::seconds(s_.options.keep_alive_seconds));
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec, size_t n) {
      if (ec) return self->close();  // idle past keep-alive, or the client closed
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    stream_.expires_after(milliseconds(s_.options.header_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec) return on_read_error(ec, "header_deadline");
    started_ = Clock::now();
    const auto& req = parser_->get();
    route_ = Api::route_label(std::string(req.method_string()), path_of(req.target()));
    const size_t lines = size_t(std::distance(req.begin(), req.end()));
    if (lines > s_.options.max_headers)
      return refuse(431, fmt::format("{} header lines; the limit is {} (--max-headers)", lines, s_.options.max_headers));
    if (parser_->content_length() && *parser_->content_length() > s_.options.max_body_bytes)
      return refuse(413, too_large());
    if (parser_->is_done()) return on_body({});
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a large body.
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(milliseconds(s_.options.write_timeout_ms));
      return net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](error_code e, size_t) {
        if (e) return self->close();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(milliseconds(s_.options.body_timeout_ms));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(error_code ec) {
    if (ec) return on_read_error(ec, "body_deadline");
    stream_.expires_never();  // the engine's deadline bounds the search
    phase = Phase::Answering;
    auto& in = parser_->get();
    keep_alive_ = in.keep_alive() && ++served_ < s_.options.keep_alive_max_requests;
    auto req = std::make_shared<Request>();
    req->method = std::string(in.method_string());
    split_target(std::string(in.target()), req->path, req->params);
    for (const auto& f : in) req->headers.emplace(std::string(f.name_string()), std::string(f.value()));
    req->body = std::move(in.body());
    const bool taken = s_.pool->try_submit([self = shared_from_this(), req] {
      Response res;
      self->s_.api.handle(*req, res);
      net::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
    });
    if (!taken) {
      Response res;
      res.set_header("Retry-After", "1");
      Api::error(res, 503,
                 fmt::format("overloaded: all {} request threads are busy and {} requests are waiting; retry later",
                             s_.options.threads, s_.options.max_pending_requests),
                 "overloaded");
      s_.engine.metrics().inc("marquee_http_connections_shed_total");
      write(std::move(res));
    }
  }

  // A request that could not be read: the connection is closed, with an answer when one can be sent.
  void on_read_error(error_code ec, const char* deadline_reason) {
    if (ec == beast::error::timeout) {
      s_.dropped(deadline_reason);  // the socket is already closed: a slow client gets no answer
      return;
    }
    if (ec == http::error::body_limit) return refuse(413, too_large());  // a Content-Length, or chunks, over it
    if (ec == http::error::header_limit)
      return refuse(431, fmt::format("the request line and headers exceed {} bytes (--max-header-bytes)",
                                     s_.options.max_header_bytes));
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == net::error::bad_descriptor)
      return close();
    refuse(400, fmt::format("the request could not be read as HTTP/1.1: {}", ec.message()));
  }

  std::string too_large() const {
    const auto length = parser_->content_length();
    return fmt::format("the request body{} exceeds the limit of {} bytes (--max-body-bytes)",
                       length ? fmt::format(" ({} bytes)", *length) : std::string(), s_.options.max_body_bytes);
  }

  // Answers an unreadable or refused request and closes: the rest of it is never read.
  void refuse(int status, const std::string& message) {
    if (started_ == Clock::time_point{}) started_ = Clock::now();
    if (route_.empty()) route_ = "other";
    phase = Phase::Answering;
    keep_alive_ = false;
    refused_ = true;
    Response res;
    Api::error(res, status, message);
    write(std::move(res));
  }

  void write(Response r) {
    if (s_.stopping) keep_alive_ = false;
    status_ = r.status;
    res_ = {};
    res_.version(11);
    res_.result(unsigned(r.status));
    if (!r.content_type.empty()) res_.set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res_.insert(name, value);
    res_.keep_alive(keep_alive_);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    stream_.expires_after(milliseconds(s_.options.write_timeout_ms));
    http::async_write(stream_, res_, [self = shared_from_this()](error_code ec, size_t) { self->on_write(ec); });
  }

  // After refusing a request whose rest was never read: stop sending, then read and discard what the
  // client still sends (briefly), so that closing does not reset the connection before the client
  // has read the answer.
  void linger() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    linger_more();
  }
  void linger_more() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 * 1024), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->stream_.close();
      self->linger_more();
    });
  }

  void on_write(error_code ec) {
    res_ = {};  // an idle keep-alive connection keeps no answer
    Metrics& m = s_.engine.metrics();
    m.inc("marquee_http_requests_total", {{"route", route_}, {"code", std::to_string(status_)}});
    m.observe("marquee_http_request_seconds", {{"route", route_}},
              std::chrono::duration<double>(Clock::now() - started_).count());
    route_.clear();
    started_ = {};
    if (ec == beast::error::timeout) s_.dropped("write_deadline");
    if (ec) return close();
    if (refused_) return linger();
    if (!keep_alive_) return close();
    read_request(false);
  }

  void close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  static std::string path_of(beast::string_view target) {
    const std::string t(target);
    std::string path;
    std::multimap<std::string, std::string> unused;
    split_target(t.substr(0, t.find('?')), path, unused);
    return path;
  }

  HttpServer::Impl& s_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;  // alive while it is written
  size_t served_ = 0;
  bool keep_alive_ = false;
  bool refused_ = false;  // answered before the request was read whole: linger() before closing
  std::string route_;
  int status_ = 0;
  Clock::time_point started_{};  // headers read: the request's latency runs from here
};

}  // namespace

// ---------------------------------------------------------------------------------------------

void HttpServer::Impl::declare_metrics() {
  Metrics& m = engine.metrics();
  m.add_counter("marquee_http_requests_total", "HTTP requests by route and status code");
  m.add_histogram("marquee_http_request_seconds", "HTTP request latency by route (headers read to response written)",
                  Metrics::latency_buckets());
  m.add_counter("marquee_http_connections_shed_total",
                "requests answered 503 at once because every request thread was busy and the wait list full, "
                "or connections refused at --max-connections with none to close");
  m.add_gauge("marquee_http_connections_waiting", "requests read whole and waiting for a request thread");
  m.add_gauge("marquee_http_connections_open", "open client connections");
  m.add_counter("marquee_http_connections_dropped_total",
                "connections closed by the server: header_deadline, body_deadline, write_deadline, or evicted "
                "(the oldest reading connection, closed at --max-connections to make room)");
  m.inc("marquee_http_connections_shed_total", {}, 0);
  m.set("marquee_http_connections_open", {}, 0);
  for (const char* reason : {"header_deadline", "body_deadline", "write_deadline", "evicted"})
    m.inc("marquee_http_connections_dropped_total", {{"reason", reason}}, 0);
}

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void HttpServer::Impl::on_accept(error_code ec, tcp::socket socket) {
  if (stopping || !acceptor.is_open()) return;
  if (ec) {
    // Out of file descriptors (or a connection reset before it was taken): wait a moment rather
    // than spin on the same error.
    spdlog::warn("serve: accept failed: {}", ec.message());
    accept_retry.expires_after(milliseconds(100));
    accept_retry.async_wait([this](error_code e) {
      if (!e) accept();
    });
    return;
  }
  size_t open;
  {
    std::lock_guard<std::mutex> lock(sessions_mu);
    open = sessions.size();
  }
  if (open >= max_connections && !evict_oldest_idle()) {
    refuse(socket, fmt::format("overloaded: {} connections are open and all are being answered (--max-connections); "
                               "retry later",
                               open));
  } else {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(*this, std::move(socket));
    {
      std::lock_guard<std::mutex> lock(sessions_mu);
      session->registry = sessions.insert(sessions.end(), session);
      engine.metrics().set("marquee_http_connections_open", {}, double(sessions.size()));
    }
    session->start();
  }
  accept();
}

bool HttpServer::Impl::evict_oldest_idle() {
  // The chosen session is released after the lock: if this is its last reference, ~Session takes
  // the lock again.
  std::shared_ptr<Session> chosen;
  {
    std::lock_guard<std::mutex> lock(sessions_mu);
    for (auto& weak : sessions) {
      auto s = weak.lock();
      Phase reading = Phase::Reading;
      if (s && s->phase.compare_exchange_strong(reading, Phase::Evicting)) {  // not chosen twice
        chosen = std::move(s);
        break;
      }
    }
  }
  if (!chosen) return false;
  chosen->close_if_reading();
  dropped("evicted");
  return true;
}

void HttpServer::Impl::refuse(tcp::socket& socket, const std::string& message) {
  // A fresh socket's send buffer is empty: this short blocking write cannot stall the acceptor.
  Response res;
  Api::error(res, 503, message, "overloaded");
  const std::string raw = fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: {}\r\nContent-Length: {}\r\nRetry-After: 1\r\nConnection: "
      "close\r\n\r\n{}",
      res.content_type, res.body.size(), res.body);
  error_code ignored;
  net::write(socket, net::buffer(raw), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  engine.metrics().inc("marquee_http_connections_shed_total");
}

void HttpServer::Impl::shutdown() {
  error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  std::vector<std::shared_ptr<Session>> open;  // released after the lock (see evict_oldest_idle)
  {
    std::lock_guard<std::mutex> lock(sessions_mu);
    for (auto& weak : sessions)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->close_if_reading();
  if (open.empty()) release_work();
}

void HttpServer::Impl::session_closed(std::list<std::weak_ptr<Session>>::iterator entry) {
  // Runs in ~Session, on whichever thread let go of it last.
  std::lock_guard<std::mutex> lock(sessions_mu);
  sessions.erase(entry);
  engine.metrics().set("marquee_http_connections_open", {}, double(sessions.size()));
  if (stopping && sessions.empty()) net::post(ioc, [this] { release_work(); });
}

// ---------------------------------------------------------------------------------------------

HttpServer::HttpServer(ServingEngine& engine, HttpOptions options) : options_(std::move(options)) {
  MARQUEE_CHECK_ARG(options_.port >= 0 && options_.port <= 65535, "--port must be between 0 and 65535; got {}",
                    options_.port);
  MARQUEE_CHECK_ARG(options_.threads >= 1 && options_.threads <= 4096, "--http-threads must be between 1 and 4096; got {}",
                    options_.threads);
  MARQUEE_CHECK_ARG(options_.io_threads >= 1 && options_.io_threads <= 64, "io threads must be between 1 and 64; got {}",
                    options_.io_threads);
  MARQUEE_CHECK_ARG(options_.max_body_bytes >= 1, "--max-body-bytes must be at least 1");
  MARQUEE_CHECK_ARG(options_.max_events >= 1, "--max-events must be at least 1");
  MARQUEE_CHECK_ARG(options_.max_batch_users >= 1, "--max-batch-users must be at least 1");
  MARQUEE_CHECK_ARG(options_.max_header_bytes >= 256, "--max-header-bytes must be at least 256; got {}",
                    options_.max_header_bytes);
  MARQUEE_CHECK_ARG(options_.max_headers >= 1, "--max-headers must be at least 1");
  MARQUEE_CHECK_ARG(options_.header_timeout_ms >= 1 && options_.body_timeout_ms >= 1,
                    "--header-timeout-ms and --body-timeout-ms must be at least 1");
  MARQUEE_CHECK_ARG(options_.max_connections >= 1, "--max-connections must be at least 1");
  impl_ = std::make_unique<Impl>(engine, options_);
  impl_->declare_metrics();
  // Each connection is a file descriptor: keep the cap below the process's limit (less a margin
  // for model files, logs and the engine), so that the cap, not accept(), is what refuses.
  impl_->max_connections = options_.max_connections;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    const size_t room = files.rlim_cur > 128 ? size_t(files.rlim_cur) - 128 : 1;
    if (room < impl_->max_connections) {
      spdlog::warn("serve: --max-connections {} lowered to {}: the open-files limit is {} (raise it with ulimit -n)",
                   impl_->max_connections, room, files.rlim_cur);
      impl_->max_connections = room;
    }
  }
}

HttpServer::~HttpServer() {
  stop();
  if (impl_->pool) impl_->pool->stop();
}

int HttpServer::bind() {
  auto& acc = impl_->acceptor;
  error_code ec;
  const auto address = net::ip::make_address(options_.bind == "localhost" ? "127.0.0.1" : options_.bind, ec);
  if (!ec) {
    const tcp::endpoint endpoint(address, uint16_t(options_.port));
    acc.open(endpoint.protocol(), ec);
    // SO_REUSEADDR only (no SO_REUSEPORT, which would let a second server take half the traffic).
    if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acc.bind(endpoint, ec);
    if (!ec) acc.listen(1024, ec);  // a burst of new connections waits in the backlog, not in SYN retries
  }
  MARQUEE_CHECK_ARG(!ec, "cannot listen on {}:{} ({}: address in use, or not an address of this machine)",
                    options_.bind, options_.port, ec.message());
  port_ = acc.local_endpoint().port();
  return port_;
}

bool HttpServer::serve() {
  auto& s = *impl_;
  if (!s.acceptor.is_open() && !s.stopping) return false;
  s.pool = std::make_unique<RequestPool>(size_t(options_.threads), options_.max_pending_requests, s.engine.metrics());
  s.work.emplace(s.ioc.get_executor());  // until the drain: a request on a request thread is work too
  s.accept();  // a stop() that came first has posted shutdown(), which runs first and closes the acceptor
  std::vector<std::thread> io;
  for (int i = 1; i < options_.io_threads; ++i) io.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : io) t.join();
  s.pool->stop();  // every session has closed: nothing is queued
  return true;
}

void HttpServer::set_draining() { impl_->api.set_draining(); }

void HttpServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  net::post(impl_->ioc, [s = impl_.get()] { s->shutdown(); });
}

}  // namespace marquee::server
