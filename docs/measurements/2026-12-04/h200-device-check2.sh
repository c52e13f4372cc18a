#!/usr/bin/env bash
# Device check 2 (after the device-id change): quick on CUDA with 4 workers, resumed once; the
# CUDA test group; the gpu bench pair with its JSON (the conftest fix on pytest-benchmark 5.2.3).
set -u
REPO=$(pwd)
cp .dev/c5/part_* .dev/c5/wheels.tar.sha256 /tmp/stage/ 2>/dev/null
cd /tmp/stage && cat part_0* > wheels.tar && sha256sum -c wheels.tar.sha256 || { echo "parts missing or damaged"; exit 3; }
mkdir -p whl && tar -xf wheels.tar -C whl && python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site whl/*.whl || exit 4
export PYTHONPATH=/tmp/site:$REPO HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
mkdir -p /tmp/bin && printf '#!/bin/sh\nexec python3 -m gpta "$@"\n' > /tmp/bin/gpta && chmod +x /tmp/bin/gpta
export PATH=/tmp/bin:$PATH
cd "$REPO"; git log --oneline -1 2>/dev/null | cut -c1-80
s0=$(date +%s.%N)
timeout 200 gpta sweep quick --device cuda --workers 4 --out /tmp/q2 --report --no-progress > $OUT/quick2.log 2>&1
echo "quick rc=$? wall $(python3 -c "import time;print(round(time.time()-$s0,1))") s" | tee -a $OUT/quick2.log
grep -E "^(ok|FAILED)|sweep quick" $OUT/quick2.log
s0=$(date +%s.%N)
timeout 100 gpta sweep quick --device cuda --workers 4 --out /tmp/q2 --no-progress 2>&1 | tail -2 | tee -a $OUT/quick2.log
echo "resume wall $(python3 -c "import time;print(round(time.time()-$s0,1))") s" | tee -a $OUT/quick2.log
python3 -c "
import json,glob
for f in sorted(glob.glob('/tmp/q2/*__*.json')):
    r=json.load(open(f))
    if 'run_id' in r: print(r['run_id'], r['identity'].get('device'), r['env']['device'], r['metrics']['test']['accuracy'], r['costs']['wall_seconds'])
" | tee $OUT/cells2.txt
timeout 150 python3 -m pytest tests/test_executors_gpu.py tests/test_identity.py -q -p no:cacheprovider -rs > $OUT/cudatests.log 2>&1
echo "cuda tests rc=$?" | tee -a $OUT/cudatests.log; tail -15 $OUT/cudatests.log
timeout 150 python3 -m pytest benchmarks/test_gpu.py -m gpu -q -p no:cacheprovider --benchmark-json=$OUT/benchmark-gpu.json > $OUT/bench2.log 2>&1
echo "bench rc=$?" | tee -a $OUT/bench2.log; grep -E "test_epoch|passed|failed|Error" $OUT/bench2.log | head
python3 -c "
import json; d=json.load(open('$OUT/benchmark-gpu.json'))
for b in d['benchmarks']: print(b['name'], 'median', round(b['stats']['median'],3), b['extra_info'].get('torch_threads'), b['extra_info'].get('device'))
"
