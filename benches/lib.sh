# Shared by benches/postgres.sh, mysql.sh and adbc.sh. Source it after setting DATA (where runs
# are kept), BENCH (the file prefix of this benchmark's runs: pg, my, adbc) and, for `row`, ROWS.

# need CMD PACKAGE: installs the Debian PACKAGE when CMD is missing.
need() {
    command -v "$1" >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$2"; }
}

# run NAME CMD...: wall seconds and peak RSS KiB of one run, appended to $DATA/$BENCH-NAME.runs
run() {
    local name=$1; shift
    /usr/bin/time -o "$DATA/$BENCH-time.out" -f '%e %M' "$@" >/dev/null 2>"$DATA/$BENCH-stderr.out" ||
        { cat "$DATA/$BENCH-stderr.out" >&2; echo "$name failed" >&2; exit 1; }
    tail -1 "$DATA/$BENCH-time.out" >> "$DATA/$BENCH-$name.runs"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# walls CASE: the wall seconds of each run, in run order
walls() { cut -d' ' -f1 "$DATA/$BENCH-$1.runs"; }

# peak_rss_kib CASE: the largest peak RSS of its runs
peak_rss_kib() { cut -d' ' -f2 "$DATA/$BENCH-$1.runs" | sort -n | tail -1; }

# pair_ratio CASE FLOOR: the median of the pairwise ratios (run i of CASE / run i of FLOOR)
pair_ratio() { paste -d' ' <(walls "$1") <(walls "$2") | awk '{print $1/$2}' | median; }

# row LABEL CASE [FLOOR]: | label | median wall | ratio to the floor | rows/s | peak RSS |
row() {
    local label=$1 case=$2 floor=${3:-}
    local secs ratio="1 (floor)"
    secs=$(walls "$case" | median)
    [[ -n $floor ]] && ratio=$(printf '%.2fx' "$(pair_ratio "$case" "$floor")")
    printf '| %s | %.2f s | %s | %.0f | %.0f MiB |\n' "$label" "$secs" "$ratio" \
        "$(echo "$ROWS/$secs" | bc -l)" "$(echo "$(peak_rss_kib "$case")/1024" | bc -l)"
}
