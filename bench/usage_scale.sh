#!/usr/bin/env bash
# Conduix bench: /v1/account/usage over 30 days with 1,000,000 usage rows.
#
#   bench/usage_scale.sh                 # 1,000,000 rows, 15 runs per query
#   ROWS=200000 RUNS=9 bench/usage_scale.sh
#   KEEP=1 bench/usage_scale.sh          # keep the temp dir (database, logs)
#
# Starts a private MariaDB and httpd (scripts/lib.sh, as the tests do), loads ROWS
# usage rows spread evenly over the last 30 days (one INSERT ... SELECT per chunk from
# MariaDB's SEQUENCE engine: 20 keys, 10 models on 5 providers), builds the rollups
# from them (conduixctl usage-rebuild-rollups: INSERT ... SELECT ... GROUP BY), checks
# that the rollup answer equals a direct SUM over usage_events, then measures the API
# through httpd with curl: the median of RUNS requests per query shape, and the
# database time the module reports (x-conduix-db-ms). Not part of scripts/test: the
# load alone takes a minute or two. Prints a Markdown table for docs/performance.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ROWS="${ROWS:-1000000}"
RUNS="${RUNS:-15}"
CHUNK=200000
[[ "$ROWS" =~ ^[0-9]+$ && "$ROWS" -ge 1000 ]] || { cx_err "ROWS must be a number >= 1000"; exit 2; }
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || { cx_err "RUNS must be a positive number"; exit 2; }

cx_build >/dev/null
DIR="$(mktemp -d /tmp/cx-bench-usage.XXXXXX)"
chmod 755 "$DIR"
STARTED_DB=0 STARTED_HTTPD=0
cleanup() {
    local rc=$?
    [[ $STARTED_HTTPD -eq 0 ]] || cx_httpd_stop "$DIR/httpd" >/dev/null 2>&1 || true
    [[ $STARTED_DB -eq 0 ]] || cx_mariadb_stop "$DIR/mysql" >/dev/null 2>&1 || true
    if [[ "${KEEP:-0}" == 1 ]]; then cx_log "kept $DIR"; else rm -rf "$DIR"; fi
    exit "$rc"
}
trap cleanup EXIT

CX_MARIADB_FAST=1 cx_mariadb_start "$DIR/mysql"
STARTED_DB=1
DSN="$(cx_mariadb_bootstrap "$DIR/mysql" "bench$(cx_random_secret 8 | tr -dc 'A-Za-z0-9')")"
export CONDUIX_DB="$DSN"
"$CX_CTL" migrate --dir "$CX_ROOT/sql" >/dev/null
ORG="$("$CX_CTL" org-create --name "bench org" --credits 1000 | tail -n 1)"
KEY_IDS=()
for i in $(seq 1 20); do
    mapfile -t k < <("$CX_CTL" key-create --org "$ORG" --name "bench key $i")
    KEY_IDS+=("${k[1]}")
done
mapfile -t k < <("$CX_CTL" key-create --org "$ORG" --name "bench reader" --scopes account:read)
READER="${k[0]}"
DBNAME="$(sed -E 's/.*dbname=([^ ]+).*/\1/' <<<"$DSN")"
cx_mariadb_sql_db() { local s; s="$(cx_mariadb_socket "$DIR/mysql")"; mariadb --no-defaults --socket="$s" -u "$(cx_mariadb_admin_user)" --batch "$DBNAME"; }

# --- load ----------------------------------------------------------------------
NOW="$(date -u +%s)"
SPAN=$((30 * 86400))
key_list="$(IFS=,; echo "${KEY_IDS[*]}")"
cx_log "loading $ROWS usage rows over the last 30 days"
t0=$(date +%s.%N)
for ((start = 1; start <= ROWS; start += CHUNK)); do
    end=$((start + CHUNK - 1)); ((end > ROWS)) && end=$ROWS
    # row n is at NOW - SPAN + n*SPAN/ROWS; model/provider/key/tokens vary with n
    cx_mariadb_sql_db <<SQL
INSERT INTO usage_events (request_id, org_id, key_id, mode, endpoint, requested_model, served_model,
                          provider, status, prompt_tokens, completion_tokens, cost_nano, charged_nano,
                          latency_ms, created_at)
SELECT CONCAT('cx-req-bench', LPAD(seq, 12, '0')), $ORG,
       ELT(1 + (seq DIV 10) % 20, $key_list), 'live', 'chat.completions',
       ELT(1 + seq % 10, 'gpt-4o-mini','gpt-4o','gpt-5-nano','o4-mini','llama-4-maverick',
           'llama-3.3-70b-versatile','mistral-large-2407','codestral-2405','deepseek-chat','grok-4'),
       ELT(1 + seq % 10, 'gpt-4o-mini','gpt-4o','gpt-5-nano','o4-mini','llama-4-maverick',
           'llama-3.3-70b-versatile','mistral-large-2407','codestral-2405','deepseek-chat','grok-4'),
       ELT(1 + seq % 10, 'openai','openai','openai','openai','groq','groq','mistral','mistral',
           'deepseek','xai'),
       200, 10 + (seq * 7919) % 2000, 1 + (seq * 104729) % 800,
       ((10 + (seq * 7919) % 2000) * 150 + (1 + (seq * 104729) % 800) * 600),
       ((10 + (seq * 7919) % 2000) * 150 + (1 + (seq * 104729) % 800) * 600),
       50 + seq % 900,
       FROM_UNIXTIME($NOW - $SPAN + seq * $SPAN DIV $ROWS)
FROM seq_${start}_to_${end};
SQL
done
t1=$(date +%s.%N)
"$CX_CTL" usage-rebuild-rollups --org "$ORG" >/dev/null
t2=$(date +%s.%N)
COUNTS="$(cx_mariadb_sql_db <<SQL
SELECT (SELECT COUNT(*) FROM usage_events WHERE org_id = $ORG),
       (SELECT COUNT(*) FROM usage_rollup_day WHERE org_id = $ORG),
       (SELECT COUNT(*) FROM usage_rollup_hour WHERE org_id = $ORG);
SQL
)"
read -r N_EVENTS N_DAY N_HOUR < <(tail -n 1 <<<"$COUNTS")
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }
LOAD_S="$(secs "$t0" "$t1")" ROLLUP_S="$(secs "$t1" "$t2")"
cx_log "loaded $N_EVENTS rows in $LOAD_S s; rollups ($N_DAY day rows, $N_HOUR hour rows) built in $ROLLUP_S s"

# --- correctness at scale: rollups == direct SUM ----------------------------------
FROM="$(date -u -d "@$((NOW - SPAN + 1234))" +%Y-%m-%dT%H:%M:%SZ)"   # deliberately unaligned
TO="$(date -u -d "@$((NOW + 1))" +%Y-%m-%dT%H:%M:%SZ)"
for g in model key provider; do
    a="$("$CX_CTL" usage --org "$ORG" --from "$FROM" --to "$TO" --bucket day --group-by "$g" 2>/dev/null)"
    b="$("$CX_CTL" usage --org "$ORG" --from "$FROM" --to "$TO" --bucket day --group-by "$g" --direct 2>/dev/null)"
    [[ "$a" == "$b" ]] || { cx_err "rollups and direct SUM disagree (group_by=$g)"; diff <(echo "$a") <(echo "$b") | head; exit 1; }
done
cx_log "rollups equal the direct SUM over usage_events (bucket=day, group_by model/key/provider)"
DIRECT_MS="$("$CX_CTL" usage --org "$ORG" --from "$FROM" --to "$TO" --group-by model --direct --repeat 3 2>&1 >/dev/null | awk '{print $3}')"
ROLLUP_MS="$("$CX_CTL" usage --org "$ORG" --from "$FROM" --to "$TO" --group-by model --repeat 15 2>&1 >/dev/null | awk '{print $3}')"

# --- through httpd ---------------------------------------------------------------------
PORT="$(cx_free_port)"
cx_httpd_conf "$DIR/httpd" event "$PORT" "$DSN" "" >/dev/null
cx_httpd_start "$DIR/httpd" "$PORT" >/dev/null
STARTED_HTTPD=1

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

measure() {   # measure QUERY -> "median_total_ms median_db_ms bytes"
    local q="$1" url="http://127.0.0.1:$PORT/v1/account/usage?$1" i out code
    curl -fsS -o /dev/null -H "Authorization: Bearer $READER" "$url"   # warm: catalog, connection
    : >"$DIR/t" ; : >"$DIR/d"
    for ((i = 0; i < RUNS; i++)); do
        out="$(curl -sS -D "$DIR/h" -o "$DIR/body" -w '%{http_code} %{time_total} %{size_download}' \
               -H "Authorization: Bearer $READER" "$url")"
        read -r code t size <<<"$out"
        [[ "$code" == 200 ]] || { cx_err "GET $q -> $code"; cat "$DIR/body"; exit 1; }
        awk -v t="$t" 'BEGIN {printf "%.3f\n", t * 1000}' >>"$DIR/t"
        tr -d '\r' <"$DIR/h" | awk -F': ' 'tolower($1) == "x-conduix-db-ms" {print $2}' >>"$DIR/d"
    done
    printf '%s %s %s\n' "$(median <"$DIR/t")" "$(median <"$DIR/d")" "$size"
}

printf '\nMachine: %s CPU(s), %s; MariaDB %s (innodb_buffer_pool_size 64M).\n' "$(nproc)" \
    "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
    "$(mariadbd --version | awk '{print $3}')"
printf '\n| query (30 days, %s rows) | median total (ms) | median DB (ms) | response bytes |\n' "$N_EVENTS"
printf '|---|---:|---:|---:|\n'
RANGE="from=$FROM&to=$TO"
for shape in "totals only|" "bucket=day&group_by=model|&bucket=day&group_by=model" \
             "bucket=day&group_by=key|&bucket=day&group_by=key" "group_by=provider|&group_by=provider" \
             "bucket=hour|&bucket=hour" "bucket=hour&group_by=model|&bucket=hour&group_by=model" \
             "key_id=K&bucket=day&group_by=model|&key_id=${KEY_IDS[0]}&bucket=day&group_by=model" \
             "bucket=hour&group_by=key (worst case)|&bucket=hour&group_by=key"; do
    read -r tot dbms bytes < <(measure "$RANGE${shape#*|}")
    printf '| `%s` | %s | %s | %s |\n' "${shape%%|*}" "$tot" "$dbms" "$bytes"
done
printf '\nDatabase time of group_by=model over the same range: %s ms from the rollups, %s ms as a direct SUM over usage_events (conduixctl usage, median).\n' \
    "$ROLLUP_MS" "$DIRECT_MS"
printf 'Rollup rows for the org: %s (day), %s (hour). Load: %s s; rollup build: %s s. Runs per query: %s. Range: %s to %s (unaligned ends).\n' \
    "$N_DAY" "$N_HOUR" "$LOAD_S" "$ROLLUP_S" "$RUNS" "$FROM" "$TO"
