# The pingpong-client image: one static binary, nothing else (no shell, no libc).
# Built by docker/build-images.sh, which compiles the binary first and
# passes a context holding only that file.
FROM scratch
LABEL org.opencontainers.image.title="pingpong-client" \
      com.pingpong.project="pingpong"
COPY pingpong-client /pingpong-client
# Numeric, so no /etc/passwd is needed.
USER 10001:10001
ENV BIND_ADDR=0.0.0.0:3000
EXPOSE 3000
ENTRYPOINT ["/pingpong-client"]
