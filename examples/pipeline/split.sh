#!/bin/sh
# Cuts 1..$1 into $PARTS files, parts/part-0.txt … , one number a line, dealt round-robin.
set -eu
mkdir -p parts
i=1
while [ "$i" -le "$1" ]; do
  echo "$i" >> "parts/part-$(( (i - 1) % PARTS )).txt"
  i=$((i + 1))
done
echo "split 1..$1 into $PARTS parts"
