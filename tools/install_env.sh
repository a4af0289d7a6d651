#!/usr/bin/env bash
# Idempotent CPU environment set-up for this machine kind (GPU installs: see
# docs/get_started.md). Creates/reuses a virtualenv and installs, in order:
#   torch 2.13.0 (the local CPU wheel; pip must never resolve a CUDA build),
#   mmcv 2.1.0 built from source with its ops (about 18 min on 2 cores the first
#   time; pip caches the wheel, later installs take seconds),
#   mmengine / mmsegmentation / mmdet and the test tools,
#   semiseg_mm from this checkout in editable mode.
# A step runs only when the probe below finds it missing, so a second run
# finishes in a few seconds.
set -euo pipefail
VENV=${1:-.venv}
cd "$(dirname "$0")/.."
REPO=$PWD

log() { printf '[install] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)

# Which steps are missing? Versions come from package metadata (no imports);
# -I keeps the repo root off sys.path so only installed packages count.
missing=$("$PY" -I - "$REPO" <<'PYEOF'
import importlib.metadata as md, importlib.util, os, sys
repo = os.path.realpath(sys.argv[1])

def ver(dist):
    try:
        return md.version(dist).split('+')[0]
    except md.PackageNotFoundError:
        return None

def setuptools_ok():
    v = ver('setuptools')
    return v is not None and 77 <= int(v.split('.')[0]) < 82

need = []
if ver('torch') != '2.13.0':
    need.append('torch')
if not (setuptools_ok() and ver('ninja') and ver('numpy') and
        (ver('opencv-python-headless') or ver('opencv-python'))):
    need.append('build')
ext = importlib.util.find_spec('mmcv')
if ver('mmcv') != '2.1.0' or ext is None or not any(
        f.startswith('_ext') for f in os.listdir(os.path.dirname(ext.origin))):
    need.append('mmcv')
if (ver('mmengine'), ver('mmsegmentation'), ver('mmdet')) != (
        '0.10.7', '1.2.2', '3.3.0') or not (ver('pytest') and
                                            ver('pytest-xdist')):
    need.append('stack')
# every top-level package of this checkout (an editable install made before
# a package was added does not map it)
specs = [importlib.util.find_spec(p) for p in ('semiseg_mm', 'semiseg_mm_det')]
if any(s is None or not os.path.realpath(s.origin).startswith(repo + os.sep)
       for s in specs) or not os.path.isfile(
            os.path.join(repo, 'semiseg_mm', '.mim', 'model-index.yml')):
    need.append('package')
print(' '.join(need))
PYEOF
)

case " $missing " in *" torch "*)
  log "installing torch 2.13.0 (CPU)"
  "${PIP[@]}" install --upgrade pip
  "${PIP[@]}" install torch==2.13.0 ;;
esac
case " $missing " in *" build "*)
  log "installing mmcv's build requirements"
  "${PIP[@]}" install -r requirements/build.txt ;;
esac
case " $missing " in *" mmcv "*)
  log "installing mmcv 2.1.0 with ops (built from source the first time: ~18 min on 2 cores)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" install --no-build-isolation mmcv==2.1.0 ;;
esac
case " $missing " in *" stack "*)
  log "installing mmengine, mmsegmentation, mmdet and the test tools"
  "${PIP[@]}" install -r requirements/runtime.txt -r requirements/tests.txt ;;
esac
case " $missing " in *" package "*)
  log "installing semiseg_mm (editable)"
  "${PIP[@]}" install --no-deps --no-build-isolation -e . ;;
esac
if [ -n "$missing" ]; then
  "$PY" -I -c 'import mmcv._ext, mmseg, mmdet, semiseg_mm' \
    || { log "installation check failed"; exit 1; }
fi
log "environment ready ($VENV)"
