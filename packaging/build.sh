#!/bin/sh
# Build the one-folder app with PyInstaller and smoke-test the artifact: the CLI answers, the
# packaged GUI opens a demo project offscreen and saves a screenshot, and the app installs
# with its Linux desktop entry and icon (packaging/install.sh, checked by check_desktop.py).
#   packaging/build.sh [PYTHON]        (default: python3; needs `pip install -e ".[package]"`)
# The smoke test's screenshot is kept as build/smoke/demo.png.
set -eu
cd "$(dirname "$0")/.."
PY=${1:-python3}
echo "== packaging: PyInstaller one-folder build ($("$PY" -m PyInstaller --version)) =="
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath build/dist --workpath build/work packaging/labeler.spec
echo "build: $(( $(date +%s) - start )) s, $(du -sh build/dist/labeler | cut -f1)"
APP=build/dist/labeler/labeler
SMOKE=$(mktemp -d)
trap 'rm -rf "$SMOKE"' EXIT
echo "== smoke test: $APP =="
"$APP" --version
QT_QPA_PLATFORM=offscreen LABELER_CONFIG_DIR="$SMOKE/config" \
    "$APP" demo --kind tabular --dir "$SMOKE/demo" --screenshot "$SMOKE/shot.png"
test -s "$SMOKE/shot.png"
mkdir -p build/smoke && cp "$SMOKE/shot.png" build/smoke/demo.png
echo "screenshot of the packaged app: build/smoke/demo.png ($(wc -c < build/smoke/demo.png) bytes)"
"$APP" info "$SMOKE/demo"
echo "== smoke test: the packaged app trains a text model (offline embeddings), saves and loads it =="
"$APP" demo --kind text --dir "$SMOKE/text" --no-gui
"$PY" -c "import pandas as pd, sys; pd.read_csv(sys.argv[1])[['id', 'text', 'label']].sample(200, random_state=0).to_csv(sys.argv[2], index=False)" \
    "$SMOKE/text/truth.csv" "$SMOKE/text/labeled.csv"
labels=$("$PY" -c "import pandas as pd,sys; print(','.join(sorted(pd.read_csv(sys.argv[1]).label.astype(str).unique())))" "$SMOKE/text/labeled.csv")
"$APP" init "$SMOKE/textlab" --modality text --labels "$labels"
"$APP" import "$SMOKE/textlab" "$SMOKE/text/labeled.csv" --text-column text --label-column label
"$APP" train "$SMOKE/textlab"
"$APP" predict "$SMOKE/textlab" "$SMOKE/text/demo-data/pool.csv" --out "$SMOKE/pred.csv" --json
test "$(wc -l < "$SMOKE/pred.csv")" -gt 100
echo "== smoke test: install with the desktop entry =="
packaging/install.sh "$SMOKE/prefix"
"$PY" packaging/check_desktop.py "$SMOKE/prefix"
"$SMOKE/prefix/bin/labeler" --version
echo "smoke test passed: $APP"
