#include "apiservice/quantity.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

TEST(Quantity, CompatCases) {
  int n = 0;
  for (const auto& c :
       YAML::LoadFile(std::string(MA_TEST_DATA_DIR) + "/compat/quantity-cases.yaml")) {
    EXPECT_EQ(apiservice::decimalQuantity(c[0].as<double>()), c[1].as<std::string>())
        << c[0].as<double>();
    ++n;
  }
  EXPECT_EQ(n, 15);
}

TEST(Quantity, LargeAndTinyValues) {
  EXPECT_EQ(apiservice::decimalQuantity(1e18), "1E");
  EXPECT_EQ(apiservice::decimalQuantity(2e21), "2000E");
  EXPECT_EQ(apiservice::decimalQuantity(0.0004), "0");
  EXPECT_EQ(apiservice::decimalQuantity(0.0005), "1m");
  EXPECT_EQ(apiservice::decimalQuantity(-1500), "-1500");
  EXPECT_EQ(apiservice::decimalQuantity(-2000000), "-2M");
}

TEST(Quantity, Binary) {
  EXPECT_EQ(apiservice::binaryQuantity(1073741824), "1Gi");
  EXPECT_EQ(apiservice::binaryQuantity(1536 * 1024), "1536Ki");
  EXPECT_EQ(apiservice::binaryQuantity(1500), "1500");
}
