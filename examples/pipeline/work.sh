#!/bin/sh
# Sums the part of this copy's index into sum.txt. FAIL_INDEX, when set, makes that copy fail (to see merge skipped).
set -eu
if [ "${FAIL_INDEX:-}" = "$KATAPULT_JOB_INDEX" ]; then
  echo "copy $KATAPULT_JOB_INDEX fails on purpose" >&2
  exit 4
fi
sum=0
while read -r n; do sum=$((sum + n)); done < "parts/part-$KATAPULT_JOB_INDEX.txt"
echo "$sum" > sum.txt
echo "part $KATAPULT_JOB_INDEX of $KATAPULT_JOB_COUNT: $sum"
