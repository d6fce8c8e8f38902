// Runs request-path coroutines in unit tests: each to completion on its
// own single-threaded io_context, exceptions rethrown to the test.
#pragma once

#include <chrono>
#include <exception>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "common/coro.h"
#include "common/request_context.h"

namespace mocks {

// A request context no test outlives; pass it as a temporary, e.g.
// run(provider.getObjectMetric(req, farDeadline())): it lives until run returns.
inline common::RequestContext farDeadline() {
  return common::RequestContext::withTimeout(std::chrono::hours(1));
}

template <class T>
T run(common::Task<T> task) {
  boost::asio::io_context io(1);
  std::optional<T> value;
  std::exception_ptr error;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value = std::move(v);
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

inline void run(common::Task<void> task) {
  boost::asio::io_context io(1);
  std::exception_ptr error;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}

}  // namespace mocks
