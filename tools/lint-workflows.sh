#!/usr/bin/env bash
# Lint the GitHub Actions workflows — the learner's (.github/workflows/) and the instructor's template
# (.github/instructor/) — with actionlint and zizmor, pinned versions, installed on first use into a cache
# folder (Go module proxy and PyPI only). Any finding fails. actionlint also runs shellcheck on every `run:`
# script when shellcheck is on PATH (Debian: `apt-get install shellcheck`).
#
#   tools/lint-workflows.sh            # install if missing, then lint
#   LAB_TOOLS_DIR=/somewhere tools/lint-workflows.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONLINT_VERSION=v1.7.12
ZIZMOR_VERSION=1.32.0
TOOLS="${LAB_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/incident-lab-tools}"
ACTIONLINT="$TOOLS/actionlint-$ACTIONLINT_VERSION/actionlint"
ZIZMOR="$TOOLS/zizmor-$ZIZMOR_VERSION/bin/zizmor"

install_actionlint() {
  command -v go >/dev/null || { echo "lint-workflows: Go is needed to install actionlint (https://go.dev/dl)" >&2; exit 2; }
  local dest scratch start
  dest="$(dirname "$ACTIONLINT")"
  scratch="$(mktemp -d "$TOOLS/go.XXXXXX")"
  start=$(date +%s)
  echo "lint-workflows: installing actionlint $ACTIONLINT_VERSION (go install) …"
  GOBIN="$scratch/bin" GOPATH="$scratch/gopath" GOCACHE="$scratch/cache" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
    go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  mkdir -p "$dest"
  mv "$scratch/bin/actionlint" "$ACTIONLINT"
  rm -rf "$scratch"
  echo "lint-workflows: actionlint installed in $(( $(date +%s) - start )) s"
}

install_zizmor() {
  local dest start
  dest="$(dirname "$(dirname "$ZIZMOR")")"
  start=$(date +%s)
  echo "lint-workflows: installing zizmor $ZIZMOR_VERSION (pip, its own virtualenv) …"
  rm -rf "$dest.tmp"
  python3 -m venv "$dest.tmp"
  "$dest.tmp/bin/python" -m pip install --disable-pip-version-check -q "zizmor==$ZIZMOR_VERSION"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"  # bin/zizmor is a native binary (the wheel ships it): it does not mind the move
  echo "lint-workflows: zizmor installed in $(( $(date +%s) - start )) s"
}

mkdir -p "$TOOLS"
[ -x "$ACTIONLINT" ] || install_actionlint
[ -x "$ZIZMOR" ] && "$ZIZMOR" --version >/dev/null 2>&1 || install_zizmor

mapfile -t files < <(ls .github/workflows/*.y*ml .github/instructor/*.y*ml 2>/dev/null)
[ "${#files[@]}" -gt 0 ] || { echo "lint-workflows: no workflow files found" >&2; exit 2; }

status=0
command -v shellcheck >/dev/null || echo "lint-workflows: shellcheck not on PATH: actionlint skips the run: scripts"
echo "lint-workflows: actionlint $("$ACTIONLINT" -version | head -n 1) on ${files[*]}"
"$ACTIONLINT" "${files[@]}" || status=1
# --offline: no GitHub API here (its online audits — impostor commits, tags that do not match their pinned
# commit, known-vulnerable actions — need a token and github.com).
echo "lint-workflows: $("$ZIZMOR" --version) on ${files[*]}"
"$ZIZMOR" --offline --no-progress "${files[@]}" || status=1
[ "$status" -eq 0 ] && echo "lint-workflows: clean"
exit "$status"
