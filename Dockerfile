# The `hoist` image: the binary and the built web app, on a distroless base.
# Build: docker build -t hoist .   (needs network access for crates and the wasm tools)
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo xtask dist \
 && cargo build --release -p hoist --bin hoist

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/hoist /usr/local/bin/hoist
COPY --from=build /src/dist /usr/share/hoist/dist
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/hoist"]
