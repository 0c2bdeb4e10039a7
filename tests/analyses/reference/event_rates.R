# Reference values for tests/analyses/test_event_rates.py: negative binomial (NB2)
# and Poisson regression of event counts with a log(exposure) offset and covariates.
#
# Run from this folder: Rscript event_rates.R  (writes event_rates.json)
# Debian bookworm packages: r-base-core, r-cran-mass, r-cran-emmeans, r-cran-jsonlite.
#
# The datasets are simulated here with a fixed seed (follow-up in years rounded to
# 0.01) and written inline into the JSON.
#
#   MASS::glm.nb(count ~ group + covariates + offset(log(years)))
#   glm(count ~ group + covariates + offset(log(years)), family = poisson)
#
# Convergence: glm.control(epsilon = 1e-12, maxit = 100) instead of the default
# epsilon = 1e-8, so that the reference is the maximum-likelihood fit to ~1e-10 (the
# default stops on a relative deviance change of 1e-8, i.e. coefficients ~1e-6 off).
# glm.fit returns the covariance of the weights of its last iteration, one step
# before the coefficients it returns (about 1e-7 off in the standard errors here), so
# the Poisson fit is repeated from its own estimates (start = coef(fit)): one more
# iteration, whose covariance is at the estimates. MASS::theta.ml returns SE(theta)
# from the information one Newton step (|step| < eps^0.25 = 1.2e-4) before its
# estimate, so SE.theta is recorded as glm.nb gives it and, as `se_theta_at_estimate`,
# from the same formula (theta.ml's `info`) at the final theta and fitted means.
# Rate ratios are exp(coef) with Wald intervals (confint.default): exp(b -/+ z se).
# Model rates per group are emmeans(fit, ~ group, offset = 0, type = "response"):
# events per year with numeric covariates at their mean and factor covariates
# averaged with equal weights, Wald intervals on the log scale.
suppressMessages({
  library(MASS)
  library(emmeans)
  library(jsonlite)
})
emm_options(opt.digits = FALSE)
ctrl <- glm.control(epsilon = 1e-12, maxit = 100)

simulate <- function(seed, n_per_group, log_rr, theta, base_rate) {
  set.seed(seed)
  groups <- names(log_rr)
  group <- rep(groups, times = n_per_group)
  n <- length(group)
  years <- round(runif(n, 0.5, 2.5), 2)
  prior <- rpois(n, 1.2)
  edss <- sample(seq(1.5, 6, by = 0.5), n, replace = TRUE)
  sex <- sample(c("F", "M"), n, replace = TRUE, prob = c(0.65, 0.35))
  eta <- log(base_rate) + log_rr[group] + 0.25 * prior + 0.1 * (edss - 3.5) +
    0.2 * (sex == "M")
  mu <- years * exp(eta)
  count <- if (is.finite(theta)) rnbinom(n, size = theta, mu = mu) else rpois(n, mu)
  data.frame(subject = sprintf("S%03d", seq_len(n)), group = group, years = years,
             prior_relapses = prior, edss = edss, sex = sex, count = count)
}

coef_table <- function(fit) {
  s <- summary(fit)$coefficients
  ci <- confint.default(fit)
  data.frame(term = rownames(s), estimate = s[, 1], se = s[, 2], z = s[, 3],
             p_value = s[, 4], rate_ratio = exp(s[, 1]), lower = exp(ci[, 1]),
             upper = exp(ci[, 2]), row.names = NULL)
}

rates <- function(fit) {
  e <- emmeans(fit, ~ group, offset = 0, type = "response")
  as.data.frame(summary(e))
}

fit_case <- function(id, d, rhs, group_levels, nb = TRUE) {
  d$group <- factor(d$group, levels = group_levels)
  d$sex <- factor(d$sex, levels = c("F", "M"))
  form <- as.formula(paste("count ~", rhs, "+ offset(log(years))"))
  pois0 <- glm(form, family = poisson, data = d, control = ctrl)
  pois <- glm(form, family = poisson, data = d, start = coef(pois0), control = ctrl)
  out <- list(
    poisson = list(
      coefficients = coef_table(pois),
      vcov = unname(vcov(pois)),
      loglik = as.numeric(logLik(pois)),
      aic = AIC(pois),
      deviance = deviance(pois),
      df_residual = pois$df.residual,
      pearson_chi2 = sum(residuals(pois, type = "pearson")^2),
      rates = rates(pois)
    )
  )
  if (nb) {
    fit <- glm.nb(form, data = d, control = ctrl)
    out$nb2 <- list(
      coefficients = coef_table(fit),
      vcov = unname(vcov(fit)),
      theta = fit$theta,
      se_theta = fit$SE.theta,
      se_theta_at_estimate = {
        th <- fit$theta
        mu <- fitted(fit)
        y <- d$count
        1 / sqrt(sum(-trigamma(th + y) + trigamma(th) - 1 / th + 2 / (mu + th) -
                       (y + th) / (mu + th)^2))
      },
      loglik = as.numeric(logLik(fit)),
      twologlik = fit$twologlik,
      aic = fit$aic,
      deviance = deviance(fit),
      df_residual = fit$df.residual,
      pearson_chi2 = sum(residuals(fit, type = "pearson")^2),
      rates = rates(fit),
      th_warn = if (is.null(fit$th.warn)) "" else fit$th.warn
    )
    default <- glm.nb(form, data = d)
    out$nb2_default_control <- list(
      note = "glm.nb with glm.control() defaults (epsilon = 1e-8)",
      coefficients = as.list(coef(default)),
      theta = default$theta
    )
  }
  list(
    id = id,
    r_call = paste0("MASS::glm.nb(", deparse(form), ", data, control = glm.control(",
                    "epsilon = 1e-12, maxit = 100)); glm(", deparse(form),
                    ", family = poisson, data, start = coef(<first fit>), control = ...); exp(coef) with ",
                    "confint.default; emmeans(fit, ~ group, offset = 0, type = \"response\")"),
    inputs = list(rhs = rhs, group_levels = group_levels,
                  covariates = I(setdiff(strsplit(gsub(" ", "", rhs), "\\+")[[1]], "group")),
                  data = d),
    expected = out
  )
}

relapses <- simulate(2025, c(40, 40), c(Placebo = 0, Active = log(0.6)),
                     theta = 1.5, base_rate = 0.45)
lesions <- simulate(31, c(18, 20, 19), c(DL1 = 0, DL2 = log(0.8), DL3 = log(0.5)),
                    theta = 0.7, base_rate = 2.0)
# Poisson counts: the NB2 dispersion estimate runs to its boundary
set.seed(5)
under <- data.frame(subject = sprintf("S%03d", 1:40),
                    group = rep(c("Control", "Active"), each = 20),
                    years = 1, prior_relapses = rpois(40, 1), edss = 3,
                    sex = rep(c("F", "M"), 20))
under$count <- ifelse(under$group == "Control", 2, 1) + (seq_len(40) %% 3 == 0)

cases <- list(
  fit_case("relapses_2arm_covariates", relapses,
           "group + prior_relapses + edss + sex", c("Placebo", "Active")),
  fit_case("lesions_3arm", lesions, "group + prior_relapses", c("DL1", "DL2", "DL3")),
  fit_case("lesions_3arm_group_only", lesions, "group", c("DL1", "DL2", "DL3")),
  fit_case("underdispersed_poisson_limit", under, "group + prior_relapses",
           c("Control", "Active"), nb = FALSE)
)

ref <- list(
  generated_by = "tests/analyses/reference/event_rates.R",
  r_version = R.version.string,
  package_versions = list(
    MASS = as.character(packageVersion("MASS")),
    emmeans = as.character(packageVersion("emmeans")),
    jsonlite = as.character(packageVersion("jsonlite"))
  ),
  conventions = list(
    offset = "log(years)",
    nb2 = "Var = mu + mu^2 / theta; theta by maximum likelihood (glm.nb); coefficient SEs from the expected information at theta (summary.negbin, dispersion 1); SE(theta) = 1 / sqrt(observed information of theta at the fitted means) (MASS::theta.ml)",
    intervals = "Wald: exp(b -/+ qnorm(0.975) se)",
    rates = "emmeans(fit, ~ group, offset = 0, type = \"response\")"
  ),
  cases = cases
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null",
                  dataframe = "columns", matrix = "rowmajor"),
           "event_rates.json")
