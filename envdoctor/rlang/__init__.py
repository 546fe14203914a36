"""R users' side of envdoctor: reticulate, the R packages keras/keras3/tensorflow, R code.

R reaches Keras through reticulate, which binds one Python per R session by its own order
of discovery and cannot switch once it has initialized, so most R-side failures are "the
wrong Python".  This package answers, without running R or Python:

* :mod:`envdoctor.rlang.r_packages`: which R is installed and which R packages
  (reticulate, keras, keras3, tensorflow, jsonlite) its library paths hold, read from
  ``DESCRIPTION`` files the way R's startup computes ``.libPaths()``;
* :mod:`envdoctor.rlang.reticulate`: which Python reticulate would bind in a directory,
  and why (its order of discovery, step by step);
* :mod:`envdoctor.rlang.rcode`: R code that builds a correctly shaped float32 input and
  loads a model from R;
* :mod:`envdoctor.rlang.explain`: what an error caught in R means;
* :mod:`envdoctor.rlang.context`: whether the caller is R (``--for-r`` or
  ``ENVDOCTOR_FOR_R=1``), which turns on the R checks of
  :mod:`envdoctor.checks.r_session`.

``scripts/envdoctor.R`` is the R side; ``docs/R.md`` documents both.
"""

from __future__ import annotations
