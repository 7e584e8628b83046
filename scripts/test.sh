#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine
# (headless Chromium and its WebDriver for the UI tests; a Python venv for the example agent),
# then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "== installing chromium and chromium-driver (the UI tests drive a real browser)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# The example agent (examples/support-agent) runs under the real anthropic and OpenTelemetry
# SDKs; tests find its interpreter in GLASSBOX_PYTHON. Reinstalled only when requirements change.
GLASSBOX_PYENV="${GLASSBOX_PYENV:-/var/tmp/glassbox-pyenv}"
requirements=examples/support-agent/requirements.txt
stamp="$GLASSBOX_PYENV/.glassbox-requirements"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$GLASSBOX_PYENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "== preparing the Python venv in $GLASSBOX_PYENV (the example agent's SDKs)"
  python3 -m venv "$GLASSBOX_PYENV"
  "$GLASSBOX_PYENV/bin/pip" install -q -r "$requirements"
  echo "$wanted" > "$stamp"
fi
export GLASSBOX_PYENV
export GLASSBOX_PYTHON="$GLASSBOX_PYENV/bin/python"

exec cargo test --workspace "$@"
