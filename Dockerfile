# The xgo-build image, built with xgo-build itself: the build stage runs on the build
# machine's own platform and cross-compiles for TARGETPLATFORM, and the final stage only
# copies the binary, so a multi-platform build needs no emulation:
#
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 -t xgo-build .
#
# Use the image in your own Dockerfile through a stage for the build machine's platform (a
# plain COPY --from=<this image> copies the target platform's binary, which runs on the build
# machine only under emulation):
#   FROM --platform=$BUILDPLATFORM <this image> AS xgo-build
#   FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build
#   COPY --from=xgo-build /xgo-build /usr/local/bin/xgo-build
FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build
ARG TARGETPLATFORM
WORKDIR /src
COPY go.mod go.sum ./
COPY cmd ./cmd
COPY shim ./shim
# go run builds xgo-build for the build machine; xgo-build then runs
# "go build -trimpath -ldflags=-s -w -o /out/xgo-build ./cmd/xgo-build" for TARGETPLATFORM.
RUN go run ./cmd/xgo-build -trimpath -ldflags="-s -w" -o /out/xgo-build ./cmd/xgo-build

FROM scratch
COPY --from=build /out/xgo-build /xgo-build
ENTRYPOINT ["/xgo-build"]
