#!/usr/bin/env bash
# Device check for issue 26: `gpta sweep quick --device cuda --workers 4` and the `gpu` bench pair.
# The wheels the image lacks (xllamacpp, the embedded LLM, encoder and data) arrived in 5 parts.
set -u
REPO=$(pwd)
cp .dev/c5/part_* .dev/c5/wheels.tar.sha256 /tmp/stage/ 2>/dev/null
cd /tmp/stage && ls -la && cat part_0* > wheels.tar && sha256sum -c wheels.tar.sha256 || { echo "parts missing or damaged"; exit 3; }
mkdir -p whl && tar -xf wheels.tar -C whl && python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site whl/*.whl || exit 4
export PYTHONPATH=/tmp/site:$REPO HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
mkdir -p /tmp/bin && printf '#!/bin/sh\nexec python3 -m gpta "$@"\n' > /tmp/bin/gpta && chmod +x /tmp/bin/gpta
export PATH=/tmp/bin:$PATH
cd "$REPO"
{ date -u; nvidia-smi; echo "nproc $(nproc)"; lscpu | grep -E "Model name|^CPU\(s\)"; free -g | head -2
  python3 -c "import sys,torch,transformers,sentence_transformers,numpy,xllamacpp;print(sys.version.split()[0],'torch',torch.__version__,'cuda',torch.version.cuda,torch.cuda.get_device_name(0),'transformers',transformers.__version__,'st',sentence_transformers.__version__,'numpy',numpy.__version__)"
  gpta --version; git log --oneline -1 2>/dev/null; } > $OUT/machine.txt 2>&1
cat $OUT/machine.txt
s0=$(date +%s.%N)
timeout 330 gpta sweep quick --device cuda --workers 4 --out /tmp/quick-cuda --report --no-progress > $OUT/quick.log 2>&1
echo "quick rc=$? wall $(python3 -c "import time;print(round(time.time()-$s0,1))") s" | tee -a $OUT/quick.log
tail -45 $OUT/quick.log
python3 - <<'PY' > $OUT/cells.txt 2>&1
import json, glob
for f in sorted(glob.glob('/tmp/quick-cuda/*.json')):
    try: r = json.load(open(f))
    except Exception: continue
    if not isinstance(r, dict) or 'run_id' not in r: continue
    e, k, t = r.get('env', {}), r.get('costs', {}), (r.get('metrics') or {}).get('test', {})
    print(r['run_id'], r.get('status'), 'test_acc', t.get('accuracy'), e.get('device'), e.get('device_name'),
          'train_s', k.get('train_seconds'), 'eval_s', k.get('eval_seconds'), 'llm_s', k.get('llm_seconds'), 'wall_s', k.get('wall_seconds'))
PY
head -20 $OUT/cells.txt
s1=$(date +%s.%N)
timeout 200 python3 -m pytest benchmarks/test_gpu.py -m gpu -q -p no:cacheprovider --benchmark-json=$OUT/benchmark-gpu.json > $OUT/bench.log 2>&1
echo "bench rc=$? wall $(python3 -c "import time;print(round(time.time()-$s1,1))") s" | tee -a $OUT/bench.log
tail -25 $OUT/bench.log
python3 benchmarks/summarize.py $OUT/benchmark-gpu.json --out $OUT/SUMMARY-gpu.md && cat $OUT/SUMMARY-gpu.md
tar czf $OUT/quick-cuda.tgz -C /tmp quick-cuda --exclude='*.sqlite' 2>/dev/null; ls -la $OUT
