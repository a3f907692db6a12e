# The README's --secret example: the secret is read during the RUN and never stored.
FROM scratch
COPY rootfs/ /
RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /token-length
RUN --mount=type=secret,id=token,env=TOKEN,required=true sh -c 'test -n "$TOKEN" && echo token seen'
