# Reference values from R (metafor's rma.mv, clubSandwich's CR2) for metasift's multilevel
# models and cluster-robust inference.
#
# Run from the repository root:   Rscript benchmarks/multilevel_reference.R
# Needs: apt-get install r-cran-metafor r-cran-metadat r-cran-clubsandwich r-cran-jsonlite
#
# Writes
#   tests/fixtures/multilevel/<dataset>.csv      the metadat datasets the tests read
#   tests/fixtures/multilevel/reference.json     every statistic the tests compare
#
# The reference is the maximum of metafor's likelihood, not where its optimiser stops: nlminb
# runs with tight tolerances, Newton steps on the score equations finish the job (see polish()),
# and metafor refits with sigma2 fixed at the result, so every number is still metafor's. The
# script prints how far nlminb's own stop was from that maximum, and the JSON keeps it.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(clubSandwich)
  library(jsonlite)
})

out_dir <- "tests/fixtures/multilevel"
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

datasets <- list(
  konstantopoulos2011 = dat.konstantopoulos2011,
  assink2016 = dat.assink2016,
  bornmann2007 = dat.bornmann2007
)
for (name in names(datasets)) {
  d <- datasets[[name]]
  rownames(d) <- NULL
  write.csv(d, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE, na = "")
  # Compute from what was written so both sides read the same numbers.
  datasets[[name]] <- read.csv(file.path(out_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
}

# name, dataset, random formulas, method, moderators, cluster, effect-size spec
cases <- list(
  list(name = "konstantopoulos_reml", dataset = "konstantopoulos2011",
       random = c("~ 1 | district/school"), method = "REML", mods = character(0),
       cluster = "district"),
  list(name = "konstantopoulos_ml", dataset = "konstantopoulos2011",
       random = c("~ 1 | district/school"), method = "ML", mods = character(0),
       cluster = "district"),
  list(name = "konstantopoulos_reml_year", dataset = "konstantopoulos2011",
       random = c("~ 1 | district/school"), method = "REML", mods = c("year"),
       cluster = "district"),
  list(name = "konstantopoulos_two_terms", dataset = "konstantopoulos2011",
       random = c("~ 1 | district", "~ 1 | study"), method = "REML", mods = character(0),
       cluster = "district"),
  list(name = "assink_reml", dataset = "assink2016",
       random = c("~ 1 | study/esid"), method = "REML", mods = character(0),
       cluster = "study"),
  list(name = "assink_ml", dataset = "assink2016",
       random = c("~ 1 | study/esid"), method = "ML", mods = character(0),
       cluster = "study"),
  list(name = "assink_reml_deltype", dataset = "assink2016",
       random = c("~ 1 | study/esid"), method = "REML", mods = c("deltype"),
       cluster = "study"),
  list(name = "bornmann_reml", dataset = "bornmann2007",
       random = c("~ 1 | study/obs"), method = "REML", mods = character(0),
       cluster = "study",
       escalc = list(measure = "OR", ai = "waward", n1i = "wtotal", ci = "maward",
                     n2i = "mtotal")),
  list(name = "bornmann_three_levels", dataset = "bornmann2007",
       random = c("~ 1 | country/study/obs"), method = "REML", mods = character(0),
       cluster = "country",
       escalc = list(measure = "OR", ai = "waward", n1i = "wtotal", ci = "maward",
                     n2i = "mtotal")),
  list(name = "bornmann_ml_type", dataset = "bornmann2007",
       random = c("~ 1 | study/obs"), method = "ML", mods = c("type"),
       cluster = "study",
       escalc = list(measure = "OR", ai = "waward", n1i = "wtotal", ci = "maward",
                     n2i = "mtotal"))
)

# rma.mv evaluates its arguments in the data, so the call is built rather than written out.
fit_mv <- function(dat, random, method, mods_formula, ...) {
  args <- list(yi = dat$yi, V = dat$vi, random = random, data = dat, method = method, ...)
  if (!is.null(mods_formula)) args$mods <- mods_formula
  do.call(rma.mv, args)
}

# Grouping of each variance component, from its name in metafor's s.names ("district",
# "district/school"): rows in the same group share that random effect.
groups_of <- function(dat, s_names) {
  lapply(s_names, function(name) {
    cols <- strsplit(name, "/", fixed = TRUE)[[1]]
    do.call(paste, c(lapply(cols, function(col) dat[[col]]), sep = "\r"))
  })
}

# Newton steps on the score equations of the (restricted) likelihood in sigma2, from nlminb's
# solution: nlminb works on log(sigma2) with finite-difference gradients, which leaves sigma2
# off the maximum by up to ~1e-6 (relative). The textbook score and observed information
# (Harville 1977) take it the rest of the way; metafor then refits at the polished sigma2, so
# every statistic of the reference is still metafor's own.
polish <- function(fit, dat, method) {
  G <- lapply(groups_of(dat, fit$s.names), function(g) outer(g, g, "==") * 1)
  y <- fit$yi
  X <- fit$X
  V <- diag(fit$vi, nrow = length(y))
  sigma2 <- fit$sigma2
  for (iter in 1:50) {
    M <- V + Reduce(`+`, Map(`*`, sigma2, G))
    Mi <- chol2inv(chol(M))
    P <- Mi - Mi %*% X %*% solve(t(X) %*% Mi %*% X, t(X) %*% Mi)
    A <- if (method == "REML") P else Mi
    u <- P %*% y
    AG <- lapply(G, function(g) A %*% g)
    score <- sapply(seq_along(G), function(j) -sum(diag(AG[[j]])) / 2 + sum(u * (G[[j]] %*% u)) / 2)
    H <- outer(seq_along(G), seq_along(G), Vectorize(function(j, l) {
      sum(AG[[j]] * t(AG[[l]])) / 2 - as.numeric(t(u) %*% G[[j]] %*% P %*% G[[l]] %*% u)
    }))
    step <- -solve(H, score)
    sigma2 <- pmax(sigma2 + step, 0)
    if (max(abs(step)) < 1e-15 * max(sigma2)) break
  }
  list(sigma2 = sigma2, score = max(abs(score)))
}

reference <- list()
for (case in cases) {
  dat <- datasets[[case$dataset]]
  if (!is.null(case$escalc)) {
    spec <- case$escalc
    dat <- escalc(measure = spec$measure, ai = dat[[spec$ai]], n1i = dat[[spec$n1i]],
                  ci = dat[[spec$ci]], n2i = dat[[spec$n2i]], data = dat)
  }
  random <- lapply(case$random, as.formula)
  if (length(random) == 1) random <- random[[1]]
  mods_formula <- if (length(case$mods)) as.formula(paste("~", paste(case$mods, collapse = " + "))) else NULL
  # nlminb reports false convergence on some likelihoods at the tightest tolerance; the next
  # one down is then used (the score printed below shows how close each fit got).
  fit <- NULL
  for (tol in c(1e-12, 1e-11, 1e-10, 1e-9)) {
    fit <- tryCatch(fit_mv(dat, random, case$method, mods_formula,
                           control = list(rel.tol = tol, iter.max = 10000, eval.max = 10000)),
                    error = function(e) NULL)
    if (!is.null(fit)) break
  }
  if (is.null(fit)) fit <- fit_mv(dat, random, case$method, mods_formula)
  free <- fit
  polished <- polish(free, dat, case$method)
  fit <- fit_mv(dat, random, case$method, mods_formula, sigma2 = polished$sigma2)
  gain <- as.numeric(logLik(fit)) - as.numeric(logLik(free))
  if (gain < -1e-12) stop(case$name, ": polishing lowered the likelihood by ", -gain)
  clusters <- dat[[case$cluster]]
  rob <- robust(fit, cluster = clusters, clubSandwich = TRUE)
  # Fit statistics come from the free fit: the refit with sigma2 fixed counts fewer parameters
  # (AIC, BIC), and the log-likelihood moves by ~1e-14 between the two.
  fs <- free$fit.stats[, case$method]
  reference[[case$name]] <- list(
    dataset = case$dataset,
    random = I(case$random),
    method = case$method,
    mods = I(case$mods),
    cluster = case$cluster,
    escalc = if (is.null(case$escalc)) NULL else case$escalc,
    k = fit$k,
    coef_names = I(rownames(fit$beta)),
    b = I(as.numeric(fit$beta)),
    se = I(as.numeric(fit$se)),
    zval = I(as.numeric(fit$zval)),
    pval = I(as.numeric(fit$pval)),
    ci_lb = I(as.numeric(fit$ci.lb)),
    ci_ub = I(as.numeric(fit$ci.ub)),
    vb = unname(fit$vb),
    sigma2 = I(as.numeric(fit$sigma2)),
    s_names = I(fit$s.names),
    s_nlevels = I(as.numeric(fit$s.nlevels)),
    QE = fit$QE,
    QEp = fit$QEp,
    QM = fit$QM,
    QMp = fit$QMp,
    logLik = fs[1],
    deviance = fs[2],
    AIC = fs[3],
    BIC = fs[4],
    AICc = fs[5],
    sigma2_nlminb = I(free$sigma2),
    max_score = polished$score,
    robust = list(
      se = I(as.numeric(rob$se)),
      tval = I(as.numeric(rob$zval)),
      df = I(as.numeric(rob$dfs)),
      pval = I(as.numeric(rob$pval)),
      ci_lb = I(as.numeric(rob$ci.lb)),
      ci_ub = I(as.numeric(rob$ci.ub)),
      vb = unname(as.matrix(rob$vb)),
      # the test of the moderators: clubSandwich's Wald_test, HTZ (a t test when int-only)
      QM = rob$QM,
      QMdf = I(as.numeric(rob$QMdf)),
      QMp = rob$QMp,
      n_clusters = rob$n
    ),
    printed = paste(capture.output(print(free)), collapse = "\n")
  )
  cat(sprintf("%-28s sigma2 = %s  max |score| = %.1e  nlminb was off by %.1e (relative)\n",
              case$name, paste(signif(fit$sigma2, 8), collapse = ", "), polished$score,
              max(abs(free$sigma2 / fit$sigma2 - 1))))
}
reference <- c(list(versions = list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  clubSandwich = as.character(packageVersion("clubSandwich"))
)), reference)
writeLines(toJSON(reference, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "reference.json"))
cat("wrote", file.path(out_dir, "reference.json"), "\n")
