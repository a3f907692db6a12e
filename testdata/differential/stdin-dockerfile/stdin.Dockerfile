# -f -: the Dockerfile comes from stdin, the context from the directory.
FROM difftest/busybox
COPY data.txt /data.txt
RUN echo from-stdin > /stdin.txt
