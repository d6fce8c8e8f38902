# Images for the Helm chart:
#   docker build --target metrics-adapter -t metrics-adapter .
#   docker build --target queue-stats -t queue-stats .
# Both run on Debian 12 as a non-root user (10001, as the chart's
# securityContext) with only the runtime libraries they link
# (tests/docker/check_runtime_packages.sh keeps the lists complete).
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost-dev libboost-program-options-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libre2-dev \
      prometheus-cpp-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
      librdkafka-dev libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMA_TESTS=OFF \
    && cmake --build /build --target metrics-adapter metrics-adapter-queue-feed queue-stats \
    && cmake --install /build --prefix /opt/metrics-adapter --strip

FROM debian:12-slim AS metrics-adapter
# The queue-stats feed module (lib/metrics-adapter/) needs gRPC and protobuf.
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libboost-program-options1.74.0 libssl3 libyaml-cpp0.7 libre2-9 libprometheus-cpp-core1.0 \
      libgrpc++1.51 libgrpc29 libabsl20220623 libprotobuf32 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/metrics-adapter/bin/metrics-adapter /usr/local/bin/metrics-adapter
COPY --from=build /opt/metrics-adapter/lib/metrics-adapter /usr/local/lib/metrics-adapter
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/metrics-adapter"]

FROM debian:12-slim AS queue-stats
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libboost-program-options1.74.0 libssl3 libyaml-cpp0.7 libre2-9 libprometheus-cpp-core1.0 \
      libgrpc++1.51 libgrpc29 libabsl20220623 libprotobuf32 librdkafka1 libcurl4 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/metrics-adapter/bin/queue-stats /usr/local/bin/queue-stats
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/queue-stats"]
