#!/bin/sh
# client-reconfig-script for `sentinel` (and redis-sentinel): move a floating IP to the
# new master, or update a DNS record, when a failover promotes a replica.
#
# Sentinel runs it directly (no shell in between), from its `dir`, with:
#   <master-name> <leader|observer> start <from-ip> <from-port> <to-ip> <to-port>
# Every sentinel runs it (the leader at promotion, the others when they learn the new
# address), so it must be idempotent. Exit 0 = done; exit 1 = retry later (back-off
# 30 s, 60 s, ...); any other code = give up (-script-error).
#
# Configure (sentinel.conf):   sentinel client-reconfig-script mymaster /etc/sentinel/reconf.sh
#           (sentinel.toml):   client-reconfig-script = "/etc/sentinel/reconf.sh"
set -eu

[ "$#" -eq 7 ] || { echo "usage: $0 <master> <role> <state> <from-ip> <from-port> <to-ip> <to-port>" >&2; exit 2; }
MASTER=$1 ROLE=$2 STATE=$3 FROM_IP=$4 FROM_PORT=$5 TO_IP=$6 TO_PORT=$7

# --- adapt to your site --------------------------------------------------------------
VIP=${VIP:-10.0.0.100/24}          # the address clients use
IFACE=${IFACE:-eth0}
DNS_NAME=${DNS_NAME:-redis-master.example.internal.}
DNS_SERVER=${DNS_SERVER:-}          # set to use nsupdate instead of a floating IP
# --------------------------------------------------------------------------------------

logger -t sentinel-reconf "$MASTER: $ROLE $STATE $FROM_IP:$FROM_PORT -> $TO_IP:$TO_PORT" 2>/dev/null || true

if [ -n "$DNS_SERVER" ]; then
    # Any sentinel may do it; the update is idempotent.
    printf 'server %s\nupdate delete %s A\nupdate add %s 30 A %s\nsend\n' \
        "$DNS_SERVER" "$DNS_NAME" "$DNS_NAME" "$TO_IP" | nsupdate || exit 1
    exit 0
fi

# Floating IP: the host that now runs the master takes the address, every other host
# drops it. (Run a sentinel on each Redis host for this variant.)
if ip -o addr show | grep -qw "inet $TO_IP"; then
    ip addr add "$VIP" dev "$IFACE" 2>/dev/null || true
    arping -q -U -c 3 -I "$IFACE" "${VIP%/*}" 2>/dev/null || true   # refresh neighbours' ARP caches
else
    ip addr del "$VIP" dev "$IFACE" 2>/dev/null || true
fi
exit 0
