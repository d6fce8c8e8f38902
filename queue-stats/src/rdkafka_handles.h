// librdkafka's C objects as owning pointers, and small helpers the
// KafkaClient's parts share (internal to queue_stats_kafka).
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "queue_stats/kafka_client.h"

namespace queue_stats::rdkafka {

struct HandleDeleter {
  // Never in a group: nothing to close, and closing can wait forever.
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct GroupListDeleter {
  void operator()(const rd_kafka_group_list* l) const { rd_kafka_group_list_destroy(l); }
};
struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;
using Properties = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

inline std::string partitionName(const TopicPartition& tp) {
  return tp.first + "[" + std::to_string(tp.second) + "]";
}

inline ListPtr partitionList(const TopicPartition& tp, int64_t offset) {
  ListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
  return list;
}

inline const rd_kafka_metadata_partition_t* findPartition(const rd_kafka_metadata_topic_t& t,
                                                          int32_t id) {
  // Brokers list partitions by id: look there first.
  if (id >= 0 && id < t.partition_cnt && t.partitions[id].id == id) return &t.partitions[id];
  for (int i = 0; i < t.partition_cnt; ++i)
    if (t.partitions[i].id == id) return &t.partitions[i];
  return nullptr;
}

}  // namespace queue_stats::rdkafka
