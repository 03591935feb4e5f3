# shellcheck shell=bash
# Conduix run/test helpers, sourced by scripts/serve, scripts/test and the
# integration harness (tests/integration/harness.py calls these functions
# through `bash -c 'source scripts/lib.sh; cx_...'`).
#
# Every wait is a bounded loop; every failure prints what failed and the tail
# of the relevant log, then returns non-zero. Functions never call `exit`.
#
# Layout of a var dir (scripts/serve uses ${CONDUIX_VAR:-var}; tests a temp dir):
#   mysql/data  mysql/mysqld.sock  mysql/mysqld.pid  mysql/mysqld.err
#   sim/port  sim/sim.pid  sim/sim.log
#   httpd/httpd.conf  httpd/httpd.pid  httpd/error_log  httpd/access_log
#   httpd/startup.log  httpd/run/  httpd/conf.d/*.conf (optional extra config)

CX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CX_PYTHON="${CX_PYTHON:-/usr/bin/python3}"
CX_APACHE_BIN="${CX_APACHE_BIN:-/usr/sbin/apache2}"
CX_APACHE_MODULES="${CX_APACHE_MODULES:-/usr/lib/apache2/modules}"
CX_APXS="${CX_APXS:-/usr/bin/apxs}"
CX_MODULE_SO="${CX_MODULE_SO:-$CX_ROOT/mod_conduix/.libs/mod_conduix.so}"
CX_CTL="${CX_CTL:-$CX_ROOT/cli/conduixctl}"
CX_SIM="${CX_SIM:-$CX_ROOT/tests/sim/provider_sim.py}"
CX_HTTPD_USER="${CX_HTTPD_USER:-www-data}"
CX_HTTPD_GROUP="${CX_HTTPD_GROUP:-www-data}"

# Every provider of the catalog (byo endpoints are per org and need no line).
# shellcheck disable=SC2034  # used by the scripts that source this file
CX_PROVIDERS=(openai anthropic google groq together mistral deepseek fireworks
              xai qwen kimi glm doubao sarvam krutrim)

CX_DEBIAN_PACKAGES=(build-essential autoconf automake libtool pkg-config
    apache2 apache2-dev libapr1-dev libaprutil1-dev libcurl4-openssl-dev
    libjansson-dev libssl-dev libmariadb-dev mariadb-server mariadb-client
    clearsilver-dev libcrypt-dev check python3 python3-pytest python3-requests
    python3-pymysql curl nodejs libjwt-dev chromium)

CX_CONFIGURE_FLAGS=(--with-apxs="$CX_APXS" --enable-werror)

# ---------------------------------------------------------------------------
# small utilities
# ---------------------------------------------------------------------------

cx_log() { printf '[conduix] %s\n' "$*" >&2; }
cx_err() { printf '[conduix] ERROR: %s\n' "$*" >&2; }

# cx_tail FILE [N]: the last N lines of FILE on stderr, indented.
cx_tail() {
    local f="$1" n="${2:-30}"
    if [[ -s "$f" ]]; then
        printf '[conduix] --- last %s lines of %s ---\n' "$n" "$f" >&2
        tail -n "$n" "$f" | sed 's/^/    /' >&2
    else
        printf '[conduix] (%s is empty or missing)\n' "$f" >&2
    fi
}

cx_is_root() { [[ "$(id -u)" -eq 0 ]]; }

# cx_pid_alive PID: running and not a zombie.
cx_pid_alive() {
    local pid="$1" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/stat" ]] || return 1
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# cx_pidfile_pid FILE: prints the pid stored in FILE when that process is alive.
cx_pidfile_pid() {
    local f="$1" pid
    [[ -s "$f" ]] || return 1
    pid="$(tr -dc '0-9' <"$f")"
    cx_pid_alive "$pid" || return 1
    printf '%s\n' "$pid"
}

# cx_port_open PORT [HOST]: something accepts TCP connections there.
cx_port_open() {
    local port="$1" host="${2:-127.0.0.1}"
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# cx_free_port: prints a currently free TCP port on 127.0.0.1.
cx_free_port() {
    "$CX_PYTHON" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# cx_wait_pid_exit PID TIMEOUT_SECONDS: 0 once PID is gone, 1 on timeout.
cx_wait_pid_exit() {
    local pid="$1" timeout="$2" i
    for ((i = 0; i < timeout * 10; i++)); do
        cx_pid_alive "$pid" || return 0
        sleep 0.1
    done
    ! cx_pid_alive "$pid"
}

# cx_kill_pid PID NAME [TIMEOUT]: TERM, wait, then KILL. Only the given pid.
cx_kill_pid() {
    local pid="$1" name="$2" timeout="${3:-20}"
    cx_pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! cx_wait_pid_exit "$pid" "$timeout"; then
        cx_log "$name (pid $pid) did not stop within ${timeout}s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        cx_wait_pid_exit "$pid" 5 || { cx_err "$name (pid $pid) survived KILL"; return 1; }
    fi
}

# cx_random_secret [BYTES]: URL-safe random string.
cx_random_secret() {
    head -c "${1:-18}" /dev/urandom | base64 | tr -d '/+=\n'
}

# cx_abspath PATH: absolute path (PATH need not exist), relative to the repo root.
cx_abspath() {
    local p="$1"
    [[ "$p" == /* ]] || p="$CX_ROOT/$p"
    # normalise "a/./b" and trailing slashes without requiring existence
    p="$(realpath -m -- "$p")"
    printf '%s\n' "$p"
}

# cx_reachable_by_httpd PATH: the unprivileged httpd user can traverse to PATH.
# Always true when not root (httpd then runs as the invoking user).
cx_reachable_by_httpd() {
    local p="$1"
    cx_is_root || return 0
    runuser -u "$CX_HTTPD_USER" -- test -e "$p" 2>/dev/null
}

# ---------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------

# cx_missing_packages: prints the packages of CX_DEBIAN_PACKAGES not installed.
cx_missing_packages() {
    local p status
    for p in "${CX_DEBIAN_PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
        [[ "$status" == "install ok installed" ]] || printf '%s\n' "$p"
    done
}

# cx_install_deps: apt-get install what is missing (fast no-op otherwise).
# Service starts are denied while installing so that Debian's maintainer
# scripts do not start the system mariadb/apache2.
cx_install_deps() {
    local -a missing
    mapfile -t missing < <(cx_missing_packages)
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    cx_log "installing missing Debian packages: ${missing[*]}"
    if ! cx_is_root; then
        cx_err "not root: install these packages first: apt-get install ${missing[*]}"
        return 1
    fi
    local policy=/usr/sbin/policy-rc.d created_policy=0 rc=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\n# written by conduix scripts/lib.sh during apt-get install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q
                  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    # Package lists may be empty on a fresh machine: update first then.
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
        "${apt[@]}" update >&2 || rc=$?
    fi
    if [[ $rc -eq 0 ]] && ! "${apt[@]}" install --no-install-recommends "${missing[@]}" >&2; then
        cx_log "apt-get install failed; running apt-get update and retrying"
        rc=0
        "${apt[@]}" update >&2 || rc=$?
        [[ $rc -ne 0 ]] || "${apt[@]}" install --no-install-recommends "${missing[@]}" >&2 || rc=$?
    fi
    if [[ $created_policy -eq 1 ]]; then
        rm -f "$policy"
    fi
    if [[ $rc -ne 0 ]]; then
        cx_err "apt-get failed (exit $rc) installing: ${missing[*]}"
        return 1
    fi
    mapfile -t missing < <(cx_missing_packages)
    if [[ ${#missing[@]} -ne 0 ]]; then
        cx_err "still missing after apt-get: ${missing[*]}"
        return 1
    fi
}

# cx_client_deps: node and npm for the SDK client suites (tests/clients), and the
# npm packages pinned by tests/clients/package-lock.json (`npm ci` when
# node_modules is missing or older than the lockfile).
cx_client_deps() {
    local dir="$CX_ROOT/tests/clients"
    if ! command -v npm >/dev/null 2>&1; then
        # Debian packages npm separately from nodejs (NodeSource builds bundle it).
        if cx_is_root; then
            env DEBIAN_FRONTEND=noninteractive apt-get -y -q install --no-install-recommends npm >&2 ||
                { cx_err "apt-get install npm failed"; return 1; }
        else
            cx_err "npm is missing: apt-get install npm"; return 1
        fi
    fi
    command -v node >/dev/null 2>&1 || { cx_err "node is missing: apt-get install nodejs"; return 1; }
    if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
        cx_log "npm ci in tests/clients"
        (cd "$dir" && npm ci --no-audit --no-fund >&2) || { cx_err "npm ci failed in $dir"; return 1; }
    fi
}

# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------

# cx_build: autoreconf when needed, configure (with CX_CONFIGURE_FLAGS) when
# needed or when the flags changed, make -j2.
cx_build() {
    local -a flags=("${CX_CONFIGURE_FLAGS[@]}")
    (
        cd "$CX_ROOT" || exit 1
        local regen=0 reconf=0 log
        log="$(mktemp "${TMPDIR:-/tmp}/conduix-build.XXXXXX")"
        trap 'rm -f "$log"' EXIT
        if [[ ! -x configure || ! -f Makefile.in ]] ||
           [[ configure.ac -nt configure || Makefile.am -nt Makefile.in ]]; then
            regen=1
        fi
        if [[ $regen -eq 1 ]]; then
            cx_log "autoreconf -fi"
            mkdir -p m4
            autoreconf -fi >"$log" 2>&1 || { cx_err "autoreconf failed"; cx_tail "$log" 40; exit 1; }
        fi
        if [[ ! -f Makefile || ! -x config.status || configure -nt config.status ]]; then
            reconf=1
        else
            # reconfigure when the flags changed
            # config.status --config quotes arguments only when they need it
            local -a have
            read -r -a have <<<"$(./config.status --config 2>/dev/null | tr -d "'")"
            [[ "${have[*]}" == "${flags[*]}" ]] || reconf=1
        fi
        if [[ $reconf -eq 1 ]]; then
            cx_log "./configure ${flags[*]}"
            ./configure "${flags[@]}" >"$log" 2>&1 || {
                cx_err "configure failed (details in config.log)"; cx_tail "$log" 25; exit 1; }
        fi
        cx_log "make -j2"
        make -j2 >&2 || { cx_err "make failed"; exit 1; }
        [[ -f "$CX_MODULE_SO" ]] || { cx_err "build finished but $CX_MODULE_SO is missing"; exit 1; }
        [[ -x "$CX_CTL" ]] || { cx_err "build finished but $CX_CTL is missing"; exit 1; }
        [[ -x "$CX_ROOT/admin-cgi/conduix-admin" ]] || { cx_err "build finished but admin-cgi/conduix-admin is missing"; exit 1; }
    )
}

# ---------------------------------------------------------------------------
# MariaDB (private instance)
# ---------------------------------------------------------------------------

# cx_mariadb_admin_user: the account mariadb-install-db gives socket auth to.
cx_mariadb_admin_user() { id -un; }

# cx_mariadb_socket_path DIR: where the socket of the instance in DIR goes.
# DIR/mysqld.sock normally; a short path under /tmp when DIR is too long for a
# unix socket or (as root) not reachable by the httpd user.
cx_mariadb_socket_path() {
    local dir="$1" sock
    sock="$dir/mysqld.sock"
    if [[ ${#sock} -gt 100 ]] || { mkdir -p "$dir" && ! cx_reachable_by_httpd "$dir"; }; then
        local h
        h="$(printf '%s' "$dir" | sha256sum | cut -c1-12)"
        mkdir -p "/tmp/conduix-$h"
        chmod 755 "/tmp/conduix-$h"
        sock="/tmp/conduix-$h/mysqld.sock"
    fi
    printf '%s\n' "$sock"
}

# cx_mariadb_start DIR [SOCKET]: initialise DIR/data when new, start mariadbd,
# wait until it answers. The socket defaults to cx_mariadb_socket_path DIR.
# CX_MARIADB_FAST=1 trades durability for speed (tests).
cx_mariadb_start() {
    local dir="$1" sock="${2:-}"
    [[ -n "$dir" ]] || { cx_err "usage: cx_mariadb_start DIR [SOCKET]"; return 1; }
    dir="$(cx_abspath "$dir")"
    mkdir -p "$dir"
    chmod 755 "$dir"
    [[ -n "$sock" ]] || sock="$(cx_mariadb_socket_path "$dir")"
    local data="$dir/data" pidf="$dir/mysqld.pid" errlog="$dir/mysqld.err" pid
    if pid="$(cx_pidfile_pid "$pidf")"; then
        cx_err "MariaDB already running from $dir (pid $pid)"
        return 1
    fi
    local -a userarg=()
    cx_is_root && userarg=(--user=root)
    if [[ ! -d "$data/mysql" ]]; then
        cx_log "initialising MariaDB datadir $data"
        rm -rf "$data"
        mkdir -p "$data"
        mariadb-install-db --no-defaults --datadir="$data" \
            --auth-root-authentication-method=socket --skip-test-db \
            --user="$(id -un)" >"$dir/install.log" 2>&1 || {
            cx_err "mariadb-install-db failed"; cx_tail "$dir/install.log" 30; return 1; }
    fi
    local -a opts=(--no-defaults --datadir="$data" --socket="$sock" --skip-networking
        --pid-file="$pidf" --log-error="$errlog" --innodb-buffer-pool-size=64M
        --innodb-log-file-size=32M --skip-name-resolve --character-set-server=utf8mb4
        --collation-server=utf8mb4_general_ci --max-connections=300 "${userarg[@]}"
        --tmpdir="$dir/tmp")   # its own temp dir: /tmp cleaners must not pull files from under it
    if [[ "${CX_MARIADB_FAST:-0}" == 1 ]]; then
        opts+=(--innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --innodb-doublewrite=0)
    fi
    # Extra server options, e.g. a production-sized buffer pool (bench/run).
    local -a extra=()
    [[ -z "${CX_MARIADB_EXTRA_OPTS:-}" ]] || read -r -a extra <<<"$CX_MARIADB_EXTRA_OPTS"
    opts+=("${extra[@]}")
    rm -f "$pidf"
    mkdir -p "$dir/tmp"
    printf '%s\n' "$sock" >"$dir/socket.path"
    setsid mariadbd "${opts[@]}" </dev/null >>"$dir/mysqld.out" 2>&1 &
    pid=$!
    local i
    for ((i = 0; i < 600; i++)); do
        if ! cx_pid_alive "$pid"; then
            cx_err "mariadbd exited during startup"
            cx_tail "$errlog" 30; cx_tail "$dir/mysqld.out" 10
            return 1
        fi
        if [[ -S "$sock" ]] &&
           mariadb-admin --no-defaults --socket="$sock" -u "$(cx_mariadb_admin_user)" \
               --connect-timeout=2 ping >/dev/null 2>&1; then
            cx_log "MariaDB ready (pid $pid, socket $sock)"
            return 0
        fi
        sleep 0.1
    done
    cx_err "MariaDB did not become ready within 60s"
    cx_tail "$errlog" 30
    kill -TERM "$pid" 2>/dev/null || true
    return 1
}

# cx_mariadb_socket DIR: the socket of the instance started from DIR.
cx_mariadb_socket() {
    local dir
    dir="$(cx_abspath "$1")"
    if [[ -s "$dir/socket.path" ]]; then cat "$dir/socket.path"; else cx_mariadb_socket_path "$dir"; fi
}

# cx_mariadb_sql DIR: run SQL from stdin as the admin account.
cx_mariadb_sql() {
    local sock
    sock="$(cx_mariadb_socket "$1")"
    mariadb --no-defaults --socket="$sock" -u "$(cx_mariadb_admin_user)" --batch
}

# cx_mariadb_bootstrap DIR PASSWORD [DBNAME] [USER]: database + account
# (idempotent; resets the password). Prints the DSN.
cx_mariadb_bootstrap() {
    local dir="$1" pw="$2" db="${3:-conduix}" user="${4:-conduix}" sock
    [[ "$pw" =~ ^[A-Za-z0-9_.-]+$ ]] || { cx_err "database password must be [A-Za-z0-9_.-]+"; return 1; }
    [[ "$db" =~ ^[A-Za-z0-9_]+$ && "$user" =~ ^[A-Za-z0-9_]+$ ]] || { cx_err "bad db/user name"; return 1; }
    sock="$(cx_mariadb_socket "$dir")"
    cx_mariadb_sql "$dir" <<SQL || { cx_err "creating database $db / user $user failed"; return 1; }
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$pw';
ALTER USER '$user'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'localhost';
FLUSH PRIVILEGES;
SQL
    printf 'unix_socket=%s user=%s password=%s dbname=%s\n' "$sock" "$user" "$pw" "$db"
}

# cx_mariadb_stop DIR: clean shutdown (bounded), KILL as a last resort.
cx_mariadb_stop() {
    local dir pid sock
    dir="$(cx_abspath "$1")"
    pid="$(cx_pidfile_pid "$dir/mysqld.pid")" || return 0
    sock="$(cx_mariadb_socket "$dir")"
    timeout 30 mariadb-admin --no-defaults --socket="$sock" -u "$(cx_mariadb_admin_user)" \
        shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    if ! cx_wait_pid_exit "$pid" 60; then
        cx_log "MariaDB (pid $pid) did not shut down within 60s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        cx_wait_pid_exit "$pid" 5 || return 1
    fi
    cx_log "MariaDB stopped"
}

# ---------------------------------------------------------------------------
# provider simulator
# ---------------------------------------------------------------------------

# cx_sim_start DIR [CERT KEY]: start the simulator on a free port; the port goes to
# DIR/port (and stdout). With a PEM certificate and key it serves https, and its
# readiness is checked against that certificate.
cx_sim_start() {
    local dir pid port i scheme=http
    local -a tls=() trust=()
    dir="$(cx_abspath "$1")"
    if [[ -n "${2:-}" ]]; then
        tls=(--tls-cert "$2" --tls-key "$3")
        trust=(--cacert "$2")
        scheme=https
    fi
    mkdir -p "$dir"
    [[ -f "$CX_SIM" ]] || { cx_err "simulator not found: $CX_SIM"; return 1; }
    if pid="$(cx_pidfile_pid "$dir/sim.pid")"; then
        cx_err "simulator already running from $dir (pid $pid)"
        return 1
    fi
    rm -f "$dir/port"
    setsid "$CX_PYTHON" "$CX_SIM" --host 127.0.0.1 --port 0 --ready-file "$dir/port" "${tls[@]}" \
        </dev/null >>"$dir/sim.log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$dir/sim.pid"
    for ((i = 0; i < 150; i++)); do
        if ! cx_pid_alive "$pid"; then
            cx_err "provider simulator exited during startup"
            cx_tail "$dir/sim.log" 30
            return 1
        fi
        if [[ -s "$dir/port" ]]; then
            port="$(tr -dc '0-9' <"$dir/port")"
            if [[ -n "$port" ]] && curl -fsS --max-time 2 "${trust[@]}" "$scheme://127.0.0.1:$port/_sim/health" >/dev/null 2>&1; then
                cx_log "provider simulator ready on 127.0.0.1:$port (pid $pid)"
                printf '%s\n' "$port"
                return 0
            fi
        fi
        sleep 0.1
    done
    cx_err "provider simulator did not become ready within 15s"
    cx_tail "$dir/sim.log" 30
    kill -TERM "$pid" 2>/dev/null || true
    return 1
}

# cx_sim_provider_url PORT PROVIDER: the simulator's base URL for PROVIDER, in the
# shape the catalog's base_url has (the gateway appends /chat/completions,
# /messages or /models/{model}:generateContent): Gemini's API lives under /v1beta,
# every other provider (OpenAI-compatible, Anthropic) under /v1.
cx_sim_provider_url() {
    local port="$1" p="$2"
    case "$p" in
        google) printf 'http://127.0.0.1:%s/%s/v1beta\n' "$port" "$p" ;;
        *)      printf 'http://127.0.0.1:%s/%s/v1\n' "$port" "$p" ;;
    esac
}

cx_sim_stop() {
    local dir pid
    dir="$(cx_abspath "$1")"
    pid="$(cx_pidfile_pid "$dir/sim.pid")" || return 0
    cx_kill_pid "$pid" "provider simulator" 10 || return 1
    rm -f "$dir/sim.pid" "$dir/port"
    cx_log "provider simulator stopped"
}

# ---------------------------------------------------------------------------
# dashboard (conduix-admin CGI) private files
# ---------------------------------------------------------------------------

# cx_dashboard_protect PATH MODE: owner root (or the invoking user), group of httpd.
cx_dashboard_protect() {
    local f="$1" mode="$2"
    if cx_is_root; then
        chown "root:$CX_HTTPD_GROUP" "$f" && chmod "$mode" "$f"
    else
        chmod "${mode%?}0" "$f"   # httpd runs as the invoking user: no group access needed
    fi
}

# cx_secret_key_ensure PATH: the 32-byte key that seals BYO credentials in the
# database (ConduixSecretKeyFile, conduixctl and the dashboard CGI use the same file):
# random, created once, readable by root and the httpd group only.
cx_secret_key_ensure() {
    local f="$1"
    if [[ ! -s "$f" ]]; then
        (umask 077; head -c 32 /dev/urandom >"$f") || { cx_err "cannot write $f"; return 1; }
    fi
    cx_dashboard_protect "$f" 640
}

# cx_dashboard_prepare HTTPD_DIR DSN: the dashboard's private files under
# HTTPD_DIR/dashboard (database password), readable by the
# CGI (httpd user) and nobody else. Prints the CGI's DSN: the password moved to
# password_file=, so it never appears in httpd.conf's SetEnv or a process environment.
cx_dashboard_prepare() {
    local dir="$1" dsn="$2" d pw
    d="$dir/dashboard"
    mkdir -p "$d"
    cx_dashboard_protect "$d" 750
    if [[ "$dsn" =~ (^|[[:space:]])password=([^[:space:]\']+) ]]; then
        pw="${BASH_REMATCH[2]}"
        (umask 077; printf '%s\n' "$pw" >"$d/db.password")
        cx_dashboard_protect "$d/db.password" 640
        dsn="${dsn/password=$pw/password_file=$d/db.password}"
    fi
    printf '%s\n' "$dsn"
}

# ---------------------------------------------------------------------------
# httpd
# ---------------------------------------------------------------------------

# cx_httpd_conf DIR MPM PORT DSN PROVIDERS
#   DIR        httpd dir (ServerRoot); httpd.conf is written there
#   MPM        event | prefork | worker
#   PORT       listen port on 127.0.0.1
#   DSN        ConduixDatabase value
#   PROVIDERS  lines "name base-url credential", e.g.
#              "openai http://127.0.0.1:9000/openai/v1 env:OPENAI_API_KEY"
#              (base-url "default" = the catalog's URL)
# CX_HTTPD_WITH_CONDUIX=0 comments out the conduix lines (config checks
# without a built module). Prints the config path.
cx_httpd_conf() {
    local dir="$1" mpm="$2" port="$3" dsn="$4" providers="$5"
    if [[ $# -lt 5 ]]; then
        cx_err "usage: cx_httpd_conf DIR MPM PORT DSN PROVIDERS"; return 1
    fi
    case "$mpm" in event|prefork|worker) ;; *) cx_err "unknown MPM: $mpm"; return 1 ;; esac
    [[ "$port" =~ ^[0-9]+$ ]] || { cx_err "bad port: $port"; return 1; }
    [[ "$dsn" != *'"'* ]] || { cx_err "DSN must not contain double quotes"; return 1; }
    dir="$(cx_abspath "$dir")"
    mkdir -p "$dir/run" "$dir/htdocs" "$dir/conf.d"
    chmod 755 "$dir" "$dir/run" "$dir/htdocs" "$dir/conf.d"
    local conf="$dir/httpd.conf" c=""
    [[ "${CX_HTTPD_WITH_CONDUIX:-1}" == 1 ]] || c="# "
    local mods="$CX_APACHE_MODULES" loglevel="warn conduix:info"
    [[ -z "$c" ]] || loglevel="warn"

    local mpm_block
    case "$mpm" in
        event) mpm_block="LoadModule mpm_event_module $mods/mod_mpm_event.so
<IfModule mpm_event_module>
    StartServers            2
    ServerLimit             4
    ThreadLimit             16
    ThreadsPerChild         16
    MaxRequestWorkers       64
    MinSpareThreads         16
    MaxSpareThreads         64
    MaxConnectionsPerChild  0
</IfModule>" ;;
        worker) mpm_block="LoadModule mpm_worker_module $mods/mod_mpm_worker.so
<IfModule mpm_worker_module>
    StartServers            2
    ServerLimit             4
    ThreadLimit             16
    ThreadsPerChild         16
    MaxRequestWorkers       64
    MinSpareThreads         16
    MaxSpareThreads         64
    MaxConnectionsPerChild  0
</IfModule>" ;;
        prefork) mpm_block="LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so
<IfModule mpm_prefork_module>
    StartServers            3
    MinSpareServers         2
    MaxSpareServers         6
    ServerLimit             16
    MaxRequestWorkers       16
    MaxConnectionsPerChild  0
</IfModule>" ;;
    esac

    local user_block="# not root: httpd keeps the invoking user"
    if cx_is_root; then
        user_block="User $CX_HTTPD_USER
Group $CX_HTTPD_GROUP"
    fi

    # Dashboard JWT secret: random, 0600, kept across restarts (tokens survive a
    # graceful restart). Readable by the httpd user too, because the dashboard CGI
    # (run as that user) signs tokens with it; httpd reads it while still root.
    local jwt_secret="$dir/jwt.secret"
    if [[ ! -s "$jwt_secret" ]]; then
        (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n' >"$jwt_secret") ||
            { cx_err "cannot write $jwt_secret"; return 1; }
    fi
    chmod 600 "$jwt_secret"
    if cx_is_root; then
        chown "$CX_HTTPD_USER:$CX_HTTPD_GROUP" "$jwt_secret"
    fi

    # BYO credential key: one per database, so every httpd and conduixctl share it
    # (CONDUIX_SECRET_KEY_FILE names it; default: next to jwt.secret).
    local seal_key="${CONDUIX_SECRET_KEY_FILE:-$dir/secret.key}"
    cx_secret_key_ensure "$seal_key" || return 1

    local prov_block="" name url cred
    while read -r name url cred; do
        [[ -n "$name" ]] || continue
        [[ -n "$url" && -n "$cred" ]] || { cx_err "bad provider line: $name $url $cred"; return 1; }
        prov_block+="${c}ConduixProvider $name $url $cred"$'\n'
    done <<<"$providers"

    # Dashboard: the CGI gets its DSN (password in a 0640 file), templates and secrets.
    local dash_dsn dash_block=""
    dash_dsn="$(cx_dashboard_prepare "$dir" "$dsn")" || return 1
    dash_block="<IfModule !alias_module>
    LoadModule alias_module $mods/mod_alias.so
</IfModule>
<IfModule !env_module>
    LoadModule env_module $mods/mod_env.so
</IfModule>
Alias /dashboard/static \"$CX_ROOT/templates/static\"
ScriptAlias /dashboard \"$CX_ROOT/admin-cgi/conduix-admin\"
# mod_cgid resolves PATH_TRANSLATED (/keys -> DocumentRoot/keys) with a subrequest;
# granting the empty DocumentRoot keeps that lookup from logging access denials.
<Directory \"$dir/htdocs\">
    Options None
    Require all granted
</Directory>
<Directory \"$CX_ROOT/templates/static\">
    Options None
    Require all granted
</Directory>
<Location /dashboard>
    Require all granted
    LimitRequestBody 65536
    SetEnv CONDUIX_DB_DSN \"$dash_dsn\"
    SetEnv CONDUIX_TEMPLATE_DIR \"$CX_ROOT/templates\"
    SetEnv CONDUIX_SECRET_KEY_FILE \"$seal_key\"
</Location>"

    cat >"$conf" <<EOF
# Generated by scripts/lib.sh (cx_httpd_conf) -- do not edit; rerun the script.
# Private httpd for Conduix: never touches /etc/apache2.
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
DefaultRuntimeDir "$dir/run"
Mutex file:$dir/run default
ErrorLog "$dir/error_log"
LogLevel $loglevel

$mpm_block

LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule mime_module $mods/mod_mime.so
# log_config and unixd are compiled into Debian's apache2; load them elsewhere.
<IfModule !log_config_module>
    LoadModule log_config_module $mods/mod_log_config.so
</IfModule>
<IfModule !unixd_module>
    LoadModule unixd_module $mods/mod_unixd.so
</IfModule>
LoadModule cgid_module $mods/mod_cgid.so
<IfModule !env_module>
    LoadModule env_module $mods/mod_env.so
</IfModule>

$user_block

TypesConfig /etc/mime.types
ScriptSock "$dir/run/cgisock"
Timeout 60
KeepAlive On
KeepAliveTimeout 5
MaxKeepAliveRequests 1000
HostnameLookups Off
ServerTokens Prod
ServerSignature Off
TraceEnable Off

LogFormat "%h %t \"%r\" %>s %B %D \"%{x-conduix-request-id}o\" \"%{x-conduix-provider}o\"" conduix
CustomLog "$dir/access_log" conduix

DocumentRoot "$dir/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Location /v1>
    Require all granted
</Location>
<Location /api/usage>
    Require all granted
</Location>

# --- Conduix gateway --------------------------------------------------------
${c}LoadModule conduix_module $CX_MODULE_SO
${c}ConduixEngine On
${c}ConduixDatabase "$dsn"
${prov_block}${c}ConduixMaxBodySize 1048576
${c}ConduixUpstreamTimeout 30
${c}ConduixKeyCacheTTL 5
${c}ConduixJWTSecretFile "$jwt_secret"
# The dashboard CGI signs its tokens with the same secret.
SetEnv CONDUIX_JWT_SECRET_FILE "$jwt_secret"
${c}ConduixSecretKeyFile "$seal_key"

# --- Dashboard: conduix-admin CGI (ClearSilver templates) ---------------------
# CONDUIX-DASHBOARD-BEGIN
${dash_block}
# CONDUIX-DASHBOARD-END

# Extra configuration (tests and later issues drop files here).
IncludeOptional "$dir/conf.d/*.conf"
EOF
    # ConduixDatabase carries the database password: only root (httpd reads its
    # configuration before dropping privileges) may read this file.
    chmod 600 "$conf"
    printf '%s\n' "$conf"
}

# cx_httpd_check DIR: apache2 -t on DIR/httpd.conf.
cx_httpd_check() {
    local dir out
    dir="$(cx_abspath "$1")"
    if ! out="$("$CX_APACHE_BIN" -t -f "$dir/httpd.conf" 2>&1)"; then
        cx_err "httpd config test failed for $dir/httpd.conf:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    fi
}

# cx_httpd_start DIR PORT: config test, start httpd in the foreground mode in
# its own session, wait until PORT accepts connections.
cx_httpd_start() {
    local dir="$1" port="$2" pid i
    dir="$(cx_abspath "$dir")"
    [[ -f "$dir/httpd.conf" ]] || { cx_err "no $dir/httpd.conf (run cx_httpd_conf first)"; return 1; }
    if pid="$(cx_pidfile_pid "$dir/httpd.pid")"; then
        cx_err "httpd already running from $dir (pid $pid)"
        return 1
    fi
    if cx_port_open "$port"; then
        cx_err "port 127.0.0.1:$port is already in use"
        return 1
    fi
    cx_httpd_check "$dir" || return 1
    rm -f "$dir/httpd.pid"
    setsid "$CX_APACHE_BIN" -f "$dir/httpd.conf" -DFOREGROUND \
        </dev/null >>"$dir/startup.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 300; i++)); do
        if ! cx_pid_alive "$pid"; then
            cx_err "httpd exited during startup"
            cx_tail "$dir/startup.log" 20; cx_tail "$dir/error_log" 30
            return 1
        fi
        if [[ -s "$dir/httpd.pid" ]] && cx_port_open "$port"; then
            cx_log "httpd ready on 127.0.0.1:$port (pid $pid)"
            return 0
        fi
        sleep 0.1
    done
    cx_err "httpd did not accept connections on 127.0.0.1:$port within 30s"
    cx_tail "$dir/error_log" 30
    kill -TERM "$pid" 2>/dev/null || true
    return 1
}

cx_httpd_stop() {
    local dir pid
    dir="$(cx_abspath "$1")"
    pid="$(cx_pidfile_pid "$dir/httpd.pid")" || return 0
    cx_kill_pid "$pid" "httpd" 20 || return 1
    cx_log "httpd stopped"
}

# cx_httpd_running DIR: the httpd of DIR is alive.
cx_httpd_running() {
    local dir
    dir="$(cx_abspath "$1")"
    cx_pidfile_pid "$dir/httpd.pid" >/dev/null
}
