#!/usr/bin/env bash
# Builds the project's images without any registry: static binaries first,
# then FROM scratch images around them.
#
#   docker/build-images.sh [node] [client] [alb]     (default: all of them)
#
# Each image is tagged `latest` and with the git short SHA of HEAD (with a
# `-dirty` suffix when the tree has uncommitted changes), or with $TAG when
# set. Images carry the label com.pingpong.project=pingpong. Sizes are
# printed; an image over 10 MB fails the build.
#
# Environment:
#   TAG                    extra tag instead of the git SHA
#   PINGPONG_TARGET_DIR    cargo target dir for the static build
#                          (default: target/images, kept apart from the
#                          normal target dir so a running `cargo test`
#                          never waits on it or it on `cargo test`)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

max_bytes=$((10 * 1000 * 1000))
triple=x86_64-unknown-linux-gnu
target_dir=${PINGPONG_TARGET_DIR:-$root/target/images}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(node client)
  if [ -f docker/alb.Dockerfile ]; then names+=(alb); fi
fi

packages=()
for n in "${names[@]}"; do
  case "$n" in
    node) packages+=(-p pingpong-node) ;;
    client) packages+=(-p pingpong-client) ;;
    alb) packages+=(-p alb) ;;
    *) echo "build-images: unknown image '$n' (expected node, client or alb)" >&2; exit 2 ;;
  esac
done

if ! docker info >/dev/null 2>&1; then
  echo "build-images: no Docker engine answers (is the daemon running? DOCKER_HOST=${DOCKER_HOST:-unset})" >&2
  exit 1
fi

tag=${TAG:-}
if [ -z "$tag" ]; then
  tag=$(git rev-parse --short HEAD 2>/dev/null || echo dev)
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    tag="$tag-dirty"
  fi
fi

echo "==> building static binaries (${names[*]}) for $triple"
# The explicit --target keeps crt-static off build scripts and proc-macros.
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$target_dir" \
  cargo build --release --locked --target "$triple" "${packages[@]}"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

status=0
for n in "${names[@]}"; do
  case "$n" in
    alb) bin=alb ;;
    *) bin=pingpong-$n ;;
  esac
  image=pingpong-$n
  rm -rf "${ctx:?}"/*
  cp "$target_dir/$triple/release/$bin" "$ctx/$bin"
  echo "==> building image $image:latest and $image:$tag"
  # The engine may lack BuildKit; the legacy builder's deprecation notice is
  # noise, so its output is shown only when the build fails.
  if ! out=$(DOCKER_BUILDKIT=0 docker build --quiet \
    --file "docker/$n.Dockerfile" \
    --label "org.opencontainers.image.revision=$tag" \
    --tag "$image:latest" --tag "$image:$tag" \
    "$ctx" 2>&1); then
    echo "$out" >&2
    exit 1
  fi
  size=$(docker image inspect --format '{{.Size}}' "$image:latest")
  awk -v n="$image" -v s="$size" 'BEGIN { printf "    %-18s %6.2f MB\n", n, s / 1000000 }'
  if [ "$size" -gt "$max_bytes" ]; then
    echo "build-images: $image is $size bytes, over the 10 MB limit" >&2
    status=1
  fi
done
exit $status
