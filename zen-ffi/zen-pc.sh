#!/usr/bin/env bash
# Writes zen.pc, the pkg-config file of zen's C API, to standard output.
#
#   zen-ffi/zen-pc.sh LIBDIR INCLUDEDIR > DIR/zen.pc
#
# LIBDIR holds libzen.so and libzen.a (e.g. target/release, or /usr/local/lib
# after installing them); INCLUDEDIR holds zen.h. The version comes from the
# ZEN_VERSION_* macros of the zen.h in INCLUDEDIR. Then:
#
#   PKG_CONFIG_PATH=DIR cc app.c $(pkg-config --cflags --libs zen)
#
# (Libs.private lists what a static link against libzen.a needs, from
# `cargo rustc -p zen-ffi --crate-type staticlib -- --print native-static-libs`
# on Linux: use `pkg-config --static --libs zen` for it.)
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 LIBDIR INCLUDEDIR > zen.pc" >&2
    exit 2
fi
abs() { (cd "$1" && pwd); }
libdir=$(abs "$1")
includedir=$(abs "$2")
header="$includedir/zen.h"
if [ ! -f "$header" ]; then
    echo "$0: no zen.h in $includedir" >&2
    exit 1
fi
macro() { sed -n "s/^#define ZEN_VERSION_$1 \([0-9][0-9]*\)$/\1/p" "$header"; }
version="$(macro MAJOR).$(macro MINOR).$(macro PATCH)"
template="$(dirname "$0")/zen.pc.in"
sed -e "s|@LIBDIR@|$libdir|g" -e "s|@INCLUDEDIR@|$includedir|g" -e "s|@VERSION@|$version|g" \
    "$template"
