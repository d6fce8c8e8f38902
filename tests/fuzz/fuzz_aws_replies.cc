// What AWS endpoints answer: SQS JSON (attributes, errors), STS XML,
// container/IMDS JSON credentials, shared config INI files, timestamps.
#include <cstddef>
#include <cstdint>
#include <string>

#include "queue_stats/aws_credentials.h"
#include "queue_stats/sqs_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  try {
    auto d = queue_stats::parseQueueAttributes(in);
    if (d.visible < 0 || d.notVisible < 0 || d.delayed < 0) __builtin_trap();
  } catch (const queue_stats::SqsError&) {
  }
  auto e = queue_stats::parseSqsError(400, in);
  if (e.code().empty()) __builtin_trap();
  try {
    auto c = queue_stats::parseStsCredentials(in);
    if (c.accessKeyId.empty()) __builtin_trap();
  } catch (const queue_stats::CredentialsError&) {
  }
  try {
    queue_stats::parseJsonCredentials(in);
  } catch (const queue_stats::CredentialsError&) {
  }
  queue_stats::parseIni(in);
  queue_stats::parseIsoTime(in);
  return 0;
}
