#!/usr/bin/env bash
# The lab as a learner who is not root would run it, on a machine whose PostgreSQL is not where Debian
# puts it: found only through the `pg_config` first on PATH (the closest this machine gets to Homebrew's
# keg-only postgresql@NN). A fresh clone of this repository as that user, then exactly the README:
# `make lab-up`, the README's commands verbatim (tests/integration/test_commands.py), the integration tier,
# `make lab-down`. Run by .ci/run as root; the user, the layout and the clone are made here.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
user=labuser
home=/home/$user
pgroot=/opt/pgsql-15

id -u "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"

# A PostgreSQL 15 outside Debian's path: the server binaries linked in, and a pg_config of its own.
debian_bin=$(ls -d /usr/lib/postgresql/1[5-9]/bin | sort -V | tail -n 1)
rm -rf "$pgroot"; mkdir -p "$pgroot/bin"
for tool in "$debian_bin"/*; do [ "$(basename "$tool")" = pg_config ] || ln -s "$tool" "$pgroot/bin/"; done
printf '#!/bin/sh\n[ "$1" = --bindir ] && echo %s/bin && exit 0\necho "pg_config of %s"\n' "$pgroot" "$pgroot" \
  > "$pgroot/bin/pg_config"
chmod 755 "$pgroot/bin/pg_config"

clone="$home/the-516k-gap"
# A lab left by an interrupted earlier run of this script would hold the ports: end it first.
pkill -u "$user" 2>/dev/null || true
rm -rf "$clone"
git clone -q "$repo" "$clone"
# The jars this machine already resolved (a learner's second lab would find them in its own cache too).
mkdir -p "$home/.cache/incident-lab"
[ -d /root/.cache/incident-lab/jvm ] && cp -a /root/.cache/incident-lab/jvm "$home/.cache/incident-lab/"
chown -R "$user:" "$home"

status=0
runuser -u "$user" -- env -i HOME="$home" USER="$user" LANG=C.UTF-8 TERM=dumb CI=true \
  PATH="$pgroot/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  PIP_DISABLE_PIP_VERSION_CHECK=1 LAB_TEST_ARTEFACTS="${LAB_TEST_ARTEFACTS:-}" \
  bash -c '
    set -euo pipefail
    cd "$HOME/the-516k-gap"
    make lab-up | tee lab-up.log
    grep -q "pg_config ('"$pgroot"'/bin/pg_config)" lab-up.log \
      || { echo "PostgreSQL was not found through pg_config"; exit 1; }
    trap "make lab-down" EXIT
    LAB_README_VERBATIM=1 make test-integration
  ' || status=$?
exit $status
