#!/usr/bin/env bash
# Real AVX2-only measurement of `tox -e quick` from a fresh clone (no caps: the CPU has no AVX-512).
set -u
exec > ${LOG:-quick_avx2.log} 2>&1
date -u; lscpu | grep -E "Model name|^CPU\(s\)|Flags" | sed 's/Flags:.*/& /' | cut -c1-200
grep -o -w -E "avx2|avx512f|avx512_bf16|amx_bf16" /proc/cpuinfo | sort | uniq -c
uptime
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 UV_FIND_LINKS=/opt/wheels
t0=$(date +%s.%N)
python3 -m pip install --quiet --disable-pip-version-check tox==4.67.15 tox-uv==1.37.1
t1=$(date +%s.%N); echo "tox+tox-uv install: $(echo "$t1-$t0"|bc) s"
rm -rf /tmp/fresh && git clone -q ${MAIN:-.} /tmp/fresh && cd /tmp/fresh && git log --oneline -1
t2=$(date +%s.%N); echo "clone: $(echo "$t2-$t1"|bc) s"
/usr/bin/time -v python3 -m tox -e quick; rc=$?
t3=$(date +%s.%N); echo "tox -e quick: $(echo "$t3-$t2"|bc) s rc=$rc"
uptime; date -u
