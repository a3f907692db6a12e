#!/bin/sh
# The demo image's CMD: a message from ENV and from files that RUN steps wrote at build time.
echo "$GREETING!"
echo "This image was built FROM scratch on $(cat /demo/arch), by lade, without a daemon."
echo "Its build counted $(cat /demo/file-count) files and directories and $(cat /demo/applet-count) programs in /bin."
cat /demo/motd.txt
