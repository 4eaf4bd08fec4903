#!/usr/bin/env bash
# Install the Debian packages otsec's tests and tools need, when they are missing.
# Idempotent: does nothing when every command is already present.
set -euo pipefail

# command -> Debian package
declare -A NEED=(
    [tshark]=tshark
    [capinfos]=tshark
    [editcap]=tshark
    [gcc]=build-essential   # mypyc compiles the packet path (scripts/build_native.py)
    [rsyslogd]=rsyslog      # the syslog output tests send to a real rsyslog (tests/sinks)
    [openssl]=openssl       # ... over TLS too, with a throw-away CA made by openssl
    [tcpreplay]=tcpreplay   # the live-capture tests replay captures into a veth pair
    [ip]=iproute2           # ... between network namespaces they create
    [tcpdump]=tcpdump       # the capture benchmark's reference receiver
    [systemd-analyze]=systemd   # checks the appliance's service unit (deploy/)
    [setpriv]=util-linux    # runs a capture test with CAP_NET_RAW alone
)

missing=()
for cmd in "${!NEED[@]}"; do
    # daemons live in sbin, which a non-root PATH may leave out
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${NEED[$cmd]}")
done
# rsyslog's TLS stream driver (gtls), for the syslog-over-TLS tests
compgen -G "/usr/lib/*/rsyslog/lmnsd_gtls.so" >/dev/null \
    || compgen -G "/usr/lib/rsyslog/lmnsd_gtls.so" >/dev/null \
    || missing+=(rsyslog-gnutls)
# Python's C headers, for the same compilation (present with pyenv/python.org builds)
py="${PYTHON:-python3}"
include=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null || true)
[ -n "$include" ] && [ ! -f "$include/Python.h" ] && missing+=(python3-dev)
# libpcap's headers, to build pcapy-ng (the pcap capture backend) where no wheel fits
[ -f /usr/include/pcap/pcap.h ] || [ -f /usr/include/pcap.h ] || missing+=(libpcap-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
    echo "otsec setup: missing Debian packages: ${pkgs[*]} (run 'make setup' as root, or install them)" >&2
    exit 1
fi
echo "otsec setup: installing Debian packages: ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no (otsec never needs it for replay).
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
