// The request path's building blocks: deadlines and cancels, the bounded
// semaphore, single-flight calls and the coroutine HTTP client (against a
// loopback server that records what it was sent).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <thread>

#include "common/async_http_client.h"
#include "common/async_semaphore.h"
#include "common/single_flight.h"

using namespace common;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

template <class T>
T runOn(asio::io_context& io, Task<T> task) {
  std::optional<T> value;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value = std::move(v);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

Task<void> sleepFor(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// A one-connection-at-a-time HTTP/1.1 server on loopback: answers each
// request with `reply(request text)` after `delay`, and records requests.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::function<std::string(const std::string&)> reply,
                          std::chrono::milliseconds delay = 0ms)
      : reply_(std::move(reply)),
        delay_(delay),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    boost::system::error_code ec;
    asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      asio::ip::tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      asio::streambuf buf;
      while (asio::read_until(s, buf, "\r\n\r\n", ec) > 0 && !ec) {
        std::string req(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
        buf.consume(buf.size());
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(req);
        }
        std::this_thread::sleep_for(delay_);
        asio::write(s, asio::buffer(reply_(req)), ec);
      }
    }
  }
  std::function<std::string(const std::string&)> reply_;
  std::chrono::milliseconds delay_;
  std::atomic<bool> stop_{false};
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

std::string ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST(RequestContext, CancelRunsLiveHooksOnce) {
  RequestContext ctx = RequestContext::withTimeout(1h);
  int a = 0, b = 0;
  auto ra = ctx.onCancel([&] { ++a; });
  {
    auto rb = ctx.onCancel([&] { ++b; });
  }  // ended before the cancel: never runs
  EXPECT_NO_THROW(ctx.check("x"));
  ctx.cancel();
  ctx.cancel();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);
  EXPECT_TRUE(ctx.cancelled());
  int late = 0;
  auto rl = ctx.onCancel([&] { ++late; });
  EXPECT_EQ(late, 1) << "registered after the cancel: runs at once";
  try {
    ctx.check("querying");
    FAIL() << "a cancelled context must throw";
  } catch (const RequestAborted& e) {
    EXPECT_TRUE(e.cancelled());
    EXPECT_STREQ(e.what(), "querying: the client went away");
  }
}

TEST(RequestContext, DeadlineBoundsEveryCall) {
  RequestContext ctx = RequestContext::withTimeout(50ms);
  EXPECT_LE(ctx.deadlineWithin(10s), ctx.deadline());
  EXPECT_LT(ctx.deadlineWithin(1ms), ctx.deadline());
  std::this_thread::sleep_for(60ms);
  EXPECT_TRUE(ctx.expired());
  EXPECT_THROW(ctx.check("x"), RequestAborted);
}

TEST(AsyncSemaphore, WaitersGetPermitsInOrderOrGiveUpAtTheirDeadline) {
  asio::io_context io(1);
  AsyncSemaphore sem(1);
  std::vector<std::string> order;
  auto worker = [&](std::string name, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds hold) -> Task<void> {
    RequestContext ctx = RequestContext::withTimeout(timeout);
    auto permit = co_await sem.acquire(ctx);
    if (!permit) {
      order.push_back(name + ":timeout");
      co_return;
    }
    order.push_back(name);
    co_await sleepFor(hold);
  };
  asio::co_spawn(io, worker("a", 1s, 50ms), asio::detached);
  asio::co_spawn(io, worker("b", 1s, 0ms), asio::detached);
  asio::co_spawn(io, worker("c", 10ms, 0ms), asio::detached);  // gives up before a is done
  asio::co_spawn(io, worker("d", 1s, 0ms), asio::detached);
  io.run();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "c:timeout", "b", "d"}));
  EXPECT_EQ(sem.inUse(), 0u);
  EXPECT_EQ(sem.waiting(), 0u);
}

TEST(AsyncSemaphore, ACancelledWaiterLeavesTheQueue) {
  asio::io_context io(1);
  AsyncSemaphore sem(1);
  RequestContext holderCtx = RequestContext::withTimeout(1h);
  RequestContext waiterCtx = RequestContext::withTimeout(1h);
  bool gotPermit = true;
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        auto p = co_await sem.acquire(holderCtx);
        co_await sleepFor(30ms);
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        auto p = co_await sem.acquire(waiterCtx);
        gotPermit = p.has_value();
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        co_await sleepFor(5ms);
        waiterCtx.cancel();  // the client went away while it queued
      },
      asio::detached);
  io.run();
  EXPECT_FALSE(gotPermit);
  EXPECT_EQ(sem.inUse(), 0u);
}

TEST(SingleFlight, ConcurrentIdenticalCallsRunOnceAcrossThreads) {
  SingleFlight<int> flights;
  std::atomic<int> runs{0};
  std::atomic<int> sum{0};
  auto call = [&]() -> Task<void> {
    RequestContext ctx = RequestContext::withTimeout(5s);
    const std::string key = "key";  // named: see coro.h
    const std::function<Task<int>()> work = [&]() -> Task<int> {
      ++runs;
      co_await sleepFor(100ms);
      co_return 7;
    };
    int v = co_await flights.run(key, ctx, work);
    sum += v;
  };
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    ios.push_back(std::make_unique<asio::io_context>(1));
    for (int i = 0; i < 8; ++i) asio::co_spawn(*ios.back(), call(), asio::detached);
  }
  for (auto& io : ios) threads.emplace_back([&io] { io->run(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs.load(), 1) << "32 identical concurrent calls, one sent";
  EXPECT_EQ(sum.load(), 32 * 7);
  EXPECT_EQ(flights.inFlight(), 0u);
}

TEST(SingleFlight, ErrorsReachEveryCallerAndAreNotRemembered) {
  asio::io_context io(1);
  SingleFlight<int> flights;
  int runs = 0, failures = 0;
  auto call = [&]() -> Task<void> {
    RequestContext ctx = RequestContext::withTimeout(5s);
    try {
      const std::string key = "k";
      const std::function<Task<int>()> work = [&]() -> Task<int> {
        ++runs;
        co_await sleepFor(10ms);
        throw std::runtime_error("down");
      };
      co_await flights.run(key, ctx, work);
    } catch (const std::runtime_error&) {
      ++failures;
    }
  };
  for (int i = 0; i < 3; ++i) asio::co_spawn(io, call(), asio::detached);
  io.run();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(failures, 3);
  runOn(io, [&]() -> Task<int> {
    co_await call();
    co_return 0;
  }());
  EXPECT_EQ(runs, 2) << "a failure is not cached: the next call tries again";
}

TEST(AsyncHttpClient, SendsHostWithPortAndReusesTheConnection) {
  LoopbackServer server([](const std::string&) { return ok(R"({"a":1})"); });
  AsyncHttpClient client(Url::parse("http://127.0.0.1:" + std::to_string(server.port())), {}, {});
  asio::io_context io(1);
  for (int i = 0; i < 3; ++i) {
    ClientRequest req;
    req.target = "/api/v1/query?query=up";
    ClientResponse r = runOn(io, [&]() -> Task<ClientResponse> {
      RequestContext ctx = RequestContext::withTimeout(5s);
      co_return co_await client.send(req, ctx);
    }());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"a":1})");
  }
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u) << "one connection, three requests (the server serves one at a time)";
  EXPECT_NE(reqs[0].find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << reqs[0];
}

TEST(Url, HostHeaderAsGoSendsIt) {
  EXPECT_EQ(Url::parse("http://[::1]:9090").hostHeader(), "[::1]:9090");
  EXPECT_EQ(Url::parse("https://[fd00::5]/p").hostHeader(), "[fd00::5]");
  EXPECT_EQ(Url::parse("https://prom:443").hostHeader(), "prom");
  EXPECT_EQ(Url::parse("http://prom:9090/x").hostHeader(), "prom:9090");
}

TEST(AsyncHttpClient, RefusesAnswersOverTheLimit) {
  LoopbackServer server([](const std::string&) { return ok(std::string(5000, 'x')); });
  AsyncHttpClient client(Url::parse("http://127.0.0.1:" + std::to_string(server.port())), {},
                         AsyncClientOptions{5000ms, 4096, 4});
  asio::io_context io(1);
  try {
    runOn(io, [&]() -> Task<ClientResponse> {
      RequestContext ctx = RequestContext::withTimeout(5s);
      const ClientRequest req;
      co_return co_await client.send(req, ctx);
    }());
    FAIL() << "a 5000-byte answer over a 4096-byte limit must be refused";
  } catch (const ResponseTooLarge& e) {
    EXPECT_EQ(e.limit(), 4096u);
    EXPECT_NE(std::string(e.what()).find("larger than 4096 bytes"), std::string::npos) << e.what();
  }
}

TEST(AsyncHttpClient, TheRequestDeadlineAndCancelStopACall) {
  LoopbackServer server([](const std::string&) { return ok("{}"); }, 500ms);
  AsyncHttpClient client(Url::parse("http://127.0.0.1:" + std::to_string(server.port())), {},
                         AsyncClientOptions{10000ms, 0, 4});
  asio::io_context io(1);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(runOn(io,
                     [&]() -> Task<ClientResponse> {
                       RequestContext ctx = RequestContext::withTimeout(100ms);
                       const ClientRequest req;
                       co_return co_await client.send(req, ctx);
                     }()),
               RequestAborted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 400ms) << "not the backend's 500 ms";
  RequestContext ctx = RequestContext::withTimeout(1h);
  bool aborted = false;
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        try {
          const ClientRequest req;
          co_await client.send(req, ctx);
        } catch (const RequestAborted& e) {
          aborted = e.cancelled();
        }
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        co_await sleepFor(50ms);
        ctx.cancel();
      },
      asio::detached);
  start = std::chrono::steady_clock::now();
  io.restart();
  io.run();
  EXPECT_TRUE(aborted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 400ms);
}
