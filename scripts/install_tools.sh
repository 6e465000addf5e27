#!/usr/bin/env bash
# Debian packages the browser test and the benchmarks need: Chromium (driven by
# Playwright; its own browser download cannot work offline), wrk (load generator), and
# Node.js with npm (the deploy-role check's IAM policy evaluator, an npm package).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${missing[*]}: install them (e.g. sudo apt-get install ${missing[*]}); tests that need them will skip" >&2
  exit 0
fi
echo "installing ${missing[*]} with apt-get" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
