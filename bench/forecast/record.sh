#!/usr/bin/env bash
# record.sh records real series from this machine for the forecast evaluation: every INTERVAL seconds for
# DURATION seconds it appends to $OUT/<name>.csv (timestamp,value with Unix seconds)
#   cpu_busy_ratio         non-idle non-iowait share of all CPUs (/proc/stat)
#   disk_write_bytes_per_second, disk_read_bytes_per_second   summed over whole disks (/proc/diskstats)
#   memory_usage_ratio     1 − MemAvailable/MemTotal (/proc/meminfo)
# while a driver runs random stress-ng bursts (CPU, disk, memory; random lengths and pauses, seeded) so the
# series are bursty with idle stretches and level changes, like real server traces.
#
#   INTERVAL=2 DURATION=3600 OUT=testdata/series SEED=1 bash bench/forecast/record.sh
set -euo pipefail
interval=${INTERVAL:-2}
duration=${DURATION:-3600}
out=${OUT:-testdata/series}
seed=${SEED:-1}
mkdir -p "$out"
scratch=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$scratch"' EXIT

cpu() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat; } # busy, idle+iowait
disk() { awk '$3 ~ /^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme[0-9]+n[0-9]+)$/ {r+=$6; w+=$10} END {printf "%.0f %.0f\n", r*512, w*512}' /proc/diskstats; }
mem() { awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END {printf "%.6f\n", 1-a/t}' /proc/meminfo; }

driver() {
	RANDOM=$seed
	local end=$((SECONDS + duration))
	while ((SECONDS < end)); do
		local len=$((5 + RANDOM % 90)) pause=$((RANDOM % 240))
		case $((RANDOM % 4)) in
		0) stress-ng --cpu $((1 + RANDOM % 2)) --cpu-load $((20 + RANDOM % 80)) --timeout "${len}s" --quiet ;;
		1) stress-ng --hdd 1 --hdd-bytes 64M --temp-path "$scratch" --timeout "${len}s" --quiet ;;
		2) stress-ng --vm 1 --vm-bytes $((256 + RANDOM % 2048))M --vm-keep --timeout "${len}s" --quiet ;;
		3) stress-ng --cpu 1 --cpu-load 30 --hdd 1 --hdd-bytes 16M --temp-path "$scratch" --timeout "${len}s" --quiet ;;
		esac
		sleep "$pause"
	done
}
driver &

for f in cpu_busy_ratio disk_read_bytes_per_second disk_write_bytes_per_second memory_usage_ratio; do
	[ -s "$out/$f.csv" ] || echo "timestamp,value" >"$out/$f.csv"
done
read -r b0 i0 < <(cpu)
read -r r0 w0 < <(disk)
next=$(date +%s)
end=$((next + duration))
while ((next < end)); do
	next=$((next + interval))
	sleep "$(awk -v n="$next" -v now="$(date +%s.%N)" 'BEGIN{d=n-now; print (d>0?d:0)}')"
	read -r b1 i1 < <(cpu)
	read -r r1 w1 < <(disk)
	awk -v t="$next" -v db=$((b1 - b0)) -v di=$((i1 - i0)) 'BEGIN{if (db+di>0) printf "%d,%.6f\n", t, db/(db+di)}' >>"$out/cpu_busy_ratio.csv"
	echo "$next,$(((r1 - r0) / interval))" >>"$out/disk_read_bytes_per_second.csv"
	echo "$next,$(((w1 - w0) / interval))" >>"$out/disk_write_bytes_per_second.csv"
	echo "$next,$(mem)" >>"$out/memory_usage_ratio.csv"
	b0=$b1 i0=$i1 r0=$r1 w0=$w1
done
