// Coroutines on Boost.Asio, included from one place: Boost 1.74's
// awaitable needs <utility> before it, and clang only uses the standard
// coroutine support when told (CMake defines BOOST_ASIO_HAS_CO_AWAIT).
#pragma once

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace common {

// A coroutine on the request path.
//
// Rule for callers: never pass a temporary with a destructor (a string
// literal bound to const std::string&, a lambda converted to
// std::function, a struct built in place) to a co_await'ed call. GCC 12
// may destroy such a temporary twice; name it first.
template <class T>
using Task = boost::asio::awaitable<T>;

}  // namespace common
