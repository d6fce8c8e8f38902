// series-server: a synthetic Prometheus /api/v1/series endpoint with N
// series shaped like kubelet/cAdvisor ones (2,000 metric names, 100
// namespaces, pods and containers), streamed in chunks so the server itself
// stays small. Answers /api/v1/query with an empty vector.
//   series-server --series N [--port-file F]
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

void appendSeries(std::string& out, long i) {
  char buf[320];
  int n = std::snprintf(
      buf, sizeof buf,
      "%s{\"__name__\":\"container_metric_%ld_total\",\"namespace\":\"ns-%ld\",\"pod\":\"app-%ld-"
      "7d9f8b6c4-x%ld\","
      "\"container\":\"main\",\"instance\":\"10.0.%ld.%ld:10250\",\"job\":\"kubelet\"}",
      i == 0 ? "" : ",", i % 2000, i % 100, i / 2000, i % 7, (i / 256) % 256, i % 256);
  out.append(buf, static_cast<size_t>(n));
}

void serve(tcp::socket sock, long count) {
  boost::beast::flat_buffer buf;
  boost::system::error_code ec;
  while (true) {
    http::request<http::string_body> req;
    http::read(sock, buf, req, ec);
    if (ec) return;
    std::string target(req.target());
    if (target.find("/api/v1/series") == std::string::npos) {
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"status":"success","data":{"resultType":"vector","result":[]}})";
      res.prepare_payload();
      http::write(sock, res, ec);
      if (ec) return;
      continue;
    }
    // Chunked transfer, as Prometheus sends large answers.
    http::response<http::empty_body> head{http::status::ok, 11};
    head.set(http::field::content_type, "application/json");
    head.chunked(true);
    http::response_serializer<http::empty_body> sr{head};
    http::write_header(sock, sr, ec);
    if (ec) return;
    std::string chunk = R"({"status":"success","data":[)";
    for (long i = 0; i < count; ++i) {
      appendSeries(chunk, i);
      if (chunk.size() > (1 << 16)) {
        asio::write(sock, http::make_chunk(asio::buffer(chunk)), ec);
        if (ec) return;
        chunk.clear();
      }
    }
    chunk += "]}";
    asio::write(sock, http::make_chunk(asio::buffer(chunk)), ec);
    asio::write(sock, http::make_chunk_last(), ec);
    if (ec) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  long count = 100000;
  std::string portFile;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--series")
      count = std::stol(argv[i + 1]);
    else if (f == "--port-file")
      portFile = argv[i + 1];
  }
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  if (!portFile.empty()) {
    std::ofstream(portFile + ".tmp") << acceptor.local_endpoint().port() << "\n";
    std::rename((portFile + ".tmp").c_str(), portFile.c_str());
  }
  while (true) {
    tcp::socket s(ioc);
    acceptor.accept(s);
    std::thread(serve, std::move(s), count).detach();
  }
}
