#!/usr/bin/env bash
# Install what the R tests need, in two stacks:
#  1. Rscript and the R packages reticulate (Debian: 1.28) and jsonlite from the
#     distribution's packages, when they are missing (needs root or sudo and apt-get);
#  2. today's stack from ../shared/r-src (reticulate 1.46.0, tensorflow 2.20.0, keras3 1.2.0,
#     tfruns, tfautograph, config), offline, into ENVDOCTOR_R_LIB_146 (default
#     ~/.cache/envdoctor/r-lib-1.46), with r-src/install.sh.  Tests use it with R_LIBS=LIB.
# Idempotent: step 1 does nothing when Rscript loads reticulate and jsonlite; step 2 does
# nothing when LIB already has reticulate 1.46.0 and keras3 1.2.0.  CRAN is not used.
# Prints what it did.  Exit status 0 when R is usable afterwards, 1 otherwise (step 2
# failing, or r-src missing, is reported and leaves the status 0: the 1.46 tests then skip).
# Usage: bash scripts/install_r.sh
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
R_SRC=${ENVDOCTOR_R_SRC:-"$HERE/../../shared/r-src"}
[ -d "$R_SRC" ] || R_SRC="$HERE/../../../shared/r-src"
LIB_146=${ENVDOCTOR_R_LIB_146:-"$HOME/.cache/envdoctor/r-lib-1.46"}

install_146() {
  local have
  have=$(sed -n 's/^Version:[[:space:]]*//p' "$LIB_146/reticulate/DESCRIPTION" 2>/dev/null | head -1)
  if [ "$have" = "1.46.0" ] && [ -f "$LIB_146/keras3/DESCRIPTION" ]; then
    echo "install_r: reticulate 1.46.0 + keras3 already in $LIB_146; nothing to do"
    return 0
  fi
  if [ ! -x "$R_SRC/install.sh" ] && [ ! -f "$R_SRC/install.sh" ]; then
    echo "install_r: no r-src (looked in $R_SRC): the reticulate 1.46 tests will skip" >&2
    return 0
  fi
  echo "install_r: installing r-src (reticulate 1.46, keras3, tensorflow) into $LIB_146"
  if ! bash "$R_SRC/install.sh" "$LIB_146" >/tmp/install_r_146.log 2>&1; then
    echo "install_r: r-src/install.sh failed (log: /tmp/install_r_146.log): the 1.46 tests will skip" >&2
    tail -n 3 /tmp/install_r_146.log >&2
    return 0
  fi
  tail -n 1 /tmp/install_r_146.log
}

PACKAGES=(r-base-core r-cran-reticulate r-cran-jsonlite)

have_r() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript -e 'stopifnot(requireNamespace("reticulate", quietly = TRUE), requireNamespace("jsonlite", quietly = TRUE))' \
      >/dev/null 2>&1
}

if have_r; then
  echo "install_r: Rscript with reticulate and jsonlite is already installed ($(Rscript -e 'cat(format(getRversion()), as.character(packageVersion("reticulate")))' 2>/dev/null)); nothing to do"
  install_146
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_r: R is missing and apt-get is not available; install R, reticulate and jsonlite yourself" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install_r: R is missing and installing it needs root (or passwordless sudo)" >&2
    exit 1
  fi
fi

echo "install_r: installing ${PACKAGES[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/tmp/install_r.log 2>&1; then
  echo "install_r: first attempt failed; running apt-get update"
  "${SUDO[@]}" apt-get update >>/tmp/install_r.log 2>&1 || true
  if ! "${SUDO[@]}" apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>/tmp/install_r.log 2>&1; then
    echo "install_r: apt-get install failed (log: /tmp/install_r.log)" >&2
    tail -n 5 /tmp/install_r.log >&2
    exit 1
  fi
fi

if have_r; then
  echo "install_r: installed R $(Rscript -e 'cat(format(getRversion()), "with reticulate", as.character(packageVersion("reticulate")))' 2>/dev/null)"
  install_146
  exit 0
fi
echo "install_r: installed, but Rscript still cannot load reticulate and jsonlite" >&2
exit 1
