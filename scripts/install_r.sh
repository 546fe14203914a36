#!/usr/bin/env bash
# Install what the R tests need (Rscript, the R packages reticulate and jsonlite) from the
# distribution's packages, when they are missing.  Idempotent: does nothing when Rscript can
# load reticulate and jsonlite.  Needs root or sudo and apt-get (Debian/Ubuntu); CRAN is not
# used.  Prints what it did.  Exit status 0 when R is usable afterwards, 1 otherwise.
# Usage: bash scripts/install_r.sh
set -uo pipefail

PACKAGES=(r-base-core r-cran-reticulate r-cran-jsonlite)

have_r() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript -e 'stopifnot(requireNamespace("reticulate", quietly = TRUE), requireNamespace("jsonlite", quietly = TRUE))' \
      >/dev/null 2>&1
}

if have_r; then
  echo "install_r: Rscript with reticulate and jsonlite is already installed ($(Rscript -e 'cat(format(getRversion()), as.character(packageVersion("reticulate")))' 2>/dev/null)); nothing to do"
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
  exit 0
fi
echo "install_r: installed, but Rscript still cannot load reticulate and jsonlite" >&2
exit 1
