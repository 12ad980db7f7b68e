#!/usr/bin/env bash
# Installs what a fresh machine lacks for `make run` and `make test`: Chromium (for the
# browser-driven flows) and, when asked, other Debian packages (prometheus, promtool; node
# and npm for the oidc-provider that internal/oidcprovider installs with npm ci) and
# Python modules of Debian's /usr/bin/python3 (py:MODULE, for the example apps of
# examples/apps; a python3 on PATH may be a pyenv or virtualenv one without them).
# As root it uses apt-get; otherwise it says exactly what to install and fails.
set -euo pipefail

need=()
for tool in "$@"; do
  case "$tool" in
    chromium) command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || need+=(chromium) ;;
    prometheus) command -v prometheus >/dev/null 2>&1 || need+=(prometheus) ;;
    node) command -v node >/dev/null 2>&1 || need+=(nodejs) ;; # Debian's package name
    npm) command -v npm >/dev/null 2>&1 || need+=(npm) ;;
    promtool) command -v promtool >/dev/null 2>&1 || need+=(prometheus) ;;
    taskset) command -v taskset >/dev/null 2>&1 || need+=(util-linux) ;;
    time) [ -x /usr/bin/time ] || need+=(time) ;; # the program, not the shell keyword
    py:*)
      module=${tool#py:}
      /usr/bin/python3 -c "import $module" >/dev/null 2>&1 || need+=("python3-$module") ;;
    *) command -v "$tool" >/dev/null 2>&1 || need+=("$tool") ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0

# De-duplicate (prometheus ships both prometheus and promtool).
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "grantbench needs these packages, which this machine lacks: ${need[*]}" >&2
  echo "Install them (Debian/Ubuntu: sudo apt-get install -y ${need[*]}) and run make again." >&2
  exit 1
fi
echo "installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${need[@]}" >/dev/null \
  || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
