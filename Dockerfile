# syntax=docker/dockerfile:1
# Multi-stage build: a static, pure-Go binary (no cgo) on a distroless base,
# running as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/veripost/veripost/internal/cli.Version=${VERSION}" \
      -o /out/veripost ./cmd/veripost \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/veripost /usr/local/bin/veripost
# /data holds the SQLite file and blobs of the embedded deployment.
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV VERIPOST_DATA_DIR=/data \
    VERIPOST_LISTEN_ADDR=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s CMD ["veripost", "healthcheck"]
ENTRYPOINT ["veripost"]
CMD ["serve"]
