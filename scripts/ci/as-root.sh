# Sourced by the install scripts: run a command as root — directly when already root (this project's
# machines, CI here), through sudo otherwise (GitHub's hosted runners run as `runner` with sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo --preserve-env=DEBIAN_FRONTEND "$@"; fi
}
