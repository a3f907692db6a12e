#!/bin/sh
# The image's CMD: what it prints is in expected-output.
echo "greeting: $GREETING"
echo "user: $(id -u):$(id -g)"
echo "workdir: $(pwd)"
echo "a: $(cat /a)"
echo "artifact: $(cat /srv/artifact)"
echo "mode: $MODE"
echo "entrypoint ran: ${ENTRYPOINT_RAN:-no}"
echo "built as: $(cat /tmp/built-as), version $(cat /tmp/version)"
