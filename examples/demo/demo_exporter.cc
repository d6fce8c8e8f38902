// demo-exporter: serves Prometheus text metrics from a series file so a real
// Prometheus can scrape deterministic data. Each line of the file is
//   name{label="v",...} 42        a gauge with a fixed value
//   name{label="v",...} rate=10   a counter growing by 10 per second
// Usage: demo-exporter --listen 127.0.0.1:0 --series FILE [--port-file F]
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Series {
  std::string selector;  // name{labels}
  double value = 0;
  double rate = -1;  // >= 0 for counters
};

std::vector<Series> loadSeries(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<Series> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) throw std::runtime_error("bad line: " + line);
    Series s;
    s.selector = line.substr(0, sp);
    std::string v = line.substr(sp + 1);
    if (v.rfind("rate=", 0) == 0) s.rate = std::stod(v.substr(5));
    else s.value = std::stod(v);
    out.push_back(s);
  }
  return out;
}

std::string render(const std::vector<Series>& series, std::chrono::steady_clock::time_point start) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string out;
  char buf[64];
  for (const auto& s : series) {
    double v = s.rate >= 0 ? 1000.0 + s.rate * elapsed : s.value;
    std::snprintf(buf, sizeof buf, " %.6f\n", v);
    out += s.selector + buf;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", seriesFile, portFile;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--listen") listen = argv[i + 1];
    else if (f == "--series") seriesFile = argv[i + 1];
    else if (f == "--port-file") portFile = argv[i + 1];
    else {
      std::cerr << "unknown flag " << f << "\n";
      return 2;
    }
  }
  if (seriesFile.empty()) {
    std::cerr << "usage: demo-exporter --listen HOST:PORT --series FILE [--port-file F]\n";
    return 2;
  }
  try {
    auto series = loadSeries(seriesFile);
    auto start = std::chrono::steady_clock::now();
    auto colon = listen.rfind(':');
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address(listen.substr(0, colon)),
                                              static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))));
    unsigned short port = acceptor.local_endpoint().port();
    if (!portFile.empty()) {
      std::ofstream(portFile + ".tmp") << port << "\n";
      std::rename((portFile + ".tmp").c_str(), portFile.c_str());
    }
    std::cerr << "demo-exporter listening on " << listen.substr(0, colon) << ":" << port << "\n";
    while (true) {
      tcp::socket sock(ioc);
      acceptor.accept(sock);
      std::thread([s = std::move(sock), &series, start]() mutable {
        boost::beast::flat_buffer buf;
        boost::system::error_code ec;
        while (true) {
          http::request<http::string_body> req;
          http::read(s, buf, req, ec);
          if (ec) return;
          http::response<http::string_body> res{http::status::ok, req.version()};
          res.set(http::field::content_type, "text/plain; version=0.0.4");
          res.body() = render(series, start);
          res.keep_alive(req.keep_alive());
          res.prepare_payload();
          http::write(s, res, ec);
          if (ec || !req.keep_alive()) return;
        }
      }).detach();
    }
  } catch (const std::exception& e) {
    std::cerr << "demo-exporter: " << e.what() << "\n";
    return 1;
  }
}
