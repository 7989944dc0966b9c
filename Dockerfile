# syndicated as a container image: a static binary (no cgo: modernc SQLite
# is pure Go) on a distroless base, running as an unprivileged user.
#
#   docker build -t syndicated .
#   docker run -p 8080:8080 -v syndicated-data:/data syndicated
#
# The image listens on 0.0.0.0:8080 and keeps its SQLite database in /data;
# configure it with SYNDICATED_* variables or a file mounted at
# /etc/syndicated/syndicated.toml (then add --config). See docs/operations.md.

FROM golang:1.27.3-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags="-s -w" -o /out/syndicated ./cmd/syndicated
# The data directory, owned by the user the image runs as.
RUN mkdir -p /out/data && chown 65532:65532 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/syndicated /usr/local/bin/syndicated
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV SYNDICATED_HTTP_LISTEN=0.0.0.0:8080 \
    SYNDICATED_LOG_FORMAT=json
EXPOSE 8080
VOLUME /data
ENTRYPOINT ["/usr/local/bin/syndicated"]
CMD ["serve", "--data", "/data"]
