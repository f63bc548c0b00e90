#!/usr/bin/env bash
# Builds a real-photo sample dataset (6 classes, ~286 transparent PNG photos, GPL-2 "Tux Paint" stamps) from
# Debian's tuxpaint-stamps-default package, as <out>/tuxpaint/<class>/*.png plus <out>/tuxpaint.zip
# (folder-per-class). Nothing is committed; the images stay under <out> (default: .samples/).
set -euo pipefail
out="${1:-$(dirname "$0")/../.samples}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [ -f "$out/tuxpaint.zip" ]; then echo "$out/tuxpaint.zip already exists"; exit 0; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
(cd "$work" && apt-get download -q tuxpaint-stamps-default >/dev/null)
dpkg-deb -x "$work"/tuxpaint-stamps-default_*.deb "$work/pkg"
stamps="$work/pkg/usr/share/tuxpaint/stamps"
rm -rf "$out/tuxpaint"
for class in animals clothes food household plants vehicles; do
  mkdir -p "$out/tuxpaint/$class"
  # Photo stamps only: cartoon/ sub-folders hold drawings. Names are made unique by their sub-folder.
  find "$stamps/$class" -name '*.png' -not -path '*/cartoon/*' -print0 |
    while IFS= read -r -d '' f; do
      rel="${f#"$stamps/$class/"}"
      cp "$f" "$out/tuxpaint/$class/${rel//\//_}"
    done
done
(cd "$out/tuxpaint" && python3 -c 'import shutil; shutil.make_archive("../tuxpaint", "zip", ".")' 2>/dev/null || zip -qr ../tuxpaint.zip .)
echo "$(find "$out/tuxpaint" -name '*.png' | wc -l) images in $out/tuxpaint and $out/tuxpaint.zip"
