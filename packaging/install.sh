#!/bin/sh
# Install the one-folder build (build/dist/labeler, made by packaging/build.sh) for one user
# or system-wide, with its Linux desktop entry and icon (freedesktop.org layout):
#   PREFIX/lib/labeler/                         the app
#   PREFIX/bin/labeler                          a link to it
#   PREFIX/share/applications/labeler.desktop   Exec= the app's absolute path
#   PREFIX/share/icons/hicolor/scalable/apps/labeler.svg
#     packaging/install.sh [PREFIX]            (default: ~/.local)
set -eu
cd "$(dirname "$0")/.."
PREFIX=${1:-$HOME/.local}
APP_DIR=build/dist/labeler
test -x "$APP_DIR/labeler" || { echo "install: $APP_DIR/labeler missing; run packaging/build.sh first" >&2; exit 2; }
mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$PREFIX/share/applications" \
    "$PREFIX/share/icons/hicolor/scalable/apps"
rm -rf "$PREFIX/lib/labeler"
cp -a "$APP_DIR" "$PREFIX/lib/labeler"
ln -sf "$PREFIX/lib/labeler/labeler" "$PREFIX/bin/labeler"
cp labeler/assets/labeler.svg "$PREFIX/share/icons/hicolor/scalable/apps/labeler.svg"
sed "s|^Exec=labeler$|Exec=$PREFIX/lib/labeler/labeler|" packaging/labeler.desktop \
    > "$PREFIX/share/applications/labeler.desktop"
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$PREFIX/share/applications" || true
fi
echo "installed: $PREFIX/bin/labeler, $PREFIX/share/applications/labeler.desktop"
