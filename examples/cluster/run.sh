#!/usr/bin/env bash
# Two cluster nodes (ports 3001 and 3002, or NODE1_PORT and NODE2_PORT) on the Redis at
# 127.0.0.1:6379, behind nginx on port 3000 (or PORT): `examples/cluster/run.sh`
# (Debian: `apt-get install nginx redis-server`).
# Clients connect to http://127.0.0.1:3000; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${PORT:-3000}"
node1="${NODE1_PORT:-3001}"
node2="${NODE2_PORT:-3002}"
dir="$(mktemp -d)"
cargo build -p example-cluster
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$dir"' EXIT
target/debug/example-cluster --name node-1 --port "$node1" & pids+=($!)
target/debug/example-cluster --name node-2 --port "$node2" & pids+=($!)
sed -e "s|__DIR__|$dir|g" -e "s|__PORT__|$port|" -e "s|__NODE1__|$node1|" -e "s|__NODE2__|$node2|" \
  examples/cluster/nginx.conf > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" & pids+=($!)
echo "cluster on http://127.0.0.1:$port (nodes on $node1 and $node2)"
wait
