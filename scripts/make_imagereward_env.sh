#!/usr/bin/env bash
# Build a separate Python environment for the ImageReward reward and print how to serve it.
#
# image-reward 1.5 needs an old transformers (< 4.56), timm 0.6.13 and fairscale 0.4.13,
# which cannot live in the main environment; this project is installed there without its
# dependencies, only to run `python -m paretoslider.rewards.server --reward imagereward`.
#
# usage: scripts/make_imagereward_env.sh [--device cuda|cpu] [--venv PATH] [--python PY]
#   --device cuda  (default) torch/torchvision wheels with CUDA, as the registry ships them
#   --device cpu   CPU-only wheels from PyTorch's CPU index (override: TORCH_INDEX_URL=...)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEVICE=cuda
VENV="$ROOT/.venv-imagereward"
PY=$(command -v python3.11 || command -v python3)
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --venv) VENV=$2; shift 2 ;;
    --python) PY=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in
  cuda) TORCH_ARGS=() ;;
  cpu) TORCH_ARGS=(--index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}") ;;
  *) echo "--device must be cuda or cpu, got $DEVICE" >&2; exit 2 ;;
esac

echo "creating $VENV with $PY ($DEVICE torch)"
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q)
"${PIP[@]}" --upgrade pip
# torch < 2.6: ImageReward.load reads its checkpoint with torch.load's old defaults
"${PIP[@]}" ${TORCH_ARGS[@]+"${TORCH_ARGS[@]}"} "torch>=2.1,<2.6" "torchvision<0.21"
"${PIP[@]}" "image-reward==1.5" "timm==0.6.13" "fairscale==0.4.13" "openai-clip" \
  "setuptools<81" "transformers<4.56" "numpy<2" pillow safetensors tqdm huggingface_hub
"${PIP[@]}" --no-deps -e "$ROOT"
"$VENV/bin/python" -c "import ImageReward, paretoslider.rewards; print('image-reward ready')"

cat <<MSG

Weights: ImageReward.pt and med_config.json go in \$PARETOSLIDER_IMAGEREWARD_DIR (default
~/.cache/ImageReward); BLIP also reads bert-base-uncased from the Hugging Face cache (HF_HOME).
Start the server (keep it running while training):
  $VENV/bin/python -m paretoslider.rewards.server --reward imagereward --port 8765
and in the main environment use the reward 'imagereward_remote'
(PARETOSLIDER_IMAGEREWARD_URL=http://127.0.0.1:8765 is the default).
MSG
