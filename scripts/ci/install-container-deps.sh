#!/usr/bin/env bash
# Installs and configures a daemonless container engine that builds and runs linux/arm64 images
# on this (x86_64) machine: podman + buildah, qemu-user-static through binfmt_misc, mmdebstrap for the
# stand-in base image. Idempotent: re-running changes nothing that is already in place.
# Runs as root or through sudo. See docs/local-containers.md.
set -euo pipefail
# shellcheck source=as-root.sh
. "$(dirname "$0")/as-root.sh"

export DEBIAN_FRONTEND=noninteractive
packages=(podman buildah runc uidmap fuse-overlayfs qemu-user-static binfmt-support mmdebstrap arch-test)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-container-deps: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-container-deps: packages present"
fi

# Sandboxes without CAP_SYS_RESOURCE and with a hybrid cgroup host break crun's setrlimit and cgroup
# setup; runc with modest default ulimits works (reference/tooling.md §2).
conf=/etc/containers/containers.conf.d/50-agentcore-gitops.conf
as_root mkdir -p "$(dirname "$conf")"
cat >"/tmp/containers-conf.$$" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
if cmp -s "/tmp/containers-conf.$$" "$conf"; then rm "/tmp/containers-conf.$$"; else as_root install -m 0644 "/tmp/containers-conf.$$" "$conf"; rm "/tmp/containers-conf.$$"; echo "install-container-deps: wrote $conf"; fi

# arm64 emulation (not needed on an arm64 host): qemu-user-static registers qemu-aarch64 (flags F:
# usable inside containers) once binfmt_misc is mounted.
if [ "$(uname -m)" != aarch64 ]; then
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    if command -v update-binfmts >/dev/null; then as_root update-binfmts --enable qemu-aarch64 || true; fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && command -v systemd-binfmt >/dev/null; then
      as_root /lib/systemd/systemd-binfmt /usr/lib/binfmt.d/qemu-aarch64.conf || true
    fi
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    echo "install-container-deps: qemu-aarch64 is not registered in binfmt_misc" >&2
    exit 1
  fi
  grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || {
    echo "install-container-deps: qemu-aarch64 lacks the F flag; emulated binaries would not run inside containers" >&2
    exit 1
  }
fi

echo "install-container-deps: $(podman --version), $(buildah --version | cut -d' ' -f1-3), arm64: $(if [ "$(uname -m)" = aarch64 ]; then echo native; else echo qemu-aarch64 registered; fi)"
