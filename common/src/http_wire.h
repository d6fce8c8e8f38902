// What the blocking and the asynchronous HTTP clients share: the TLS
// client context, the request as it goes on the wire, and the wording of
// failures.
#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "common/http_client.h"

namespace common::wire {

// TLS 1.2+, the CA (file, data or the system's), an optional client
// certificate; throws HttpClientError naming what cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> makeTlsContext(const TlsClientOptions& tls);

boost::beast::http::request<boost::beast::http::string_body> request(const Url& url,
                                                                     const ClientRequest& req);

// "request to host:port timed out after 10000ms", "... failed: <reason>".
std::string failure(const Url& url, boost::beast::error_code ec, std::chrono::milliseconds timeout);

// A pooled connection the server closed while idle: worth one retry.
bool staleConnection(boost::beast::error_code ec);

}  // namespace common::wire
