// Prometheus HTTP API answers: the envelope, instant vectors and the
// streamed /series list. Pure parsing, no I/O (fuzzed on its own).
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "adapter/prometheus/prometheus_api.h"

namespace adapter {

// Parses a /api/v1/query answer; throws BackendError (exposed for fuzzing).
std::vector<Sample> parseQueryResponse(int httpStatus, std::string_view body);
// The same, read from an HTTP body as it arrives (no copy of the whole answer).
std::vector<Sample> parseQueryResponse(int httpStatus,
                                       const std::function<size_t(char*, size_t)>& read);
// Parses a /api/v1/series answer from a reader, one series at a time.
void parseSeriesResponse(int httpStatus, const std::function<size_t(char*, size_t)>& read,
                         const SeriesVisitor& visit);

}  // namespace adapter
