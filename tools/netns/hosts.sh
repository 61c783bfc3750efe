#!/bin/bash
# Test hosts for humans: N network namespaces lubdub-h1..lubdub-hN, each with
# an interface lub0 at 192.0.2.<i>/24, all on one bridge that lives in its own
# namespace (lubdub-hbr), so nothing touches the machine's own network.
#
#   tools/netns/hosts.sh up 2      # make lubdub-h1, lubdub-h2
#   ip netns exec lubdub-h1 node host/dist/daemon/lubdubd.js ...
#   tools/netns/hosts.sh down      # remove them all
#
# `up` removes whatever it made if any step fails. Needs root and iproute2.
set -euo pipefail

BR_NS=lubdub-hbr
NET=192.0.2

usage() { echo "usage: $0 up N | down" >&2; exit 2; }

down() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E '^lubdub-h([0-9]+|br)$' || true); do
    ip netns delete "$ns" 2>/dev/null || true
  done
  # veth ends left in the root namespace by an interrupted `up`
  for v in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^lubdub-v[0-9]+[hb]$' || true); do
    ip link delete "$v" 2>/dev/null || true
  done
}

up() {
  local n=$1 i
  [[ $n =~ ^[0-9]+$ ]] && (( n >= 1 && n <= 200 )) || usage
  if ip netns list | grep -qE '^lubdub-h'; then
    echo "lubdub test hosts already exist; run '$0 down' first" >&2
    exit 1
  fi
  trap 'echo "setup failed; removing what was made" >&2; down' ERR INT TERM
  ip netns add "$BR_NS"
  ip -n "$BR_NS" link set lo up
  ip -n "$BR_NS" link add br0 type bridge
  ip -n "$BR_NS" link set br0 up
  for (( i = 1; i <= n; i++ )); do
    local ns=lubdub-h$i
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "lubdub-v${i}h" type veth peer name "lubdub-v${i}b"
    ip link set "lubdub-v${i}b" netns "$BR_NS"
    ip -n "$BR_NS" link set "lubdub-v${i}b" master br0 up
    ip link set "lubdub-v${i}h" netns "$ns"
    ip -n "$ns" link set "lubdub-v${i}h" name lub0
    ip -n "$ns" addr add "$NET.$i/24" broadcast "$NET.255" dev lub0
    ip -n "$ns" link set lub0 up
    echo "lubdub-h$i: lub0 $NET.$i/24"
  done
  trap - ERR INT TERM
  echo "cut a cable: ip -n lubdub-h1 link set lub0 down; remove all: $0 down"
}

case "${1:-}" in
  up) [[ $# -eq 2 ]] || usage; up "$2" ;;
  down) down ;;
  *) usage ;;
esac
