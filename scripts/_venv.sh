# Shared by scripts/test and scripts/run: make .venv and install immunis with its dev tools.
# Sourced, not executed; leaves REPO_ROOT and VENV set, and .venv/bin first on PATH.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
PYTHON="${PYTHON:-python3}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        if ! command -v "$PYTHON" >/dev/null 2>&1; then
            echo "error: $PYTHON not found; install Python 3.11+ or set PYTHON=/path/to/python" >&2
            return 1
        fi
        if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            echo "error: immunis needs Python 3.11+, $PYTHON is $("$PYTHON" -V 2>&1)" >&2
            return 1
        fi
        log "creating $VENV with $("$PYTHON" -V 2>&1)"
        if ! "$PYTHON" -m venv "$VENV"; then
            echo "error: '$PYTHON -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
            rm -rf "$VENV"
            return 1
        fi
    fi

    # Reinstall only when pyproject.toml changed: the editable install picks up source edits itself.
    local stamp="$VENV/.immunis-installed"
    local want
    want="$("$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$REPO_ROOT/pyproject.toml")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$VENV/bin/python" -c 'import immunis' 2>/dev/null; then
        log "using $VENV (up to date with pyproject.toml)"
    else
        log "installing immunis and dev tools into $VENV: pip install -e '.[dev]'"
        rm -f "$stamp"
        "$VENV/bin/python" -m pip install -qq --disable-pip-version-check -e "$REPO_ROOT[dev]"
        echo "$want" >"$stamp"
    fi

    export PATH="$VENV/bin:$PATH"
    export VIRTUAL_ENV="$VENV"
}
