#!/bin/sh
# Build the one-folder app with PyInstaller and smoke-test the artifact:
# the CLI answers, and the packaged GUI opens a demo project and saves a screenshot.
#   packaging/build.sh [PYTHON]        (default: python3; needs `pip install -e ".[package]"`)
set -eu
cd "$(dirname "$0")/.."
PY=${1:-python3}
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath build/dist --workpath build/work packaging/labeler.spec
APP=build/dist/labeler/labeler
SMOKE=$(mktemp -d)
"$APP" --version
QT_QPA_PLATFORM=offscreen LABELER_CONFIG_DIR="$SMOKE/config" \
    "$APP" demo --kind tabular --dir "$SMOKE/demo" --screenshot "$SMOKE/shot.png"
test -s "$SMOKE/shot.png"
"$APP" info "$SMOKE/demo"
echo "smoke test passed: $APP"
rm -rf "$SMOKE"
