# The `vitaccel` CLI with its Verilator models (the RTL backend), for sharded runs on a cluster
# (README, "Sharded runs": a Slurm job array or a Kubernetes Indexed Job, then `vitaccel merge`).
#
#   docker build -t vitaccel .
#   docker run --rm vitaccel run --backend verilator --model fixtures/digits/model.safetensors \
#       --calib fixtures/digits/calib.safetensors --images fixtures/digits/test.safetensors --shard 0/4
#
# Build stage: Rust and Verilator (Debian's 5.006, the version the project is tested with);
# `sim/build.rs` verilates and compiles one model per entry of VITACCEL_SIM_CONFIGS into the
# binary. Runtime stage: the binary (the models are linked in statically; it needs only the C++
# runtime), the configurations and the trained fixture.

FROM rust:1-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends verilator \
    && rm -rf /var/lib/apt/lists/*
# Hardware configurations with a Verilator model: presets or name=path/to/config.toml (sim/src/configs.rs).
ARG VITACCEL_SIM_CONFIGS=small,default
ENV VITACCEL_SIM_CONFIGS=${VITACCEL_SIM_CONFIGS}
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY spec spec
COPY golden golden
COPY hdl hdl
COPY host host
COPY sim sim
COPY src src
COPY configs configs
COPY constraints constraints
RUN cargo build --release --locked --bin vitaccel \
    && cp target/release/vitaccel /usr/local/bin/vitaccel

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libstdc++6 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/vitaccel /usr/local/bin/vitaccel
# Relative paths of the README recipes (configs/..., fixtures/...) resolve here; write reports to a
# mounted volume (the recipes use /results).
WORKDIR /opt/vitaccel
COPY configs configs
COPY fixtures fixtures
ENTRYPOINT ["vitaccel"]
CMD ["--help"]
