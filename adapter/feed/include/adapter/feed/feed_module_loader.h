// Loads the queue-stats feed module (metrics-adapter-queue-feed.so): the
// gRPC client lives there, loaded only when --queue-stats-address is set, so
// an adapter without the feed does not carry gRPC's libraries in memory.
#pragma once

#include <memory>

#include "adapter/feed/feed_source.h"
#include "common/logger.h"

namespace adapter {

// Loads the feed module (metrics-adapter-queue-feed.so next to the binary)
// and starts the subscription. Throws std::runtime_error naming the module
// when it cannot be loaded, or the TLS file that cannot be read.
std::unique_ptr<FeedSource> loadQueueStatsFeed(const QueueStatsFeedOptions& opts,
                                               common::Logger& log);

}  // namespace adapter
