// The adapter's self-metrics that alerts depend on.
#include "adapter/app/self_metrics.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

TEST(SelfMetrics, TheRelistIntervalForStalenessAlerts) {
  // Alerts compare the age of metrics_adapter_relist_last_success_timestamp_seconds
  // with this, not with a number of their own.
  adapter::SelfMetrics m;
  m.setRelistInterval(10min);
  std::string text = m.text();
  EXPECT_NE(text.find("# TYPE metrics_adapter_relist_interval_seconds gauge\n"
                      "metrics_adapter_relist_interval_seconds 600\n"),
            std::string::npos)
      << text;
  m.setRelistInterval(1500ms);
  EXPECT_NE(m.text().find("metrics_adapter_relist_interval_seconds 1.5\n"), std::string::npos);
}
