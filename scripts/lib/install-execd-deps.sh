#!/usr/bin/env bash
# Installs what the execd test suite and benchmark need on a Debian (bookworm) machine:
#   - python3-matplotlib for Debian's /usr/bin/python3. The suite runs Python code with
#     /usr/bin/python3 on purpose (test/execd/harness.ts TEST_PYTHON), not whatever python3
#     is first on PATH (here a pyenv 3.11 without matplotlib); EXECD_TEST_PYTHON overrides.
#   - runsc (gVisor) for the gVisor part of the suite and the exec-local benchmark.
# Idempotent: does nothing when both are present. Needs root (apt).
set -euo pipefail

need=()
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || need+=(python3-matplotlib)
command -v runsc >/dev/null 2>&1 || need+=(runsc)
if [ "${#need[@]}" -eq 0 ]; then
  echo "execd deps present: $(/usr/bin/python3 -c 'import matplotlib; print("matplotlib", matplotlib.__version__)'), $(runsc --version | head -1)"
  exit 0
fi

echo "installing: ${need[*]}"
# apt's dpkg staging lives under TMPDIR; a shared /tmp that other jobs clean broke it once.
export TMPDIR=/var/tmp DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}"
/usr/bin/python3 -c 'import matplotlib; print("matplotlib", matplotlib.__version__)'
runsc --version | head -1
