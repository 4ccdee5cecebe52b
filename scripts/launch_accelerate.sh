#!/usr/bin/env bash
# Data-parallel training of one model of a suite on this node's GPUs, through accelerate.
#
# usage: scripts/launch_accelerate.sh SUITE_YAML OUT_DIR [--seed N] [--epochs N] [--fixed-w W...]
#   NPROC=4 scripts/launch_accelerate.sh bench/conf/suite/sd35_photo_sketch.yaml runs/sd35/ps_s0
# NPROC defaults to the number of visible GPUs. Without GPUs, NPROC CPU processes are run by
# torchrun over gloo (a functional check, not a way to train SD3.5). The run resumes from
# OUT_DIR/ckpt when it holds a checkpoint.
set -euo pipefail

if [ $# -lt 2 ]; then sed -n '2,9p' "$0"; exit 2; fi
SUITE=$1; OUT=$2; shift 2
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin}
GPUS=$( (nvidia-smi -L 2>/dev/null || true) | grep -c '^GPU' || true)
NPROC=${NPROC:-$(( GPUS > 0 ? GPUS : 1 ))}
ENTRY=(-m paretoslider.trainer.distributed --suite "$SUITE" --out "$OUT" "$@")

if [ "$GPUS" -eq 0 ]; then
  ACCELERATE_USE_CPU=true exec "$BIN/torchrun" --standalone --nproc_per_node "$NPROC" "${ENTRY[@]}"
elif [ "$NPROC" -eq 1 ]; then
  exec "$BIN/accelerate" launch --num_processes 1 --mixed_precision no "${ENTRY[@]}"
else
  # mixed precision stays "no": the SD3 backbone runs bf16 weights under its own autocast
  exec "$BIN/accelerate" launch --multi_gpu --num_processes "$NPROC" --mixed_precision no \
    "${ENTRY[@]}"
fi
