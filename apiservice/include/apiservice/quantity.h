// Kubernetes resource.Quantity strings in canonical form.
#pragma once

#include <cstdint>
#include <string>

namespace apiservice {

// DecimalSI, rounded to the nearest milli-unit: 1.5 -> "1500m", 2000 -> "2k".
// The value must be finite (NaN and Inf are never sent).
std::string decimalQuantity(double value);
// BinarySI for byte counts: 1073741824 -> "1Gi", 1500 -> "1500".
std::string binaryQuantity(double bytes);

}  // namespace apiservice
