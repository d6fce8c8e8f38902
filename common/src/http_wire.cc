#include "http_wire.h"

namespace common::wire {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

void loadTrust(asio::ssl::context& ctx, const TlsClientOptions& tls) {
  beast::error_code ec;
  if (!tls.caFile.empty()) {
    ctx.load_verify_file(tls.caFile, ec);
    if (ec) throw HttpClientError("cannot load CA file " + tls.caFile + ": " + ec.message());
  } else if (!tls.caPem.empty()) {
    ctx.add_certificate_authority(asio::buffer(tls.caPem), ec);
    if (ec) throw HttpClientError("cannot load the CA certificate data: " + ec.message());
  } else {
    ctx.set_default_verify_paths(ec);
  }
}

void loadIdentity(asio::ssl::context& ctx, const TlsClientOptions& tls) {
  beast::error_code ec;
  if (!tls.certFile.empty() || !tls.keyFile.empty()) {
    ctx.use_certificate_chain_file(tls.certFile, ec);
    if (ec)
      throw HttpClientError("cannot load client certificate " + tls.certFile + ": " + ec.message());
    ctx.use_private_key_file(tls.keyFile, asio::ssl::context::pem, ec);
    if (ec) throw HttpClientError("cannot load client key " + tls.keyFile + ": " + ec.message());
  } else if (!tls.certPem.empty() || !tls.keyPem.empty()) {
    ctx.use_certificate_chain(asio::buffer(tls.certPem), ec);
    if (ec) throw HttpClientError("cannot load the client certificate data: " + ec.message());
    ctx.use_private_key(asio::buffer(tls.keyPem), asio::ssl::context::pem, ec);
    if (ec) throw HttpClientError("cannot load the client key data: " + ec.message());
  }
}

}  // namespace

std::shared_ptr<asio::ssl::context> makeTlsContext(const TlsClientOptions& tls) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // Idle pooled connections keep no read or write buffers.
  SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  loadTrust(*ctx, tls);
  loadIdentity(*ctx, tls);
  ctx->set_verify_mode(tls.insecureSkipVerify ? asio::ssl::verify_none : asio::ssl::verify_peer);
  return ctx;
}

http::request<http::string_body> request(const Url& url, const ClientRequest& req) {
  http::request<http::string_body> r{req.method == "POST" ? http::verb::post : http::verb::get,
                                     url.pathPrefix + req.target, 11};
  r.set(http::field::host, url.hostHeader());
  r.set(http::field::user_agent, "metrics-adapter");
  r.set(http::field::accept, "application/json");
  for (const auto& [k, v] : req.headers) r.set(k, v);
  r.keep_alive(true);
  if (!req.body.empty() || req.method == "POST") {
    r.body() = req.body;
    r.prepare_payload();
  }
  return r;
}

std::string failure(const Url& url, beast::error_code ec, std::chrono::milliseconds timeout) {
  std::string peer = url.host + ":" + url.port;
  if (ec == asio::error::operation_aborted) return "request cancelled";
  if (ec == beast::error::timeout)
    return "request to " + peer + " timed out after " + std::to_string(timeout.count()) + "ms";
  return "request to " + peer + " failed: " + ec.message();
}

bool staleConnection(beast::error_code ec) {
  return ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

}  // namespace common::wire
