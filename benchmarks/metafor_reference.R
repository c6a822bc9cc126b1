# Reference values from R's metafor for metasift's synthesis tests.
#
# Run from the repository root:   Rscript benchmarks/metafor_reference.R
# Needs: apt-get install r-cran-metafor r-cran-metadat r-cran-jsonlite
#
# Writes
#   tests/synthesis/data/<dataset>.csv          the metadat datasets the tests read
#   tests/synthesis/reference/metafor.json      every statistic the tests compare
#
# Iterative estimators run with tight control (threshold ~1e-14 of the data's variance scale,
# uniroot tolerance ~machine precision, many iterations) so that the reference is the converged
# solution rather than metafor's default stopping point (which is off by up to ~1e-5 in tau2).

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_data <- "tests/synthesis/data"
out_ref <- "tests/synthesis/reference"
dir.create(out_data, recursive = TRUE, showWarnings = FALSE)
dir.create(out_ref, recursive = TRUE, showWarnings = FALSE)

# ---- datasets --------------------------------------------------------------------------------
yusuf <- dat.yusuf1985[dat.yusuf1985$table == "9", c("id", "trial", "ai", "n1i", "ci", "n2i")]
datasets <- list(
  bcg = dat.bcg,
  normand1999 = dat.normand1999,
  molloy2014 = dat.molloy2014,
  pritz1997 = dat.pritz1997,
  hart1999 = dat.hart1999,
  hackshaw1998 = dat.hackshaw1998,
  egger2001 = dat.egger2001,
  raudenbush1985 = dat.raudenbush1985,
  nielweise2007 = dat.nielweise2007,
  yusuf1985_9 = yusuf
)
for (name in names(datasets)) {
  d <- datasets[[name]]
  rownames(d) <- NULL
  write.csv(d, file.path(out_data, paste0(name, ".csv")), row.names = FALSE, na = "")
  # Tests read the CSV; compute from what was written so both sides see the same numbers.
  datasets[[name]] <- read.csv(file.path(out_data, paste0(name, ".csv")), stringsAsFactors = FALSE)
}

control_for <- function(yi, vi) {
  scale <- max(var(yi), mean(vi), na.rm = TRUE)
  list(threshold = 1e-14 * scale, tol = 1e-15, maxiter = 10000)
}
# tau2.max far above metafor's default of 100, so the interval's true upper end is found.
ci_control <- list(tol = 1e-15, maxiter = 10000, tau2.max = 1e6)

# JSON has no infinity: non-finite numbers are written as the strings "Inf" and "-Inf".
num <- function(x) {
  if (is.null(x)) return(NULL)
  x <- unname(as.numeric(x))
  if (any(is.infinite(x))) return(lapply(x, function(v) if (is.infinite(v)) format(v) else v))
  x
}

# ---- escalc ----------------------------------------------------------------------------------
escalc_specs <- list(
  list(name = "bcg_RR", dataset = "bcg", measure = "RR",
       columns = list(ai = "tpos", bi = "tneg", ci = "cpos", di = "cneg")),
  list(name = "bcg_OR", dataset = "bcg", measure = "OR",
       columns = list(ai = "tpos", bi = "tneg", ci = "cpos", di = "cneg")),
  list(name = "bcg_RD", dataset = "bcg", measure = "RD",
       columns = list(ai = "tpos", bi = "tneg", ci = "cpos", di = "cneg")),
  list(name = "bcg_PETO", dataset = "bcg", measure = "PETO",
       columns = list(ai = "tpos", bi = "tneg", ci = "cpos", di = "cneg")),
  list(name = "nielweise_OR", dataset = "nielweise2007", measure = "OR",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  list(name = "nielweise_RR", dataset = "nielweise2007", measure = "RR",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  list(name = "nielweise_RD", dataset = "nielweise2007", measure = "RD",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  list(name = "nielweise_PETO", dataset = "nielweise2007", measure = "PETO",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  list(name = "nielweise_OR_all", dataset = "nielweise2007", measure = "OR",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i"),
       options = list(add = 0.5, to = "all")),
  list(name = "nielweise_OR_if0all", dataset = "nielweise2007", measure = "OR",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i"),
       options = list(add = 0.25, to = "if0all")),
  list(name = "nielweise_RR_none", dataset = "nielweise2007", measure = "RR",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i"),
       options = list(to = "none")),
  list(name = "yusuf_OR", dataset = "yusuf1985_9", measure = "OR",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  list(name = "yusuf_OR_drop00", dataset = "yusuf1985_9", measure = "OR",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i"),
       options = list(drop00 = TRUE)),
  list(name = "egger_OR", dataset = "egger2001", measure = "OR",
       columns = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  list(name = "normand_MD", dataset = "normand1999", measure = "MD",
       columns = list(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i")),
  list(name = "normand_SMD", dataset = "normand1999", measure = "SMD",
       columns = list(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i")),
  list(name = "normand_ROM", dataset = "normand1999", measure = "ROM",
       columns = list(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i")),
  list(name = "molloy_COR", dataset = "molloy2014", measure = "COR",
       columns = list(ri = "ri", ni = "ni")),
  list(name = "molloy_ZCOR", dataset = "molloy2014", measure = "ZCOR",
       columns = list(ri = "ri", ni = "ni")),
  list(name = "pritz_PR", dataset = "pritz1997", measure = "PR",
       columns = list(xi = "xi", ni = "ni")),
  list(name = "pritz_PLO", dataset = "pritz1997", measure = "PLO",
       columns = list(xi = "xi", ni = "ni")),
  list(name = "pritz_PAS", dataset = "pritz1997", measure = "PAS",
       columns = list(xi = "xi", ni = "ni")),
  list(name = "hart_IRR", dataset = "hart1999", measure = "IRR",
       columns = list(x1i = "x1i", t1i = "t1i", x2i = "x2i", t2i = "t2i")),
  list(name = "hackshaw_yivi", dataset = "hackshaw1998", measure = "GEN",
       columns = list(yi = "yi", vi = "vi")),
  list(name = "raudenbush_yivi", dataset = "raudenbush1985", measure = "GEN",
       columns = list(yi = "yi", vi = "vi"))
)

effects <- list()
escalc_out <- list()
for (spec in escalc_specs) {
  d <- datasets[[spec$dataset]]
  if (spec$measure == "GEN") {
    yi <- d[[spec$columns$yi]]
    vi <- d[[spec$columns$vi]]
  } else {
    args <- c(list(measure = spec$measure), lapply(spec$columns, function(col) d[[col]]),
              if (is.null(spec$options)) list() else spec$options)
    es <- suppressWarnings(do.call(escalc, args))
    yi <- as.numeric(es$yi)
    vi <- as.numeric(es$vi)
  }
  effects[[spec$name]] <- list(yi = yi, vi = vi, data = d)
  escalc_out[[length(escalc_out) + 1]] <- c(spec[c("name", "dataset", "measure", "columns")],
    list(options = if (is.null(spec$options)) setNames(list(), character(0)) else spec$options,
         yi = yi, vi = vi))
}

# ---- rma -------------------------------------------------------------------------------------
fit_record <- function(res, with_ci = TRUE) {
  rec <- list(b = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
              ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), coef_names = rownames(res$beta),
              tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), I2 = num(res$I2), H2 = num(res$H2),
              QE = num(res$QE), QEp = num(res$QEp), QM = num(res$QM), QMp = num(res$QMp),
              QMdf = num(res$QMdf), k = res$k, p = res$p, ddf = num(res$ddf))
  if (!is.null(res$R2)) rec$R2 <- num(res$R2)
  if (res$int.only) {
    pr <- predict(res)
    rec$pi_lb <- num(pr$pi.lb)
    rec$pi_ub <- num(pr$pi.ub)
  }
  if (with_ci && !is.element(res$method, c("FE", "EE")) && res$k > res$p && res$k > 1) {
    ci <- confint(res, control = ci_control)
    rec$tau2_ci_lb <- num(ci$random["tau^2", "ci.lb"])
    rec$tau2_ci_ub <- num(ci$random["tau^2", "ci.ub"])
    rec$I2_ci_lb <- num(ci$random["I^2(%)", "ci.lb"])
    rec$I2_ci_ub <- num(ci$random["I^2(%)", "ci.ub"])
    rec$H2_ci_lb <- num(ci$random["H^2", "ci.lb"])
    rec$H2_ci_ub <- num(ci$random["H^2", "ci.ub"])
  }
  rec
}

methods <- c("EE", "FE", "DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS")
grid_effects <- c("bcg_RR", "normand_SMD", "molloy_ZCOR", "pritz_PLO", "hart_IRR",
                  "hackshaw_yivi", "raudenbush_yivi", "nielweise_OR", "normand_ROM", "yusuf_OR")
rma_out <- list()
fit_case <- function(name, effect, method, test, mods = NULL, yi = NULL, vi = NULL) {
  e <- effects[[effect]]
  if (is.null(yi)) yi <- e$yi
  if (is.null(vi)) vi <- e$vi
  ctl <- control_for(yi[!is.na(yi)], vi[!is.na(vi)])
  if (is.null(mods)) {
    res <- suppressWarnings(rma(yi, vi, method = method, test = test, control = ctl))
  } else {
    f <- as.formula(paste("~", paste(mods, collapse = " + ")))
    d <- e$data
    d$yi <- yi
    d$vi <- vi
    res <- suppressWarnings(rma(yi, vi, mods = f, data = d, method = method, test = test,
                                control = ctl))
  }
  list(name = name, effect = effect, method = method, test = test,
       mods = if (is.null(mods)) list() else as.list(mods), result = fit_record(res))
}

for (effect in grid_effects) {
  for (method in methods) {
    for (test in c("z", "knha")) {
      rma_out[[length(rma_out) + 1]] <- fit_case(paste(effect, method, test, sep = "_"), effect,
                                                 method, test)
    }
  }
}
mods_cases <- list(
  list(effect = "bcg_RR", mods = c("ablat")),
  list(effect = "bcg_RR", mods = c("ablat", "year")),
  list(effect = "bcg_RR", mods = c("alloc")),
  list(effect = "raudenbush_yivi", mods = c("weeks")),
  list(effect = "molloy_ZCOR", mods = c("meanage", "controls")),
  list(effect = "hackshaw_yivi", mods = c("design"))
)
for (mc in mods_cases) {
  for (method in c("FE", "DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS")) {
    for (test in c("z", "knha")) {
      rma_out[[length(rma_out) + 1]] <- fit_case(
        paste(mc$effect, paste(mc$mods, collapse = "+"), method, test, sep = "_"), mc$effect,
        method, test, mods = mc$mods)
    }
  }
}

# Edge cases: one study; identical effects (every yi equal, BCG variances); tau2 at the boundary
# (normand MD is heterogeneous, raudenbush ML is near the boundary; hart IRR REML gives 0).
one <- effects[["bcg_RR"]]
for (method in c("FE", "DL", "REML")) {
  for (test in c("z", "knha")) {
    res <- suppressWarnings(rma(one$yi[1], one$vi[1], method = method, test = test))
    rma_out[[length(rma_out) + 1]] <- list(name = paste("one_study", method, test, sep = "_"),
      effect = "bcg_RR", rows = list(0), method = method, test = test, mods = list(),
      result = fit_record(res, with_ci = FALSE))
  }
}
for (method in c("FE", "DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS")) {
  for (test in c("z", "knha")) {
    yi <- rep(0.25, length(one$yi))
    r <- fit_case(paste("identical", method, test, sep = "_"), "bcg_RR", method, test,
                  yi = yi)
    r$identical_yi <- 0.25
    rma_out[[length(rma_out) + 1]] <- r
  }
}

# ---- subgroups --------------------------------------------------------------------------------
subgroup_out <- list()
for (sc in list(list(effect = "bcg_RR", by = "alloc"), list(effect = "hackshaw_yivi", by = "design"),
                list(effect = "raudenbush_yivi", by = "tester"))) {
  for (method in c("FE", "DL", "REML")) {
    for (test in c("z", "knha")) {
      e <- effects[[sc$effect]]
      g <- e$data[[sc$by]]
      ctl <- control_for(e$yi, e$vi)
      groups <- sort(unique(g))
      per <- list()
      bs <- c()
      ses <- c()
      for (lev in groups) {
        sel <- g == lev
        res <- suppressWarnings(rma(e$yi[sel], e$vi[sel], method = method, test = test,
                                    control = control_for(e$yi[sel], e$vi[sel])))
        per[[length(per) + 1]] <- c(list(group = lev), fit_record(res))
        bs <- c(bs, res$beta[1])
        ses <- c(ses, res$se)
      }
      d <- e$data
      d$yi <- e$yi
      d$vi <- e$vi
      fm <- as.formula(paste("~", sc$by))
      joint <- suppressWarnings(rma(yi, vi, mods = fm, data = d, method = method, test = test,
                                    control = ctl))
      between <- rma(bs, sei = ses, method = "FE")
      subgroup_out[[length(subgroup_out) + 1]] <- list(
        name = paste(sc$effect, sc$by, method, test, sep = "_"), effect = sc$effect,
        by = sc$by, method = method, test = test, groups = per,
        QM = num(joint$QM), QMp = num(joint$QMp), QMdf = num(joint$QMdf),
        Qb = num(between$QE), Qbp = num(between$QEp), Qb_df = length(groups) - 1)
    }
  }
}

# ---- Mantel-Haenszel and Peto -------------------------------------------------------------
mh_rec <- function(res) {
  list(b = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
       ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), QE = num(res$QE), QEp = num(res$QEp),
       I2 = num(res$I2), H2 = num(res$H2), CO = num(res$CO), COp = num(res$COp),
       MH = num(res$MH), MHp = num(res$MHp), BD = num(res$BD), BDp = num(res$BDp),
       TA = num(res$TA), TAp = num(res$TAp), k = res$k, k_yi = res$k.yi, k_pos = num(res$k.pos))
}
mh_out <- list()
two_by_two <- list(
  bcg = list(ai = "tpos", bi = "tneg", ci = "cpos", di = "cneg"),
  nielweise2007 = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i"),
  egger2001 = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i"),
  yusuf1985_9 = list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")
)
for (ds in names(two_by_two)) {
  d <- datasets[[ds]]
  cols <- two_by_two[[ds]]
  colargs <- lapply(cols, function(col) d[[col]])
  for (measure in c("OR", "RR", "RD")) {
    for (correct in c(TRUE, FALSE)) {
      res <- suppressWarnings(do.call(rma.mh, c(colargs, list(measure = measure, correct = correct))))
      mh_out[[length(mh_out) + 1]] <- list(name = paste("mh", ds, measure, correct, sep = "_"),
        dataset = ds, columns = cols, measure = measure, correct = correct, result = mh_rec(res))
    }
  }
  res <- suppressWarnings(do.call(rma.peto, colargs))
  mh_out[[length(mh_out) + 1]] <- list(name = paste("peto", ds, sep = "_"), dataset = ds,
    columns = cols, measure = "PETO", correct = TRUE, result = mh_rec(res))
}
d <- datasets[["hart1999"]]
for (correct in c(TRUE, FALSE)) {
  res <- rma.mh(x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i, measure = "IRR",
                correct = correct)
  mh_out[[length(mh_out) + 1]] <- list(name = paste("mh_hart1999_IRR", correct, sep = "_"),
    dataset = "hart1999", columns = list(x1i = "x1i", t1i = "t1i", x2i = "x2i", t2i = "t2i"),
    measure = "IRR", correct = correct, result = mh_rec(res))
}

# ---- publication bias ----------------------------------------------------------------------
bias_out <- list(regtest = list(), ranktest = list(), trimfill = list(), fsn = list())
bias_effects <- c("hackshaw_yivi", "bcg_RR", "egger_OR", "normand_SMD", "molloy_ZCOR")
for (effect in bias_effects) {
  e <- effects[[effect]]
  ctl <- control_for(e$yi, e$vi)
  for (method in c("FE", "DL", "REML")) {
    for (test in c("z", "knha")) {
      res <- suppressWarnings(rma(e$yi, e$vi, method = method, test = test, control = ctl))
      for (predictor in c("sei", "vi")) {
        for (model in c("rma", "lm")) {
          rt <- suppressWarnings(regtest(res, model = model, predictor = predictor))
          bias_out$regtest[[length(bias_out$regtest) + 1]] <- list(
            name = paste(effect, method, test, model, predictor, sep = "_"), effect = effect,
            method = method, test = test, model = model, predictor = predictor,
            result = list(zval = num(rt$zval), pval = num(rt$pval), ddf = num(rt$ddf),
                          est = num(rt$est), ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub)))
        }
      }
      if (test == "z") {
        for (estimator in c("L0", "R0")) {
          for (side in c("auto", "left", "right")) {
            tf <- if (side == "auto") {
              suppressWarnings(trimfill(res, estimator = estimator, control = ctl))
            } else {
              suppressWarnings(trimfill(res, estimator = estimator, side = side, control = ctl))
            }
            rec <- fit_record(tf, with_ci = FALSE)
            rec$k0 <- tf$k0
            rec$se_k0 <- num(tf$se.k0)
            rec$side <- tf$side
            rec$p_k0 <- num(tf$p.k0)
            rec$yi <- num(tf$yi)
            rec$vi <- num(tf$vi)
            rec$fill <- as.logical(tf$fill)
            bias_out$trimfill[[length(bias_out$trimfill) + 1]] <- list(
              name = paste(effect, method, estimator, side, sep = "_"), effect = effect,
              method = method, estimator = estimator, side = side, result = rec)
          }
        }
      }
    }
  }
  rk <- ranktest(e$yi, e$vi)
  bias_out$ranktest[[length(bias_out$ranktest) + 1]] <- list(name = effect, effect = effect,
    result = list(tau = num(rk$tau), pval = num(rk$pval)))
  for (type in c("Rosenthal", "Orwin", "Rosenberg")) {
    fs <- fsn(e$yi, e$vi, type = type)
    bias_out$fsn[[length(bias_out$fsn) + 1]] <- list(name = paste(effect, type, sep = "_"),
      effect = effect, type = type,
      result = list(fsnum = num(fs$fsnum), pval = num(fs$pval), alpha = num(fs$alpha),
                    target = num(fs$target), meanes = num(fs$meanes)))
  }
}

# ---- sensitivity ---------------------------------------------------------------------------
sens_rec <- function(x) {
  # metafor names the statistic tval under knha and leaves tau2 out of equal-effects results.
  rec <- list(estimate = num(x$estimate), se = num(x$se),
              zval = num(if (is.null(x$zval)) x$tval else x$zval),
              pval = num(if (is.null(x$pval)) x$pvals else x$pval), ci_lb = num(x$ci.lb),
              ci_ub = num(x$ci.ub), Q = num(x$Q), Qp = num(x$Qp), tau2 = num(x$tau2),
              I2 = num(x$I2), H2 = num(x$H2))
  Filter(Negate(is.null), rec)
}
sens_out <- list(leave1out = list(), cumul = list())
for (effect in c("bcg_RR", "hackshaw_yivi", "normand_SMD")) {
  e <- effects[[effect]]
  ctl <- control_for(e$yi, e$vi)
  for (method in c("FE", "DL", "REML", "PM")) {
    for (test in c("z", "knha")) {
      res <- suppressWarnings(rma(e$yi, e$vi, method = method, test = test, control = ctl))
      l1 <- suppressWarnings(leave1out(res))
      sens_out$leave1out[[length(sens_out$leave1out) + 1]] <- list(
        name = paste(effect, method, test, sep = "_"), effect = effect, method = method,
        test = test, result = sens_rec(l1))
      order_col <- if ("year" %in% names(e$data)) "year" else NULL
      cu <- if (is.null(order_col)) suppressWarnings(cumul(res)) else
        suppressWarnings(cumul(res, order = e$data[[order_col]]))
      sens_out$cumul[[length(sens_out$cumul) + 1]] <- list(
        name = paste(effect, method, test, sep = "_"), effect = effect, method = method,
        test = test, order = if (is.null(order_col)) list() else order_col,
        result = sens_rec(cu))
    }
  }
}

reference <- list(
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  R_version = R.version.string,
  control = "threshold = 1e-14 * max(var(yi), mean(vi)), tol = 1e-15, maxiter = 10000; confint tol = 1e-15, tau2.max = 1e6",
  escalc = escalc_out, rma = rma_out, subgroup = subgroup_out, mh = mh_out,
  regtest = bias_out$regtest, ranktest = bias_out$ranktest, trimfill = bias_out$trimfill,
  fsn = bias_out$fsn, leave1out = sens_out$leave1out, cumul = sens_out$cumul
)
writeLines(toJSON(reference, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
                  pretty = FALSE),
           file.path(out_ref, "metafor.json"))
cat("wrote", file.path(out_ref, "metafor.json"), "\n")
