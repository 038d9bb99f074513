#!/usr/bin/env bash
# Make the base image `debian:bookworm-slim` available to the engine WITHOUT a container registry.
#
# The lab's Dockerfiles say `FROM debian:bookworm-slim`; laptops pull it from Docker Hub as usual. A machine
# that reaches Debian's package mirror but no registry (CI here) runs this script first: it builds the
# same Debian release as a minbase root filesystem with debootstrap and `docker import`s it under that tag.
# This is the ONE override between laptops and CI.
#
#   stack/docker/base-image.sh            idempotent: does nothing if the engine already has the image
#
# Environment: LAB_BASE_IMAGE (default debian:bookworm-slim), LAB_DEBIAN_MIRROR (default: the mirror of
# this machine's apt sources), LAB_DOCKER_CACHE (default ~/.cache/incident-lab/docker; the rootfs tarball
# is kept there so a second import, e.g. after `docker system prune -a`, takes seconds).
# Needs root (debootstrap) and debootstrap installed (apt-get install -y debootstrap).
set -u
set -o pipefail

IMAGE=${LAB_BASE_IMAGE:-debian:bookworm-slim}
SUITE=bookworm
CACHE=${LAB_DOCKER_CACHE:-${HOME:-/root}/.cache/incident-lab/docker}
# Local CA certificates of this machine (e.g. a TLS-intercepting egress proxy's, which Maven Central is
# reached through here): copied into the base so the images' ca-certificates / ca-certificates-java pick
# them up at install time, exactly as this host trusts them. LAB_EXTRA_CA_DIR= (empty) leaves them out.
EXTRA_CA_DIR=${LAB_EXTRA_CA_DIR-/usr/local/share/ca-certificates}
EXTRA_CAS=()
if [ -n "$EXTRA_CA_DIR" ] && [ -d "$EXTRA_CA_DIR" ]; then
    while IFS= read -r -d '' f; do EXTRA_CAS+=("$f"); done < <(find "$EXTRA_CA_DIR" -name '*.crt' -type f -print0 | sort -z)
fi
CA_TAG=""
[ "${#EXTRA_CAS[@]}" -gt 0 ] && CA_TAG=-ca$(cat "${EXTRA_CAS[@]}" | sha256sum | cut -c1-8)
TARBALL=$CACHE/debian-$SUITE-minbase-$(dpkg --print-architecture 2>/dev/null || uname -m)$CA_TAG.tar

say() { echo "base-image: $*"; }
die() { echo "base-image: error: $*" >&2; exit 1; }

docker info >/dev/null 2>&1 || die "no Docker engine answers (start one: stack/docker/engine.sh start)"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "$IMAGE already present ($(docker image inspect --format '{{.Id}}' "$IMAGE" | cut -c1-19)); nothing to do"
    exit 0
fi

mirror_for() {  # mirror_for SUITE-REGEX DEFAULT: the URI this machine's apt sources give for that suite
    local re=$1 uri=""
    if [ -r /etc/apt/sources.list.d/debian.sources ]; then
        # deb822: the first "URIs:" of a stanza whose Suites name a matching suite
        uri=$(awk -v re="$re" '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i ~ re){print u; exit}}' \
              /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
        uri=$(awk -v re="$re" '$1=="deb" && $3 ~ re {for(i=2;i<=NF;i++) if($i ~ /^(https?|file):/){print $i; exit}}' \
              /etc/apt/sources.list)
    fi
    echo "${uri:-$2}"
}

mirror() {
    if [ -n "${LAB_DEBIAN_MIRROR:-}" ]; then echo "$LAB_DEBIAN_MIRROR"; return; fi
    mirror_for "^${SUITE}\$" http://deb.debian.org/debian  # the release itself, not -updates or -security
}

security_mirror() {  # the mirror of bookworm-security, as the official image lists it too
    mirror_for "^${SUITE}[-/]security" http://deb.debian.org/debian-security
}

if [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install -y debootstrap)"
    [ "$(id -u)" = 0 ] || die "debootstrap needs root"
    MIRROR=$(mirror)
    mkdir -p "$CACHE" || die "cannot create $CACHE"
    ROOTFS=$(mktemp -d "${TMPDIR:-/var/tmp}/lab-rootfs.XXXXXX") || die "mktemp failed"
    trap 'rm -rf "$ROOTFS" "$TARBALL.part"' EXIT
    say "debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"
    if ! debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
        tail -n 5 "$CACHE/debootstrap.log" >&2
        die "debootstrap failed (full log: $CACHE/debootstrap.log)"
    fi
    # What the official slim image also leaves out: package lists, apt caches, logs, man pages.
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
           "$ROOTFS"/var/log/*.log "$ROOTFS"/usr/share/man/* "$ROOTFS"/tmp/*
    find "$ROOTFS"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    # The image's apt sources: the mirror it was built from (deb822, as in the official image).
    rm -f "$ROOTFS"/etc/apt/sources.list
    cat >"$ROOTFS"/etc/apt/sources.list.d/debian.sources <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $(security_mirror)
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    # apt settings of the official image (no Install-Recommends override there either: say it per install).
    cat >"$ROOTFS"/etc/apt/apt.conf.d/docker-clean <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
APT
    echo 'Acquire::Languages "none";' >"$ROOTFS"/etc/apt/apt.conf.d/docker-no-languages
    # The "slim" part of debian:bookworm-slim: dpkg leaves docs, man pages and translations out. Kept the
    # same here so a Dockerfile meets the same pitfalls (e.g. a missing /usr/share/man/man1) here as on Hub.
    mkdir -p "$ROOTFS"/etc/dpkg/dpkg.cfg.d
    cat >"$ROOTFS"/etc/dpkg/dpkg.cfg.d/docker <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
DPKG
    rm -rf "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/locale/* "$ROOTFS"/usr/share/groff/*
    : >"$ROOTFS"/etc/hostname
    if [ "${#EXTRA_CAS[@]}" -gt 0 ]; then
        say "adding this machine's local CA certificates: ${EXTRA_CAS[*]}"
        mkdir -p "$ROOTFS"/usr/local/share/ca-certificates
        cp "${EXTRA_CAS[@]}" "$ROOTFS"/usr/local/share/ca-certificates/
    fi
    say "writing rootfs tarball $TARBALL"
    tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.part" . || die "tar of the rootfs failed"
    mv "$TARBALL.part" "$TARBALL"
    rm -rf "$ROOTFS"; trap - EXIT
else
    say "reusing cached rootfs $TARBALL"
fi

say "docker import -> $IMAGE"
docker import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$TARBALL" "$IMAGE" >/dev/null || die "docker import of $TARBALL failed"
docker run --rm "$IMAGE" true || die "the imported $IMAGE does not run"
say "$IMAGE ready ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
