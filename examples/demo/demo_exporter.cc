// demo-exporter: serves Prometheus text metrics from a series file so a real
// Prometheus can scrape deterministic data. Each line of the file is
//   name{label="v",...} 42        a gauge with a fixed value
//   name{label="v",...} rate=10   a counter growing by 10 per second
// Counters are anchored to the wall clock (value = rate * unix seconds), so
// history written with --write-history continues seamlessly into what is
// scraped afterwards.
// Usage: demo-exporter --listen 127.0.0.1:0 --series FILE [--port-file F]
//        demo-exporter --series FILE --write-history OUT.om [--history-seconds 600]
#include <utility>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
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
    if (v.rfind("rate=", 0) == 0)
      s.rate = std::stod(v.substr(5));
    else
      s.value = std::stod(v);
    out.push_back(s);
  }
  return out;
}

// OpenMetrics spells the special values exactly so.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Seconds since a fixed recent epoch keep counter values small and exact.
double valueAt(const Series& s, double unixSeconds) {
  return s.rate >= 0 ? s.rate * (unixSeconds - 1.7e9) : s.value;
}

std::string render(const std::vector<Series>& series) {
  double now = unixNow();
  std::string out;
  for (const auto& s : series) out += s.selector + " " + number(valueAt(s, now)) + "\n";
  return out;
}

// OpenMetrics history, one sample per second per series, for
// `promtool tsdb create-blocks-from openmetrics`.
void writeHistory(const std::vector<Series>& series, const std::string& path, int seconds) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  auto end = static_cast<long long>(unixNow()) - 1;
  std::vector<std::string> families;
  for (const auto& s : series) {
    std::string name = s.selector.substr(0, s.selector.find('{'));
    if (std::find(families.begin(), families.end(), name) == families.end())
      families.push_back(name);
  }
  for (const auto& fam : families) {
    out << "# TYPE " << fam << " gauge\n";
    for (const auto& s : series) {
      if (s.selector.substr(0, s.selector.find('{')) != fam) continue;
      for (long long t = end - seconds; t <= end; ++t) {
        out << s.selector << " " << number(valueAt(s, static_cast<double>(t))) << " " << t << "\n";
      }
    }
  }
  out << "# EOF\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", seriesFile, portFile, historyFile;
  int historySeconds = 600;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--listen")
      listen = argv[i + 1];
    else if (f == "--series")
      seriesFile = argv[i + 1];
    else if (f == "--port-file")
      portFile = argv[i + 1];
    else if (f == "--write-history")
      historyFile = argv[i + 1];
    else if (f == "--history-seconds")
      historySeconds = std::stoi(argv[i + 1]);
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
    if (!historyFile.empty()) {
      writeHistory(series, historyFile, historySeconds);
      return 0;
    }
    auto colon = listen.rfind(':');
    asio::io_context ioc;
    tcp::acceptor acceptor(
        ioc, tcp::endpoint(asio::ip::make_address(listen.substr(0, colon)),
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
      std::thread([s = std::move(sock), &series]() mutable {
        boost::beast::flat_buffer buf;
        boost::system::error_code ec;
        while (true) {
          http::request<http::string_body> req;
          http::read(s, buf, req, ec);
          if (ec) return;
          http::response<http::string_body> res{http::status::ok, req.version()};
          res.set(http::field::content_type, "text/plain; version=0.0.4");
          res.body() = render(series);
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
