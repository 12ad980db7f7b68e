# grantbench in a container: `docker build -t grantbench .`
# Build with --build-arg WITH_CHROMIUM=1 for browser-driven flows (authorization
# code with --consent browser, conform's browser checks); the default image is
# small and drives the bundled mock over HTTP only.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/grantbench ./cmd/grantbench

FROM debian:bookworm-slim
ARG WITH_CHROMIUM=0
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && if [ "$WITH_CHROMIUM" = "1" ]; then apt-get install -y --no-install-recommends chromium; fi \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/grantbench /usr/local/bin/grantbench
# Results go to /out; make it writable for the unprivileged user.
RUN mkdir -p /out && chown 65532:65532 /out
USER 65532:65532
EXPOSE 9000 9464
ENTRYPOINT ["grantbench"]
