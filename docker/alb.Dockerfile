# The pingpong-alb image: the standalone load balancer (crates/alb), which
# takes nginx's place in front of the compose stack. One static binary.
# Built by docker/build-images.sh.
FROM scratch
LABEL org.opencontainers.image.title="pingpong-alb" \
      com.pingpong.project="pingpong"
COPY alb /alb
USER 10001:10001
ENV ALB_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/alb"]
