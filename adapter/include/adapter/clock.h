// The adapter uses the API server's clock seam.
#pragma once

#include "apiservice/clock.h"

namespace adapter {

using Clock = apiservice::Clock;
using SystemClock = apiservice::SystemClock;

}  // namespace adapter
