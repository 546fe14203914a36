# envdoctor.R: R helpers for envdoctor (base R + jsonlite; reticulate optional).
#
# reticulate binds one Python per R session, chosen by its own order of discovery, and
# cannot switch afterwards.  These helpers ask envdoctor (a Python command line tool that
# reads models and environments without importing TensorFlow) which Python can load your
# model, and tell reticulate before it starts Python.
#
#   source("/path/to/envdoctor/scripts/envdoctor.R")
#   envdoctor_use("models/lstm.keras")      # in .Rprofile: before anything starts Python
#   envdoctor_check("models/lstm.keras")    # findings as a data.frame, R code for inputs
#   tryCatch(model$predict(x), error = function(e) envdoctor_explain(e, model = "m.keras"))
#
# Finding envdoctor (R's PATH often differs from the shell's): ENVDOCTOR_BIN (the
# envdoctor executable), then `envdoctor` on PATH, then `python -m envdoctor` with the
# interpreter in ENVDOCTOR_PYTHON (or the `python` argument).
# See docs/R.md for the .Rprofile and .Renviron recipes.

envdoctor_command <- function(python = NULL) {
  bin <- Sys.getenv("ENVDOCTOR_BIN", unset = "")
  if (nzchar(bin)) {
    if (!file.exists(bin)) stop("ENVDOCTOR_BIN is set to ", bin, ", which does not exist", call. = FALSE)
    return(bin)
  }
  found <- Sys.which("envdoctor")
  if (nzchar(found)) return(unname(found))
  py <- if (!is.null(python)) python else Sys.getenv("ENVDOCTOR_PYTHON", unset = "")
  if (nzchar(py)) return(c(py, "-m", "envdoctor"))
  stop("envdoctor not found: set ENVDOCTOR_BIN to the envdoctor executable, put it on PATH, ",
       "or set ENVDOCTOR_PYTHON to an interpreter that has it (python -m envdoctor)", call. = FALSE)
}

# LD_LIBRARY_PATH without what R put in front of it (etc/ldpaths: R_HOME/lib, the system
# library directory, Java's lib/server).  With those first, a pyenv Python started from R
# loads the system libpython instead of its own.
.envdoctor_ld_path <- function(value = Sys.getenv("LD_LIBRARY_PATH")) {
  parts <- strsplit(value, ":", fixed = TRUE)[[1]]
  if (!length(parts)) return("")
  r_lib <- normalizePath(file.path(R.home(), "lib"), mustWork = FALSE)
  norm <- normalizePath(parts, mustWork = FALSE)
  drop <- !nzchar(parts) | norm == r_lib |
    grepl("^/(usr/)?lib(32|64)?(/[^/]*-linux-gnu[^/]*)?/?$", parts) |
    grepl("/lib/server/?$", parts)
  paste(parts[!drop], collapse = ":")
}

.envdoctor_reticulate_version <- function() {
  v <- tryCatch(as.character(utils::packageVersion("reticulate")), error = function(e) "")
  v
}

# Run envdoctor with `args`; returns list(status, stdout, stderr).  The child gets a cleaned
# LD_LIBRARY_PATH and ENVDOCTOR_FOR_R=1 (R checks on); R's own environment is restored.
envdoctor_run <- function(args, python = NULL) {
  cmd <- envdoctor_command(python)
  old <- Sys.getenv(c("LD_LIBRARY_PATH", "ENVDOCTOR_FOR_R", "ENVDOCTOR_RETICULATE_VERSION"),
                    unset = NA)
  on.exit({
    for (name in names(old)) {
      if (is.na(old[[name]])) Sys.unsetenv(name) else do.call(Sys.setenv, as.list(old[name]))
    }
  }, add = TRUE)
  ld <- .envdoctor_ld_path()
  if (nzchar(ld)) Sys.setenv(LD_LIBRARY_PATH = ld) else Sys.unsetenv("LD_LIBRARY_PATH")
  Sys.setenv(ENVDOCTOR_FOR_R = "1")
  rv <- .envdoctor_reticulate_version()
  if (nzchar(rv)) Sys.setenv(ENVDOCTOR_RETICULATE_VERSION = rv)
  err <- tempfile("envdoctor-")
  on.exit(unlink(err), add = TRUE)
  # system2() quotes the command itself; the arguments are quoted here.
  out <- suppressWarnings(system2(cmd[1], shQuote(c(cmd[-1], args)), stdout = TRUE, stderr = err))
  status <- attr(out, "status")
  list(status = if (is.null(status)) 0L else as.integer(status),
       stdout = as.character(out),
       stderr = if (file.exists(err)) readLines(err, warn = FALSE) else character())
}

.envdoctor_initialized <- function() {
  "reticulate" %in% loadedNamespaces() &&
    isTRUE(tryCatch(reticulate::py_available(initialize = FALSE), error = function(e) FALSE))
}

.envdoctor_json <- function(res, what) {
  if (!requireNamespace("jsonlite", quietly = TRUE))
    stop("envdoctor_", what, "() needs the R package jsonlite (apt install r-cran-jsonlite, ",
         "or install.packages(\"jsonlite\"))", call. = FALSE)
  text <- paste(res$stdout, collapse = "\n")
  if (!nzchar(text)) stop("envdoctor ", what, " failed: ", paste(res$stderr, collapse = "\n"), call. = FALSE)
  jsonlite::fromJSON(text, simplifyVector = FALSE)
}

.envdoctor_frame <- function(findings) {
  pick_fix <- function(f) {
    fixes <- f$fixes
    if (!length(fixes)) return(NA_character_)
    kinds <- vapply(fixes, function(x) x$kind, "")
    best <- if (any(kinds == "r")) which(kinds == "r")[1] else if (any(kinds != "note")) which(kinds != "note")[1] else 1L
    fixes[[best]]$text
  }
  data.frame(
    code = vapply(findings, function(f) f$code, ""),
    severity = vapply(findings, function(f) f$severity, ""),
    title = vapply(findings, function(f) f$title, ""),
    fix = vapply(findings, pick_fix, ""),
    stringsAsFactors = FALSE
  )
}

.envdoctor_r_code <- function(findings, code = "ED701") {
  for (f in findings) {
    if (identical(f$code, code)) {
      lines <- vapply(Filter(function(x) identical(x$kind, "r"), f$fixes), function(x) x$text, "")
      if (length(lines)) return(paste(lines, collapse = "\n"))
    }
  }
  ""
}

# Which Python R is (or will be) bound to, and why, without starting Python.
.envdoctor_bound <- function() {
  if (!.envdoctor_initialized()) return(NULL)
  cfg <- reticulate::py_config()
  list(python = cfg$python, forced = if (is.null(cfg$forced)) "" else cfg$forced)
}

# reticulate >= 1.41 has py_require() and a new order of discovery (R/config.R
# py_discover_config() of 1.46.0): RETICULATE_PYTHON_FALLBACK then ranks below VIRTUAL_ENV,
# ./.venv, the delay-load environments of keras3/tensorflow (r-keras, r-tensorflow),
# r-<module> environments and use_python(required = FALSE).
.envdoctor_modern <- function(rv = .envdoctor_reticulate_version()) {
  nzchar(rv) && utils::compareVersion(rv, "1.41.0") >= 0
}

# Which variable envdoctor_use() sets, per mode and reticulate version (see envdoctor_use()).
.envdoctor_bind_var <- function(mode, modern) {
  if (mode == "force") return("RETICULATE_PYTHON")
  if (mode == "fallback" || !modern) return("RETICULATE_PYTHON_FALLBACK")
  # auto under >= 1.41: RETICULATE_PYTHON, unless the user set it (then nothing: it wins).
  current <- Sys.getenv("RETICULATE_PYTHON", unset = "")
  if (nzchar(current) && !identical(current, Sys.getenv("ENVDOCTOR_SET_RETICULATE_PYTHON")))
    return("none")
  "RETICULATE_PYTHON"
}

#' Point reticulate at a Python that can load `model`, before Python starts.
#'
#' Runs `envdoctor which --for-r --model MODEL` and tells reticulate, in the way that wins
#' under the installed reticulate:
#'
#' * reticulate < 1.41 (mode "auto"): RETICULATE_PYTHON_FALLBACK, so your own
#'   use_virtualenv()/use_python() and RETICULATE_PYTHON still win (reticulate 1.28
#'   R/config.R py_discover_config()).
#' * reticulate >= 1.41 (mode "auto"): RETICULATE_PYTHON.  In 1.46.0's
#'   R/config.R py_discover_config() it is the first thing read after a Python already in
#'   the process: it outranks RETICULATE_PYTHON_ENV, use_python(required = TRUE) (which
#'   then only warns, R/use_python.R use_python()), VIRTUAL_ENV, ./.venv, keras3's r-keras
#'   and tensorflow's r-tensorflow delay-load environments, RETICULATE_PYTHON_FALLBACK and
#'   the py_require() uv environment.  py_require() declarations do not move the binding:
#'   they only shape the uv environment; with another Python bound, reticulate just checks
#'   them (R/package.R check_virtualenv_required_packages(), a warning).  A
#'   RETICULATE_PYTHON you set yourself is kept: envdoctor then sets nothing and warns when
#'   that Python cannot load the model, naming the line to change and its file.
#'   KERAS_PYTHON / TENSORFLOW_PYTHON are copied over RETICULATE_PYTHON when keras3 /
#'   tensorflow load (their R/package.R .onLoad); envdoctor warns about those too.
#' * When no environment on the machine can load the model, under reticulate >= 1.41
#'   envdoctor declares the py_require() packages and python_version that make
#'   reticulate's own uv environment load it (`envdoctor r require MODEL`), sets
#'   RETICULATE_PYTHON = "managed" so that environment wins (R/config.R), says so, and
#'   returns the declaration.  Under older reticulate it stops with the closest
#'   environment and its fixes.
#'
#' If reticulate has already started Python it changes nothing: it says which Python R is
#' bound to, whether that one can load the model, and the line to put in
#' .Renviron/.Rprofile before restarting R.
#'
#' @param model path(s) of the saved model(s) the session will load.
#' @param python an interpreter to use instead of asking envdoctor which one.
#' @param mode "auto" (default, see above), "fallback" (always RETICULATE_PYTHON_FALLBACK),
#'   "force" (always RETICULATE_PYTHON, even over your own; for CI) or "require" (declare
#'   reticulate's own uv environment with py_require(); reticulate >= 1.41).
#' @param prefer a name or path fragment preferred among equally good environments.
#' @param quiet no messages on success.
#' @return the interpreter path, invisibly; for a py_require() declaration, invisibly a
#'   list(packages, python_version, env_vars, r_lines).
envdoctor_use <- function(model = NULL, python = NULL,
                          mode = c("auto", "fallback", "force", "require"),
                          prefer = NULL, quiet = FALSE) {
  mode <- match.arg(mode)
  if (.envdoctor_initialized()) return(invisible(.envdoctor_already(model)))
  if (is.null(model) && is.null(python)) stop("envdoctor_use() needs a model (or a python)", call. = FALSE)
  rv <- .envdoctor_reticulate_version()
  modern <- .envdoctor_modern(rv)
  if (mode == "require") return(invisible(.envdoctor_require(model, rv, modern, quiet, character())))
  var <- .envdoctor_bind_var(mode, modern)
  notes <- character()
  if (is.null(python)) {
    args <- c("which", "--for-r", as.vector(rbind("--model", model)))
    if (!is.null(prefer)) args <- c(args, "--prefer", prefer)
    if (var != "RETICULATE_PYTHON_FALLBACK") args <- c(args, "--r-sets", var)
    res <- envdoctor_run(args)
    notes <- res$stderr
    if (res$status != 0L || !length(res$stdout)) {
      if (modern && mode == "auto" && res$status == 1L)
        return(invisible(.envdoctor_require(model, rv, modern, quiet, notes)))
      stop(paste(c(sprintf("envdoctor: no Python that R can use can load %s.", paste(model, collapse = ", ")),
                   notes,
                   "Apply a fix above, or point R at a Python yourself: RETICULATE_PYTHON in .Renviron."),
                 collapse = "\n"), call. = FALSE)
    }
    python <- res$stdout[length(res$stdout)]
  } else if (!file.exists(python)) {
    stop("envdoctor_use(): ", python, " does not exist", call. = FALSE)
  }
  blocked <- grepl("^envdoctor: cannot win", notes)
  if (var != "none") {
    do.call(Sys.setenv, stats::setNames(list(python), var))
    if (var == "RETICULATE_PYTHON") Sys.setenv(ENVDOCTOR_SET_RETICULATE_PYTHON = python)
  }
  for (n in notes[blocked]) warning(n, call. = FALSE)
  if (!quiet) {
    for (n in notes[!blocked]) message(n)
    what <- if (is.null(model)) "" else paste0(" for ", paste(model, collapse = ", "))
    if (var == "none") {
      message(sprintf("envdoctor: set nothing: your RETICULATE_PYTHON=%s is kept", Sys.getenv("RETICULATE_PYTHON")))
    } else if (var == "RETICULATE_PYTHON" && mode == "auto") {
      message(sprintf("envdoctor: RETICULATE_PYTHON=%s%s (reticulate %s: RETICULATE_PYTHON outranks py_require(), use_python(), r-keras and RETICULATE_PYTHON_FALLBACK)",
                      python, what, rv))
    } else {
      message(sprintf("envdoctor: %s=%s%s", var, python, what))
    }
  }
  invisible(python)
}

# No environment can load the model (or mode = "require"): declare reticulate's own uv
# environment with py_require() (reticulate >= 1.41, R/py_require.R), and make it win with
# RETICULATE_PYTHON = "managed" (R/config.R py_discover_config() returns the ephemeral
# environment at once for that value).
.envdoctor_require <- function(model, rv, modern, quiet, notes) {
  names <- paste(model, collapse = ", ")
  if (!modern)
    stop(sprintf("envdoctor_use(mode = \"require\"): py_require() needs reticulate >= 1.41 (this is %s)",
                 if (nzchar(rv)) rv else "no reticulate"), call. = FALSE)
  res <- envdoctor_run(c("r", "require", model, "--format", "json"))
  req <- tryCatch(.envdoctor_json(res, "require"), error = function(e) NULL)
  if (is.null(req) || length(req$errors)) {
    stop(paste(c(sprintf("envdoctor: no Python that R can use can load %s, and no py_require() declaration envdoctor knows would.", names),
                 notes, res$stderr,
                 if (!is.null(req)) paste("declared environment would still fail:", paste(unlist(req$errors), collapse = ", "))),
               collapse = "\n"), call. = FALSE)
  }
  current <- Sys.getenv("RETICULATE_PYTHON", unset = "")
  if (nzchar(current) && current != "managed" &&
      !identical(current, Sys.getenv("ENVDOCTOR_SET_RETICULATE_PYTHON"))) {
    warning(sprintf(paste("envdoctor: cannot win: RETICULATE_PYTHON is set to %s; it outranks reticulate's",
                          "py_require() environment (R/config.R py_discover_config()). Remove it (.Renviron",
                          "or the environment R starts from) for the declaration below to apply."), current),
            call. = FALSE)
  } else {
    Sys.setenv(RETICULATE_PYTHON = "managed")
    Sys.setenv(ENVDOCTOR_SET_RETICULATE_PYTHON = "managed")
  }
  env_vars <- unlist(req$env_vars)
  if (length(env_vars)) do.call(Sys.setenv, as.list(env_vars))
  packages <- unlist(req$packages)
  reticulate::py_require(packages, python_version = req$python_version)
  lines <- unlist(req$r_lines)
  if (!quiet) {
    message(paste(c(
      sprintf("envdoctor: no environment on this machine can load %s; declared reticulate's own uv environment (%s):", names, req$label),
      paste0("  ", lines),
      "reticulate builds it with uv when Python starts (machines without downloadable Pythons: Sys.setenv(UV_PYTHON_PREFERENCE = \"only-system\"))."),
      collapse = "\n"))
  }
  list(packages = packages, python_version = req$python_version, env_vars = env_vars, r_lines = lines)
}

# reticulate already started Python: say what it is bound to and the fix; change nothing.
.envdoctor_already <- function(model) {
  bound <- .envdoctor_bound()
  head <- sprintf("envdoctor: reticulate is already bound to %s%s; it cannot switch in this R session.",
                  bound$python, if (nzchar(bound$forced)) paste0(" (chosen by ", bound$forced, ")") else "")
  if (is.null(model)) {
    message(head)
    return(bound$python)
  }
  res <- envdoctor_run(c("r", "check", model, "--python", bound$python, "--format", "json"))
  data <- tryCatch(.envdoctor_json(res, "use"), error = function(e) NULL)
  statuses <- if (is.null(data)) "unknown" else vapply(data$verdicts, function(v) v$status, "")
  if (length(statuses) && all(statuses != "error") && !identical(statuses, "unknown")) {
    message(head, "\n", sprintf("envdoctor: %s can load %s: nothing to do.", bound$python, paste(model, collapse = ", ")))
    return(bound$python)
  }
  codes <- if (is.null(data)) character() else unique(unlist(lapply(data$verdicts, function(v) unlist(v$codes))))
  alt <- envdoctor_run(c("which", "--for-r", as.vector(rbind("--model", model))))
  target <- if (alt$status == 0L && length(alt$stdout)) alt$stdout[length(alt$stdout)] else ""
  lines <- c(head,
             sprintf("envdoctor: %s cannot load %s (%s).", bound$python, paste(model, collapse = ", "),
                     paste(codes, collapse = ", ")))
  if (nzchar(target)) {
    lines <- c(lines,
               sprintf("Fix: add this line to ~/.Renviron (or the project's .Renviron):\n  RETICULATE_PYTHON=%s", target),
               sprintf("  or to .Rprofile, before anything starts Python:\n  envdoctor_use(\"%s\")", model[1]),
               "then restart R (RStudio: Session > Restart R).")
  } else {
    lines <- c(lines, alt$stderr, "No environment on this machine can load it; apply a fix above, then restart R.")
  }
  warning(paste(lines, collapse = "\n"), call. = FALSE)
  bound$python
}

.envdoctor_result <- function(data, summary, r_code = "") {
  findings <- data$findings
  df <- .envdoctor_frame(findings)
  attr(df, "summary") <- summary
  attr(df, "r_code") <- r_code
  attr(df, "findings") <- findings
  class(df) <- c("envdoctor_findings", "data.frame")
  df
}

#' Check models against the Python R is bound to (or would bind), from R.
#'
#' @param model path(s) of saved models.
#' @param python the interpreter to check (default: the one this session is bound to, else
#'   the one reticulate would bind in this directory).
#' @return a data.frame of findings (code, severity, title, fix) with a readable summary
#'   (printed) and, in attr(x, "r_code"), R code that loads the model and builds a correctly
#'   shaped float32 input.
envdoctor_check <- function(model, python = NULL) {
  if (is.null(python)) {
    bound <- .envdoctor_bound()
    if (!is.null(bound)) python <- bound$python
  }
  args <- c("r", "check", model, "--format", "json")
  if (!is.null(python)) args <- c(args, "--python", python)
  res <- envdoctor_run(args)
  data <- .envdoctor_json(res, "check")
  target <- data$reticulate$checked_python
  binding <- data$reticulate$binding
  why <- if (!is.null(python)) "the Python this session is bound to" else binding$reason
  lines <- sprintf("envdoctor: checked against %s (%s)", if (nzchar(target)) target else "no Python", why)
  if (nzchar(binding$error) && is.null(python)) lines <- c(lines, paste("reticulate would stop:", binding$error))
  for (v in data$verdicts) {
    verdict <- switch(v$status, error = "will NOT load or run", warning = "should load, with warnings",
                      "should load and run")
    codes <- unlist(v$codes)
    lines <- c(lines, sprintf("  %s %s%s", v$model, verdict,
                              if (length(codes)) paste0(" (", paste(codes, collapse = ", "), ")") else ""))
  }
  counts <- data$summary$counts
  lines <- c(lines, sprintf("  %d error(s), %d warning(s), %d note(s)", counts$error, counts$warning, counts$info))
  .envdoctor_result(data, paste(lines, collapse = "\n"), .envdoctor_r_code(data$findings))
}

#' Explain an error caught in R (a condition, its message, or reticulate::py_last_error()).
#'
#' @param error a condition from tryCatch(), a character string, or py_last_error();
#'   missing: the last error of this session (reticulate::py_last_error() when Python
#'   raised it, else geterrmessage()), so `envdoctor_explain()` right after a failure works.
#' @param model the model being loaded, if any (adds the real check and R input code).
#' @param python the interpreter (default: the one this session is bound to).
#' @return a data.frame of findings (code, severity, title, fix), printed with a summary.
envdoctor_explain <- function(error = NULL, model = NULL, python = NULL) {
  if (is.null(error)) {
    last <- if ("reticulate" %in% loadedNamespaces())
      tryCatch(reticulate::py_last_error(), error = function(e) NULL) else NULL
    r_msg <- geterrmessage()
    error <- if (!is.null(last) && is.list(last)) {
      parts <- unlist(last[intersect(c("type", "value", "traceback"), names(last))])
      paste(c(if (nzchar(r_msg)) r_msg, parts), collapse = "\n")
    } else r_msg
    if (!nzchar(paste(error, collapse = "")))
      stop("envdoctor_explain(): no error in this session yet; pass the error (a condition ",
           "from tryCatch(), or its text)", call. = FALSE)
  }
  text <- if (inherits(error, "condition")) conditionMessage(error)
          else if (is.list(error)) paste(unlist(error[intersect(c("type", "value", "message", "traceback"), names(error))]), collapse = "\n")
          else paste(as.character(error), collapse = "\n")
  if (inherits(error, "condition") && "reticulate" %in% loadedNamespaces()) {
    last <- tryCatch(reticulate::py_last_error(), error = function(e) NULL)
    if (!is.null(last) && is.list(last))
      text <- paste(c(text, unlist(last[intersect(c("type", "value", "traceback"), names(last))])), collapse = "\n")
  }
  if (is.null(python)) {
    bound <- .envdoctor_bound()
    if (!is.null(bound)) python <- bound$python
  }
  file <- tempfile("envdoctor-error-")
  on.exit(unlink(file), add = TRUE)
  writeLines(text, file)
  args <- c("r", "explain", "--error-file", file, "--format", "json")
  if (!is.null(model)) args <- c(args, "--model", model)
  if (!is.null(python)) args <- c(args, "--python", python)
  data <- .envdoctor_json(envdoctor_run(args), "explain")
  summary <- if (isTRUE(data$recognized)) {
    paste(c("envdoctor: this error means:",
            vapply(data$findings, function(f) sprintf("  %s %s: %s", f$code, f$title, f$detail), "")),
          collapse = "\n")
  } else {
    "envdoctor does not recognise this error; envdoctor_check(model) says what fails where."
  }
  code <- if (!is.null(model)) {
    chk <- tryCatch(envdoctor_check(model, python), error = function(e) NULL)
    if (is.null(chk)) "" else attr(chk, "r_code")
  } else ""
  .envdoctor_result(data, summary, code)
}

print.envdoctor_findings <- function(x, ...) {
  cat(attr(x, "summary"), "\n", sep = "")
  if (nrow(x)) {
    shown <- x
    class(shown) <- "data.frame"
    attr(shown, "summary") <- attr(shown, "r_code") <- attr(shown, "findings") <- NULL
    print(shown, right = FALSE, row.names = FALSE)
  }
  code <- attr(x, "r_code")
  if (!is.null(code) && nzchar(code)) cat("\n# R code that loads the model and builds its input:\n", code, "\n", sep = "")
  invisible(x)
}

# Register the print method: R >= 4.0 looks S3 methods up in the global environment and the
# registry, not along the search path, so a copy attached with sys.source() needs this.
registerS3method("print", "envdoctor_findings", print.envdoctor_findings)
