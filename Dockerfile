# syntax=docker/dockerfile:1
# Multi-stage build: a static smsgw binary on a minimal, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/smsgw ./cmd/smsgw

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/smsgw /usr/local/bin/smsgw
# Data dir: embedded JetStream store, local archive (dev only), index, admin.token.
# The API listens beyond loopback, so it needs TLS: mount a certificate and key at
# /tls/tls.crt and /tls/tls.key (e.g. a Kubernetes TLS secret), or, when a TLS-terminating
# proxy is in front, run with SMSGW_HTTP_BEHIND_PROXY=true and SMSGW_HTTP_TLS_CERT_FILE= SMSGW_HTTP_TLS_KEY_FILE=.
ENV SMSGW_DATA_DIR=/data \
    SMSGW_HTTP_ADDR=0.0.0.0:8443 \
    SMSGW_HTTP_TLS_CERT_FILE=/tls/tls.crt \
    SMSGW_HTTP_TLS_KEY_FILE=/tls/tls.key
VOLUME ["/data"]
EXPOSE 8443 2775
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/smsgw"]
CMD ["serve"]
