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

#' Point reticulate at a Python that can load `model`, before Python starts.
#'
#' Runs `envdoctor which --for-r --model MODEL` and sets RETICULATE_PYTHON_FALLBACK
#' (mode "fallback": your own use_virtualenv()/use_python() and RETICULATE_PYTHON still win)
#' or RETICULATE_PYTHON (mode "force", for CI).  If reticulate has already started Python it
#' changes nothing: it says which Python R is bound to, whether that one can load the model,
#' and the line to put in .Renviron/.Rprofile before restarting R.
#'
#' @param model path(s) of the saved model(s) the session will load.
#' @param python an interpreter to use instead of asking envdoctor which one.
#' @param mode "fallback" (default) or "force".
#' @param prefer a name or path fragment preferred among equally good environments.
#' @param quiet no messages on success.
#' @return the interpreter path, invisibly.
envdoctor_use <- function(model = NULL, python = NULL, mode = c("fallback", "force"),
                          prefer = NULL, quiet = FALSE) {
  mode <- match.arg(mode)
  var <- if (mode == "force") "RETICULATE_PYTHON" else "RETICULATE_PYTHON_FALLBACK"
  if (.envdoctor_initialized()) return(invisible(.envdoctor_already(model)))
  if (is.null(model) && is.null(python)) stop("envdoctor_use() needs a model (or a python)", call. = FALSE)
  notes <- character()
  if (is.null(python)) {
    args <- c("which", "--for-r", as.vector(rbind("--model", model)))
    if (!is.null(prefer)) args <- c(args, "--prefer", prefer)
    res <- envdoctor_run(args)
    notes <- res$stderr
    if (res$status != 0L || !length(res$stdout)) {
      stop(paste(c(sprintf("envdoctor: no Python that R can use can load %s.", paste(model, collapse = ", ")),
                   notes,
                   "Apply a fix above, or point R at a Python yourself: RETICULATE_PYTHON in .Renviron."),
                 collapse = "\n"), call. = FALSE)
    }
    python <- res$stdout[length(res$stdout)]
  } else if (!file.exists(python)) {
    stop("envdoctor_use(): ", python, " does not exist", call. = FALSE)
  }
  do.call(Sys.setenv, stats::setNames(list(python), var))
  if (!quiet) {
    for (n in notes) message(n)
    what <- if (is.null(model)) "" else paste0(" for ", paste(model, collapse = ", "))
    message(sprintf("envdoctor: %s=%s%s", var, python, what))
  }
  invisible(python)
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
