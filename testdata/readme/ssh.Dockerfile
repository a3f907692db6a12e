# The README's --ssh example: the agent's socket is at $SSH_AUTH_SOCK during the RUN.
FROM scratch
COPY rootfs/ /
RUN --mount=type=ssh,required=true ls -l "$SSH_AUTH_SOCK"
