# shellcheck shell=bash
# scripts/lib.sh - helpers shared by scripts/run, scripts/test and scripts/install-minio.
#
# Source it (". scripts/lib.sh"), do not execute it. The callers use
# "set -euo pipefail"; every helper here is written to be safe under it and
# to be idempotent: a second run only checks and does nothing slow.
#
# Helpers that start something (ls_minio_start, ls_postgres_ensure) register
# their own clean-up with ls_on_exit. Do not call them inside "$( ... )":
# a command substitution is a subshell, and its clean-up would run as soon
# as that subshell ends.

# Sourcing it twice into one shell must not reset the clean-up list.
if [[ -n ${_LS_LIB_LOADED:-} ]]; then
    return 0
fi
_LS_LIB_LOADED=1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR_DIR=${LEARNSPACE_VAR_DIR:-$ROOT/var}
# The scripts cd around; a relative LEARNSPACE_VAR_DIR means "relative to
# where I ran the script", so pin it down now.
[[ $VAR_DIR == /* ]] || VAR_DIR=$PWD/$VAR_DIR

ls_root() { printf '%s\n' "$ROOT"; }

# --- messages: always on stderr, stdout stays free for values -------------
# Colour only on a terminal: CI logs and files get plain text.
if [[ -t 2 ]]; then
    _LS_BLUE=$'\033[1;34m' _LS_YELLOW=$'\033[1;33m' _LS_RED=$'\033[1;31m' _LS_OFF=$'\033[0m'
else
    _LS_BLUE='' _LS_YELLOW='' _LS_RED='' _LS_OFF=''
fi
ls_log()  { printf '%s[learnspace]%s %s\n' "$_LS_BLUE" "$_LS_OFF" "$*" >&2; }
ls_warn() { printf '%s[learnspace] WARNING:%s %s\n' "$_LS_YELLOW" "$_LS_OFF" "$*" >&2; }
ls_err()  { printf '%s[learnspace] ERROR:%s %s\n' "$_LS_RED" "$_LS_OFF" "$*" >&2; }
ls_die()  { ls_err "$@"; exit 1; }

# --- clean-up on exit --------------------------------------------------------
# One trap for the whole script, running registered commands in reverse
# order (last started, first stopped). It must survive Ctrl-C and kill, not
# only a normal exit, or MinIO and test databases would be left behind.
_LS_CLEANUP=()

_ls_run_cleanup() {
    local i
    for ((i = ${#_LS_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${_LS_CLEANUP[i]}" || true
    done
    _LS_CLEANUP=()   # idempotent: INT/TERM run it, then EXIT runs it again
}

# ls_on_exit CMD [ARG...]: run CMD ARG... when the script ends.
ls_on_exit() {
    _LS_CLEANUP+=("$(printf '%q ' "$@")")
    trap '_ls_run_cleanup' EXIT
    trap '_ls_run_cleanup; exit 130' INT
    trap '_ls_run_cleanup; exit 143' TERM
}

# _ls_random N [CHARS]: N random characters from /dev/urandom (default
# alphanumerics, which need no quoting in URLs, env files or SQL).
_ls_random() {
    local n=$1 chars=${2:-A-Za-z0-9} out=''
    while ((${#out} < n)); do
        # Filter a fixed-size read: "tr </dev/urandom | head" would die of
        # SIGPIPE, which pipefail turns into a failure.
        out+=$(head -c 1024 /dev/urandom | LC_ALL=C tr -dc "$chars")
    done
    printf '%s' "${out:0:n}"
}

# ls_free_port: a TCP port on 127.0.0.1 that is free right now (the kernel
# picks it when we bind port 0).
ls_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- root and Debian packages ------------------------------------------------
_ls_can_root() {
    ((EUID == 0)) || command -v sudo >/dev/null 2>&1
}

_ls_as_root() {
    if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

# _ls_as_postgres CMD...: run CMD as the postgres OS user (peer auth on the
# Unix socket is how Debian lets the admin in). cd / first: postgres cannot
# read most working directories and psql would complain.
_ls_as_postgres() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    elif [[ $(id -un) == postgres ]]; then
        (cd / && "$@")
    elif command -v sudo >/dev/null 2>&1; then
        (cd / && sudo -u postgres -- "$@")
    else
        ls_die "need root or sudo to administer PostgreSQL (as the postgres user)"
    fi
}

# ls_apt_ensure PKG...: install the Debian packages that are missing.
# Failures are handled explicitly (not through set -e) because callers may
# run it in a subshell under "if", where set -e is switched off.
ls_apt_ensure() {
    local pkg missing=() try
    for pkg in "$@"; do
        [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null) == ii* ]] || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0

    if ! command -v apt-get >/dev/null 2>&1; then
        ls_err "missing packages: ${missing[*]}; these scripts only know Debian's apt-get."
        exit 1
    fi
    if ! _ls_can_root; then
        ls_err "missing Debian packages: ${missing[*]}"
        ls_err "install them as root, then run this script again:"
        ls_err "    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
        exit 1
    fi

    ls_log "installing Debian packages: ${missing[*]}"
    # Another apt (unattended upgrades, a parallel script) may hold the dpkg
    # lock: wait for it instead of failing at once.
    local apt=(_ls_as_root env DEBIAN_FRONTEND=noninteractive
        apt-get -q -o DPkg::Lock::Timeout=600)
    for try in 1 2 3 4 5 6; do
        "${apt[@]}" update >&2 && break
        if ((try == 6)); then
            ls_warn "apt-get update kept failing; trying the install with the old package lists"
        else
            ls_warn "apt-get update failed (attempt $try; the apt lock may be busy), retrying in 10 s"
            sleep 10
        fi
    done
    if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2; then
        ls_err "apt-get install ${missing[*]} failed (see above)"
        exit 1
    fi
    hash -r
}

# --- Python virtualenv -------------------------------------------------------
# _ls_find_python: a python3 >= 3.11 (setup.cfg's python_requires).
_ls_find_python() {
    local c
    for c in ${LEARNSPACE_PYTHON:-} python3.13 python3.12 python3.11 python3; do
        command -v "$c" >/dev/null 2>&1 || continue
        # pyenv shims exist for versions that are not installed: run it.
        if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

# ls_venv_ensure [EXTRAS]: .venv with the project installed in editable mode
# (pip install -e ".[EXTRAS]"). pip is skipped when the stamp file for this
# exact setup.cfg/pyproject.toml/setup.py/extras exists and the package is importable,
# so a second run costs one Python start-up.
ls_venv_ensure() {
    local extras=${1:-} venv=$ROOT/.venv spec=. hash stamp py lock_fd
    [[ -n $extras ]] && spec=".[$extras]"
    hash=$({
        cat "$ROOT/setup.cfg" "$ROOT/pyproject.toml" "$ROOT/setup.py" 2>/dev/null
        printf '\nextras=%s\n' "$extras"
    } | sha256sum | cut -d' ' -f1)
    stamp=$venv/.installed-$hash

    # Fast path. The import check catches an editable install made while
    # learnspace/ had no package yet: it maps nothing and would never be
    # redone just because of the stamp.
    if [[ -f $stamp ]] && _ls_venv_has_project "$venv"; then
        return 0
    fi

    # scripts/run and scripts/test may be started together: one pip at a time.
    mkdir -p "$VAR_DIR"
    exec {lock_fd}>"$VAR_DIR/.venv.lock"
    flock "$lock_fd"

    # A venv whose interpreter is gone (pyenv version removed, copied from
    # another machine) or too old is rebuilt rather than patched.
    if [[ -e $venv ]] && ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
        ls_warn "$venv is broken or older than Python 3.11: recreating it"
        rm -rf "$venv"
    fi
    if [[ ! -e $venv ]]; then
        if ! py=$(_ls_find_python) && command -v apt-get >/dev/null 2>&1; then
            ls_apt_ensure python3 python3-venv # Debian 12's python3 is 3.11
            py=$(_ls_find_python) || true
        fi
        [[ -n $py ]] || ls_die "Python >= 3.11 is needed (Debian 12: apt-get install python3 python3-venv)"
        ls_log "creating $venv with $py ($("$py" --version 2>&1))"
        if ! "$py" -m venv "$venv" >&2; then
            rm -rf "$venv"
            # Debian ships ensurepip separately, in python3-venv.
            [[ $py == /usr/bin/* ]] || ls_die "could not create the virtualenv with $py"
            ls_apt_ensure python3-venv
            "$py" -m venv "$venv" >&2 || { rm -rf "$venv"; ls_die "could not create the virtualenv with $py"; }
        fi
    fi

    ls_log "installing LearnSpace into .venv: pip install -e \"$spec\""
    (cd "$ROOT" && "$venv/bin/python" -m pip install --disable-pip-version-check -q -e "$spec" >&2) ||
        ls_die "pip install -e \"$spec\" failed (see above)"
    if _ls_venv_has_project "$venv"; then
        touch "$stamp"
    else
        ls_warn "the learnspace package is not importable yet (no learnspace/__init__.py?); pip will run again next time"
    fi
    exec {lock_fd}>&-
}

_ls_venv_has_project() {
    # From / so the current directory cannot make it importable by accident.
    (cd / && "$1/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("learnspace") is None)') >/dev/null 2>&1
}

# --- MinIO -------------------------------------------------------------------
# ls_minio_ensure: a MinIO server binary (built once, see scripts/install-minio).
ls_minio_ensure() {
    local bin
    bin=$("$ROOT/scripts/install-minio") || ls_die "no MinIO server binary (see the messages above)"
    export LEARNSPACE_MINIO_BIN=$bin
}

# ls_minio_credentials: random root credentials for the local MinIO, made
# once and kept in $VAR_DIR/minio.env (mode 0600), named by
# LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE. The app never reads them: they only
# make its own user (ls_minio_app_user). MinIO's well-known default
# minioadmin/minioadmin is never used.
ls_minio_credentials() {
    local file=${LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE:-$VAR_DIR/minio.env} tmp
    if [[ ! -s $file ]]; then
        mkdir -p "$(dirname "$file")"
        tmp=$(umask 077 && mktemp "$file.XXXXXX")
        printf 'MINIO_ROOT_USER=%s\nMINIO_ROOT_PASSWORD=%s\n' "$(_ls_random 20)" "$(_ls_random 40)" >"$tmp"
        # -n: if a parallel run created the file meanwhile, keep theirs.
        mv -n "$tmp" "$file"
        rm -f "$tmp"
        ls_log "created MinIO credentials in $file"
    fi
    chmod 600 "$file"
    export LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE=$file
}

# ls_minio_app_user LEARNSPACE_COMMAND: with the root credentials (when
# LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE names them), create or update the
# bucket and the app's own MinIO user limited to it, its keys in
# $LEARNSPACE_MINIO_CREDENTIALS_FILE (default $VAR_DIR/minio-app.env, 0600).
# Then forget the root credentials: what starts afterwards (web server,
# worker) gets only the app's file in its environment.
ls_minio_app_user() {
    local learnspace=$1
    export LEARNSPACE_MINIO_CREDENTIALS_FILE=${LEARNSPACE_MINIO_CREDENTIALS_FILE:-$VAR_DIR/minio-app.env}
    if [[ -n ${LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE:-} ]]; then
        "$learnspace" storage provision >&2 || ls_die "could not set up the app's MinIO user (see above)"
    else
        ls_log "no LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE: the app uses the MinIO user it is given as it is"
    fi
    unset LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE MINIO_ROOT_USER MINIO_ROOT_PASSWORD
}

# _ls_minio_read_credentials: MINIO_ROOT_USER/PASSWORD from the env file into
# _LS_MINIO_USER/_LS_MINIO_PASSWORD. Parsed, not sourced: it is data.
_ls_minio_read_credentials() {
    local file=$LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE key value
    _LS_MINIO_USER='' _LS_MINIO_PASSWORD=''
    while IFS='=' read -r key value || [[ -n $key ]]; do
        case $key in
            MINIO_ROOT_USER) _LS_MINIO_USER=$value ;;
            MINIO_ROOT_PASSWORD) _LS_MINIO_PASSWORD=$value ;;
        esac
    done <"$file"
    [[ -n $_LS_MINIO_USER && -n $_LS_MINIO_PASSWORD ]] ||
        ls_die "$file must define MINIO_ROOT_USER and MINIO_ROOT_PASSWORD (delete it to get new ones)"
}

# _ls_minio_probe live|auth PORT
#   live: exit 0 when /minio/health/live answers 200.
#   auth: exit 0 when an S3 ListBuckets signed with our credentials answers
#         200, i.e. the server there is "our" MinIO. Credentials come in
#         through the environment, never on a command line (ps shows those).
# Standard library only (no curl, no venv needed): a minimal AWS SigV4.
_ls_minio_probe() {
    LS_PROBE_MODE=$1 LS_PROBE_HOST=127.0.0.1:$2 \
        LS_PROBE_USER=${_LS_MINIO_USER:-} LS_PROBE_PASSWORD=${_LS_MINIO_PASSWORD:-} \
        python3 - <<'PY'
import datetime, hashlib, hmac, os, sys, urllib.error, urllib.request

mode, host = os.environ["LS_PROBE_MODE"], os.environ["LS_PROBE_HOST"]
headers = {}
if mode == "live":
    url = f"http://{host}/minio/health/live"
else:
    url = f"http://{host}/"
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    empty = hashlib.sha256(b"").hexdigest()
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = (f"GET\n/\n\nhost:{host}\nx-amz-content-sha256:{empty}\n"
                 f"x-amz-date:{amz_date}\n\n{signed}\n{empty}")
    scope = f"{day}/us-east-1/s3/aws4_request"
    to_sign = (f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
               + hashlib.sha256(canonical.encode()).hexdigest())
    key = ("AWS4" + os.environ["LS_PROBE_PASSWORD"]).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers = {
        "x-amz-date": amz_date,
        "x-amz-content-sha256": empty,
        "Authorization": (f"AWS4-HMAC-SHA256 Credential={os.environ['LS_PROBE_USER']}/{scope}, "
                          f"SignedHeaders={signed}, Signature={signature}"),
    }
try:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=3) as r:
        sys.exit(0 if r.status == 200 else 1)
except (urllib.error.URLError, OSError, ValueError):
    sys.exit(1)
PY
}

# _ls_stop_pid PID NAME: TERM, give it 10 s to shut down cleanly, then KILL.
_ls_stop_pid() {
    local pid=$1 name=$2 i
    kill -0 "$pid" 2>/dev/null || return 0
    ls_log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        ls_warn "$name did not stop in 10 s, killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# ls_minio_start DATA_DIR PORT: a MinIO serving DATA_DIR on 127.0.0.1:PORT,
# stopped when this script exits. A MinIO already there that accepts our
# credentials (e.g. from another scripts/run) is reused and left running.
# Exports LEARNSPACE_MINIO_ENDPOINT.
# ls_minio_start DATA_DIR PORT DRIVES (DRIVES >= 4): erasure-coded over the
# DRIVES folders DATA_DIR/drive1..N ("minio server DATA_DIR/drive{1...N}"): data
# and parity shards on every drive, so losing any one drive loses nothing.
ls_minio_start() {
    local data=$1 port=$2 drives=${3:-0} console log pid i target extra_env=() n
    [[ -n ${LEARNSPACE_MINIO_BIN:-} ]] || ls_minio_ensure
    [[ -n ${LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE:-} && -s ${LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE} ]] || ls_minio_credentials
    _ls_minio_read_credentials

    if _ls_minio_probe live "$port"; then
        if _ls_minio_probe auth "$port"; then
            ls_log "reusing the MinIO already running on 127.0.0.1:$port"
            export LEARNSPACE_MINIO_ENDPOINT=127.0.0.1:$port
            return 0
        fi
        ls_die "a MinIO on 127.0.0.1:$port rejects the credentials in $LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE; stop it or pick another port (LEARNSPACE_MINIO_PORT)"
    fi

    mkdir -p "$data" "$VAR_DIR/log"
    target=$data
    if ((drives)); then
        ((drives >= 4)) || ls_die "erasure coding needs at least 4 drives, got $drives"
        for ((n = 1; n <= drives; n++)); do
            mkdir -p "$data/drive$n" # MinIO waits for ever for a drive whose folder is missing
        done
        target="$data/drive{1...$drives}"
        # The drive folders share this machine's root disk, which MinIO refuses as
        # drives ("drive not found") unless the root-disk threshold says otherwise.
        extra_env=(MINIO_ROOTDISK_THRESHOLD_SIZE=1)
    fi
    log=$VAR_DIR/log/minio.log
    console=$(ls_free_port)
    printf '\n===== %s: starting MinIO on 127.0.0.1:%s, data %s\n' "$(date -Is)" "$port" "$target" >>"$log"
    # Background jobs of a non-interactive shell ignore Ctrl-C, so MinIO
    # outlives the foreground program for a moment and the trap stops it.
    env ${extra_env[@]+"${extra_env[@]}"} \
        MINIO_ROOT_USER=$_LS_MINIO_USER MINIO_ROOT_PASSWORD=$_LS_MINIO_PASSWORD MINIO_BROWSER=off \
        "$LEARNSPACE_MINIO_BIN" server "$target" \
        --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
        </dev/null >>"$log" 2>&1 &
    pid=$!
    ls_on_exit _ls_stop_pid "$pid" MinIO

    ls_log "starting MinIO on 127.0.0.1:$port (log: $log)"
    for ((i = 0; i < 120; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            ls_err "MinIO exited during start-up (port $port busy? set LEARNSPACE_MINIO_PORT). Last log lines:"
            tail -n 20 "$log" >&2
            exit 1
        fi
        if _ls_minio_probe live "$port"; then
            export LEARNSPACE_MINIO_ENDPOINT=127.0.0.1:$port
            return 0
        fi
        sleep 0.5
    done
    ls_err "MinIO did not answer http://127.0.0.1:$port/minio/health/live within 60 s. Last log lines:"
    tail -n 20 "$log" >&2
    exit 1
}

# --- demo identity provider ---------------------------------------------------
# ls_port_free PORT: exit 0 when a server may listen on 127.0.0.1:PORT now.
# SO_REUSEADDR, as servers set it, so connections in TIME_WAIT do not count.
ls_port_free() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# _ls_oidc_probe PORT: exit 0 when an OpenID provider on 127.0.0.1:PORT serves
# its discovery document with itself as the issuer.
_ls_oidc_probe() {
    python3 - "$1" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
try:
    with urllib.request.urlopen(base + "/.well-known/openid-configuration", timeout=2) as r:
        sys.exit(0 if json.load(r).get("issuer") == base else 1)
except (OSError, ValueError):
    sys.exit(1)
PY
}

# ls_demo_idp_start PORT USERS_FILE: a local OpenID Connect provider for the
# demo (oidc-provider-mock from the "demo" extra, in .venv) on 127.0.0.1:PORT,
# offering the people in USERS_FILE (written by "learnspace demo --idp-users";
# a JSON list of {"claims": {"sub": ...}, "who": ...}) with one click each, and
# stopped when this script exits. Exports LEARNSPACE_OIDC_PROVIDERS: the
# providers configured already (that variable, or the instance file) plus
# "demo". The mock accepts any client, so the secret is only a random value.
ls_demo_idp_start() {
    local port=$1 users=$2 py=$ROOT/.venv/bin/python log pid i claims=() args=() c
    ls_port_free "$port" ||
        ls_die "port $port for the demo identity provider is busy (another scripts/run --demo?); stop that or set LEARNSPACE_DEMO_IDP_PORT"
    "$py" -c 'import oidc_provider_mock' 2>/dev/null ||
        ls_die "oidc-provider-mock is not installed in .venv (pip install -e \".[demo]\")"
    mapfile -t claims < <("$py" -c '
import json, sys
for user in json.load(open(sys.argv[1], encoding="utf-8")):
    print(json.dumps(user["claims"], ensure_ascii=False))' "$users")
    ((${#claims[@]})) || ls_die "no demo identity-provider users in $users"
    for c in "${claims[@]}"; do
        args+=(--user-claims "$c")
    done

    mkdir -p "$VAR_DIR/log"
    log=$VAR_DIR/log/demo-idp.log
    printf '\n===== %s: starting the demo identity provider on 127.0.0.1:%s\n' "$(date -Is)" "$port" >>"$log"
    NO_COLOR=1 PYTHONWARNINGS=ignore "$py" -m oidc_provider_mock --host 127.0.0.1 --port "$port" \
        --require-nonce true "${args[@]}" </dev/null >>"$log" 2>&1 &
    pid=$!
    ls_on_exit _ls_stop_pid "$pid" "demo identity provider"

    ls_log "starting the demo identity provider on 127.0.0.1:$port (log: $log)"
    for ((i = 0; ; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            ls_err "the demo identity provider exited during start-up. Last log lines:"
            tail -n 20 "$log" >&2
            exit 1
        fi
        _ls_oidc_probe "$port" && break
        if ((i == 120)); then
            ls_err "the demo identity provider did not answer on 127.0.0.1:$port within 60 s. Last log lines:"
            tail -n 20 "$log" >&2
            exit 1
        fi
        sleep 0.5
    done

    export LEARNSPACE_DEMO_OIDC_SECRET=${LEARNSPACE_DEMO_OIDC_SECRET:-$(_ls_random 32)}
    LEARNSPACE_OIDC_PROVIDERS=$(LS_DEMO_IDP_PORT=$port LS_VAR_DIR=$VAR_DIR python3 - <<'PY'
import json, os, sys
from pathlib import Path

raw = os.environ.get("LEARNSPACE_OIDC_PROVIDERS")
path = Path(os.environ.get("LEARNSPACE_OIDC_CONFIG") or Path(os.environ["LS_VAR_DIR"]) / "oidc-providers.json")
if not raw and path.is_file():
    raw = path.read_text(encoding="utf-8")
try:
    providers = json.loads(raw) if raw else []
except ValueError as exc:
    sys.exit(f"the OIDC provider configuration is not valid JSON ({exc}); fix it or unset it")
if not isinstance(providers, list):
    sys.exit("the OIDC provider configuration must be a JSON list")
providers = [p for p in providers if not (isinstance(p, dict) and p.get("name") == "demo")]
providers.append({
    "name": "demo",
    "title": "演示省统一身份认证（本机模拟）",
    "discovery_url": f"http://127.0.0.1:{os.environ['LS_DEMO_IDP_PORT']}/.well-known/openid-configuration",
    "client_id": "learnspace-demo",
    "client_secret_env": "LEARNSPACE_DEMO_OIDC_SECRET",
    "scopes": "openid profile",
    "claims": {"real_name": "name", "teacher_number": "teacher_number",
               "student_number": "student_number", "school_code": "school_code"},
})
print(json.dumps(providers, ensure_ascii=False))
PY
    ) || ls_die "could not add the demo provider to the OIDC provider configuration (see above)"
    export LEARNSPACE_OIDC_PROVIDERS
}

# ls_demo_idp_describe USERS_FILE: one line per demo identity-provider user
# (the button on the provider's page, and what signing in as them shows).
ls_demo_idp_describe() {
    "$ROOT/.venv/bin/python" - "$1" <<'PY'
import json, sys
for user in json.load(open(sys.argv[1], encoding="utf-8")):
    print(f"       {user['claims']['sub']:17s} {user['who']}")
PY
}

# --- other system tools ------------------------------------------------------
# ls_ffmpeg_ensure: ffmpeg + ffprobe. Only media features need them, so
# failing to install is a warning, not an error.
ls_ffmpeg_ensure() {
    if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
        return 0
    fi
    if _ls_can_root && (ls_apt_ensure ffmpeg); then
        hash -r
        command -v ffprobe >/dev/null 2>&1 && return 0
    fi
    ls_warn "ffmpeg/ffprobe are not installed; video features will not work."
    ls_warn "install them with:  sudo apt-get install ffmpeg"
}

# ls_browser_ensure: Debian's Chromium for the browser tests, with CJK fonts
# so Chinese pages render (and screenshot) as text, not boxes. Never
# "playwright install": it downloads browser builds from outside the
# package registries.
ls_browser_ensure() {
    ls_apt_ensure chromium chromium-l10n fonts-noto-cjk
    export LEARNSPACE_CHROMIUM=${LEARNSPACE_CHROMIUM:-/usr/bin/chromium}
}

# --- PostgreSQL --------------------------------------------------------------
# ls_postgres_ensure: a running local cluster and a throwaway role + database
# (random names and password) for one test run, dropped on exit. The role may
# create databases: each pytest-xdist worker makes one of its own next to the
# throwaway one (tests/conftest.py); they are dropped with it.
# Exports LEARNSPACE_TEST_POSTGRES_URL. If that variable is already set, it
# is used as it is and nothing is created (-n needs CREATEDB for that role).
ls_postgres_ensure() {
    if [[ -n ${LEARNSPACE_TEST_POSTGRES_URL:-} ]]; then
        ls_log "using the given LEARNSPACE_TEST_POSTGRES_URL"
        return 0
    fi
    ls_apt_ensure postgresql

    # Which cluster: one already online, else "main" of the newest installed
    # server version, created if the container came without one.
    local ver cluster port status line i
    line=$(pg_lsclusters -h | awk '$4 ~ /^online/ { print; exit }')
    if [[ -z $line ]]; then
        ver=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
            awk -F/ '{ print $5 }' | sort -V | tail -n 1)
        [[ -n $ver ]] || ls_die "package postgresql is installed but no server binary was found under /usr/lib/postgresql"
        line=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { print; exit }')
        if [[ -z $line ]]; then
            ls_log "creating PostgreSQL cluster $ver/main"
            _ls_as_root pg_createcluster "$ver" main >&2
            line=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { print; exit }')
        fi
    fi
    read -r ver cluster port status _ <<<"$line"
    if [[ $status != online* ]]; then
        # No systemd in containers (CI): start the cluster directly.
        ls_log "starting PostgreSQL cluster $ver/$cluster on port $port"
        _ls_as_root pg_ctlcluster "$ver" "$cluster" start >&2 ||
            ls_die "could not start PostgreSQL $ver/$cluster (see /var/log/postgresql/postgresql-$ver-$cluster.log)"
    fi
    for ((i = 0; i < 60; i++)); do
        pg_isready -q -h 127.0.0.1 -p "$port" && break
        ((i == 59)) && ls_die "PostgreSQL on 127.0.0.1:$port is not ready after 60 s"
        sleep 1
    done

    _ls_pg_drop_stale "$port"

    local name password
    name=learnspace_test_$$_$(_ls_random 8 a-z0-9)
    password=$(_ls_random 32)
    # SQL (with the password) goes through stdin, not the command line.
    _ls_as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres >/dev/null <<SQL ||
CREATE ROLE "$name" LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE "$name" OWNER "$name";
SQL
        ls_die "could not create the test database in PostgreSQL"
    ls_on_exit _ls_pg_drop "$port" "$name"

    # Fail here, with a clear message, rather than in every test.
    PGPASSWORD=$password PGCONNECT_TIMEOUT=10 psql -X -q -h 127.0.0.1 -p "$port" -U "$name" -d "$name" \
        -c 'SELECT 1' >/dev/null ||
        ls_die "cannot log in to PostgreSQL over TCP with a password (check pg_hba.conf for 127.0.0.1/32)"

    ls_log "PostgreSQL test database $name on 127.0.0.1:$port"
    export LEARNSPACE_TEST_POSTGRES_URL="postgresql+psycopg://$name:$password@127.0.0.1:$port/$name"
}

# _ls_pg_drop PORT NAME: drop the test role NAME with every database it owns
# (the throwaway database NAME and any the test workers left behind).
_ls_pg_drop() {
    local db drops=''
    ls_log "dropping PostgreSQL test database $2"
    while read -r db; do
        # Names come from the role (letters, digits, _); quote them all the same.
        if [[ -n $db ]]; then
            drops+="DROP DATABASE IF EXISTS \"${db//\"/\"\"}\" WITH (FORCE);"$'\n'
        fi
    done < <(_ls_as_postgres psql -X -At -p "$1" -d postgres -v ON_ERROR_STOP=1 \
        -c "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = '$2' AND d.datname <> '$2'" 2>/dev/null)
    # FORCE: a test that crashed may have left connections open. DROP DATABASE
    # cannot run in a transaction: psql sends each statement on its own.
    _ls_as_postgres psql -X -q -p "$1" -d postgres >/dev/null <<SQL
${drops}DROP DATABASE IF EXISTS "$2" WITH (FORCE);
DROP ROLE IF EXISTS "$2";
SQL
}

# _ls_pg_drop_stale PORT: drop test databases left by runs that were killed
# (their clean-up never ran); the pid in the name tells if that run is gone.
_ls_pg_drop_stale() {
    local name pid
    while read -r name; do
        [[ $name =~ ^learnspace_test_([0-9]+)_[a-z0-9]+$ ]] || continue
        pid=${BASH_REMATCH[1]}
        # /proc, not kill -0: that fails for other users' live processes.
        [[ -d /proc/$pid ]] && continue
        _ls_pg_drop "$1" "$name" || true
    done < <(_ls_as_postgres psql -X -At -p "$1" -d postgres \
        -c "SELECT rolname FROM pg_roles WHERE rolname LIKE 'learnspace\_test\_%'" 2>/dev/null)
}

# --- a PostgreSQL cluster of this checkout (scripts/run --postgres) -----------
# ls_postgres_local PORT: the cluster in $VAR_DIR/postgres, made on first use
# (superuser "learnspace", its password in $VAR_DIR/postgres.env, 0600), started
# on 127.0.0.1:PORT with its socket in the data folder, and stopped when this
# script exits. One already running there is reused (on its own port) and left
# running. Exports LEARNSPACE_DATABASE_URL for database "learnspace".
# As root the server runs as the postgres OS user (PostgreSQL refuses root), so
# $VAR_DIR gets mode 0711: postgres may pass through it, not list it.
ls_postgres_local() {
    local port=$1 data=$VAR_DIR/postgres env_file=$VAR_DIR/postgres.env bin password tmp i
    local -a as_owner=()
    ls_apt_ensure postgresql
    bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -x $bin/initdb ]] || ls_die "package postgresql is installed but no initdb was found under /usr/lib/postgresql"
    mkdir -p "$VAR_DIR/log"
    if ((EUID == 0)); then
        as_owner=(runuser -u postgres --)
        chmod 711 "$VAR_DIR"
    fi

    if [[ ! -s $env_file ]]; then
        tmp=$(umask 077 && mktemp "$env_file.XXXXXX")
        printf 'PGPASSWORD=%s\n' "$(_ls_random 32)" >"$tmp"
        mv -n "$tmp" "$env_file"
        rm -f "$tmp"
    fi
    chmod 600 "$env_file"
    password=$(sed -n 's/^PGPASSWORD=//p' "$env_file")
    [[ -n $password ]] || ls_die "$env_file has no PGPASSWORD line (delete it and $data to start over)"

    if [[ ! -s $data/PG_VERSION ]]; then
        ls_log "creating a PostgreSQL cluster in $data"
        mkdir -p "$data"
        chmod 700 "$data"
        ((EUID == 0)) && chown postgres: "$data"
        # initdb reads the password from a file (not the command line) that the server's user can read,
        # outside the data folder (initdb wants it empty); the folder is removed right after.
        tmp=$(mktemp -d)
        (umask 077 && printf '%s\n' "$password" >"$tmp/pw")
        ((EUID == 0)) && chown -R postgres: "$tmp"
        (cd / && "${as_owner[@]}" "$bin/initdb" -D "$data" -U learnspace --pwfile="$tmp/pw" --auth=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >>"$VAR_DIR/log/postgres-initdb.log" 2>&1) ||
            { rm -rf "$tmp"; ls_die "initdb failed; see $VAR_DIR/log/postgres-initdb.log"; }
        rm -rf "$tmp"
    fi

    if (cd / && "${as_owner[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1); then
        port=$(sed -n 4p "$data/postmaster.pid")
        ls_log "reusing the PostgreSQL already running from $data on 127.0.0.1:$port"
    else
        ls_port_free "$port" || ls_die "port $port for PostgreSQL is busy; set LEARNSPACE_POSTGRES_PORT"
        ls_log "starting PostgreSQL on 127.0.0.1:$port (log: $data/server.log)"
        (cd / && "${as_owner[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $data" start >/dev/null) ||
            { tail -n 20 "$data/server.log" >&2; ls_die "PostgreSQL did not start (see above)"; }
        ls_on_exit _ls_pg_local_stop "$bin" "$data"
    fi
    for ((i = 0; i < 60; i++)); do
        PGPASSWORD=$password psql -X -q -h 127.0.0.1 -p "$port" -U learnspace -d postgres -c 'SELECT 1' \
            >/dev/null 2>&1 && break
        ((i == 59)) && ls_die "cannot sign in to PostgreSQL on 127.0.0.1:$port as learnspace (see $data/server.log)"
        sleep 0.5
    done
    if [[ -z $(PGPASSWORD=$password psql -X -At -h 127.0.0.1 -p "$port" -U learnspace -d postgres \
        -c "SELECT 1 FROM pg_database WHERE datname = 'learnspace'") ]]; then
        PGPASSWORD=$password psql -X -q -h 127.0.0.1 -p "$port" -U learnspace -d postgres \
            -c 'CREATE DATABASE learnspace' >/dev/null || ls_die "could not create database learnspace"
    fi
    export LEARNSPACE_DATABASE_URL="postgresql+psycopg://learnspace:$password@127.0.0.1:$port/learnspace"
}

# _ls_pg_local_stop BIN DATA: stop the cluster ls_postgres_local started (fast: roll back open transactions).
_ls_pg_local_stop() {
    ls_log "stopping PostgreSQL ($2)"
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$1/pg_ctl" -D "$2" -m fast -w stop >/dev/null 2>&1) || true
    else
        (cd / && "$1/pg_ctl" -D "$2" -m fast -w stop >/dev/null 2>&1) || true
    fi
}
