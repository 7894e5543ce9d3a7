#!/bin/sh
OUT=/tmp/cmp2.txt; : > $OUT
for r in 1 2 3; do
  for be in recvmmsg iouring; do
    for side in base main; do
      ts=""; [ $side = base ] && ts="--no-timestamps"
      line=$(/work/$side/build-bench/bench/mcrx_bench scale --backend $be --subs 1000 --active 10 --count 20000 $ts 2>&1 | tail -1)
      echo "round=$r side=$side $line" >> $OUT
    done
  done
done
for r in 1 2 3 4 5 6 7; do
  for be in recvmmsg iouring; do
    for side in base main; do
      ts=""; [ $side = base ] && ts="--no-timestamps"
      line=$(/work/$side/build-bench/bench/mcrx_bench drain --backend $be --count 300000 $ts 2>&1 | tail -1)
      echo "round=$r side=$side $line" >> $OUT
    done
  done
done
echo done >> $OUT
