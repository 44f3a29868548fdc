#!/bin/sh
# Anchor for the cost of a `pair` network: the same two hosts, built with iproute2.
#
#   bench/anchor_iproute2_pair.sh [COMMAND [ARG...]]   (default: /bin/true; needs root)
#
# Two named network namespaces (unique names: this script's pid), one veth pair
# created with each end directly in its namespace, 198.18.0.1/24 + 2001:db8::1/64
# on A's eth0 and .2 / ::2 on B's (the addresses pycoz's `pair` gives h1 and h2,
# IPv6 without duplicate-address detection, as pycoz does), lo and eth0 up in both,
# COMMAND run in A with `ip netns exec`, and both namespaces deleted.  Deleting a
# namespace deletes the veth end in it, and the other end with it, so nothing is
# left anywhere; the trap deletes what is left if a step fails.
#
# Each step is its own `ip` process, as a hand-written script does it.  pycoz also
# sets accept_dad=0 in each namespace; the script does not (its `nodad` covers the
# addresses it adds), so it does a little less than pycoz.
set -eu
[ "$#" -gt 0 ] || set -- /bin/true
a="pczb$$a"
b="pczb$$b"

cleanup() {
    for ns in "$a" "$b"; do
        if [ -e "/run/netns/$ns" ]; then ip netns del "$ns"; fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ip netns add "$a"
ip netns add "$b"
# `dev NAME`, never a bare name: `ip link add a type ...` takes "a" for "address".
ip link add dev eth0 netns "$a" type veth peer name eth0 netns "$b"
ip -n "$a" addr add 198.18.0.1/24 dev eth0
ip -n "$a" addr add 2001:db8::1/64 dev eth0 nodad
ip -n "$b" addr add 198.18.0.2/24 dev eth0
ip -n "$b" addr add 2001:db8::2/64 dev eth0 nodad
ip -n "$a" link set lo up
ip -n "$a" link set eth0 up
ip -n "$b" link set lo up
ip -n "$b" link set eth0 up
status=0
ip netns exec "$a" "$@" || status=$?
ip netns del "$a"
ip netns del "$b"
exit "$status"
