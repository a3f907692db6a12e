#!/bin/sh
echo "bench-small-ok $(cat /app/greeting) $(cat /var/lib/bench/mode)"
