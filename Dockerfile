# syndicated as a container image: a static binary (no cgo: modernc SQLite
# is pure Go) on a distroless base, running as an unprivileged user (65532).
#
#   docker build -t syndicated .
#
# The base images are build arguments so that the image can be built where
# no registry answers, against local stand-ins (scripts/image-check.sh
# makes them and checks the image; docs/operations.md shows the commands).
#
# The image reads /etc/syndicated/syndicated.toml (deploy/container.toml:
# the defaults, listening on 0.0.0.0:8080 and logging JSON); mount your own
# file there to replace it. SYNDICATED_* variables override either. The
# SQLite database lives in the /data volume.
ARG BUILD_IMAGE=golang:1.27.3-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
# What `syndicated --version` prints (the build context has no .git):
# docker build --build-arg VERSION="$(git describe --always --dirty)" …
ARG VERSION=""
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags="-s -w -X main.stampedVersion=${VERSION}" -o /out/syndicated ./cmd/syndicated
# The data directory, owned by the user the image runs as.
RUN mkdir -p /out/data && chown 65532:65532 /out/data

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/syndicated /usr/local/bin/syndicated
COPY --from=build --chown=65532:65532 /out/data /data
COPY deploy/container.toml /etc/syndicated/syndicated.toml
USER 65532:65532
EXPOSE 8080
VOLUME /data
ENTRYPOINT ["/usr/local/bin/syndicated"]
CMD ["serve", "--config", "/etc/syndicated/syndicated.toml", "--data", "/data"]
