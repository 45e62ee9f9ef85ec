# Sourced by scripts/test.sh and .ci/run. When `python3` is a distribution's own Python that refuses
# `pip install` outside a virtual environment (PEP 668, e.g. Debian's /usr/bin/python3), make the checkout's
# virtual environment (.venv, as scripts/demo.sh does) and put it first on PATH. Any other Python is used as is.
python3 -c 'import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
sys.exit(0 if managed and sys.prefix == sys.base_prefix else 1)' && {
  _venv=${PYDT_VENV:-.venv}
  if [ ! -x "$_venv/bin/pip" ]; then
    rm -rf "$_venv"
    python3 -m venv "$_venv" || {
      echo "python3 cannot make a virtual environment: install python3-venv (apt-get install python3-venv)" >&2
      exit 1
    }
  fi
  export VIRTUAL_ENV="$PWD/$_venv" PATH="$PWD/$_venv/bin:$PATH"
  echo "$(basename "$0"): python3 is externally managed; using the virtual environment $_venv" >&2
}
true
