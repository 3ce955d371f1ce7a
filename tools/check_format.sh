#!/usr/bin/env bash
# Checks (or, with --fix, applies) the house style of .clang-format on every tracked C++ file.
# Debian 12's clang-format (14) is the reference: other versions may format a few lines apart.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v clang-format >/dev/null || { echo "check_format: clang-format is missing; apt-get install clang-format" >&2; exit 1; }
mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h')
[ ${#files[@]} -gt 0 ] || { echo "check_format: no C++ files found (is this a git checkout?)" >&2; exit 1; }
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
else
  clang-format --dry-run --Werror "${files[@]}" || {
    echo "check_format: the files above differ from .clang-format; run ./workbook format" >&2; exit 1; }
  echo "check_format: ${#files[@]} files follow .clang-format"
fi
