#!/usr/bin/env bash
# Installs the Debian packages belady's build, tests and benchmarks need, only those missing.
# Run as root (or with sudo available). The CUDA toolkit is not a Debian package here: when
# /usr/local/cuda/bin/nvcc exists the cuda preset can build, otherwise only host presets.
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config libgtest-dev libgmock-dev libbenchmark-dev
          liblzma-dev libzstd-dev libspdlog-dev prometheus libtorch-dev)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "setup: all Debian packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
