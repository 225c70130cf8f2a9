# Reference values for tests/effects/test_effects_robust_meta.py and test_effects_multilevel_meta.py.
# R 4.2.2, robumeta 2.0, clubSandwich 0.5.8, metafor 3.8.1 (Debian bookworm).
# Data: Dietrichson et al. (2021), ../shared/datasets/dietrichson2021 (MIT), post-test effect sizes.
suppressMessages({library(robumeta); library(clubSandwich); library(metafor)})
load(Sys.getenv("DIETRICHSON_RDATA", "../shared/datasets/dietrichson2021/Dietrichson2021_data.RData"))
d <- as.data.frame(Dietrichson2021_data)
d$vi <- d$SE_g^2
post <- d[d$Post == 1, ]
post$es_id <- seq_len(nrow(post))
cai <- post[post$CAI == 1, ]
p <- function(...) cat(sprintf("%.10f", c(...)), "\n")
show_robu <- function(f) { rt <- f$reg_table; for (i in seq_len(nrow(rt))) p(rt$b.r[i], rt$SE[i], rt$dfs[i], rt$CI.L[i], rt$CI.U[i], rt$prob[i]) }

cat("## CE intercept, CAI post: robu(Effectsize_g ~ 1, cai, studynum = Study_ID, var.eff.size = vi, modelweights = 'CORR', rho = 0.8, small = TRUE)\n")
f <- robu(Effectsize_g ~ 1, data = cai, studynum = Study_ID, var.eff.size = vi, modelweights = "CORR", rho = 0.8, small = TRUE)
show_robu(f); p(f$mod_info$tau.sq, f$mod_info$I.2)

cat("## CE regression: robu(Effectsize_g ~ CAI + Small_group + Peer_assisted + Progress_monitoring, post, CORR, rho = 0.8, small = TRUE)\n")
f <- robu(Effectsize_g ~ CAI + Small_group + Peer_assisted + Progress_monitoring, data = post, studynum = Study_ID, var.eff.size = vi, modelweights = "CORR", rho = 0.8, small = TRUE)
show_robu(f); p(f$mod_info$tau.sq, f$mod_info$I.2)
cat("## coef_test(f, vcov = 'CR2') df; Wald_test(f, constrain_zero(2:5), vcov = 'CR2', test = 'HTZ')\n")
p(coef_test(f, vcov = "CR2")$df_Satt)
w <- Wald_test(f, constraints = constrain_zero(2:5), vcov = "CR2", test = "HTZ"); p(w$Fstat, w$df_num, w$df_denom, w$p_val)
w <- Wald_test(f, constraints = constrain_zero(c(2, 4)), vcov = "CR2", test = "HTZ"); p(w$Fstat, w$df_num, w$df_denom, w$p_val)

cat("## CE regression small = FALSE, rho = 0.5\n")
f <- robu(Effectsize_g ~ CAI + Small_group + Peer_assisted + Progress_monitoring, data = post, studynum = Study_ID, var.eff.size = vi, modelweights = "CORR", rho = 0.5, small = FALSE)
show_robu(f); p(f$mod_info$tau.sq, f$mod_info$I.2)

cat("## HIER regression: robu(Effectsize_g ~ CAI + Small_group, post, modelweights = 'HIER', small = TRUE)\n")
f <- robu(Effectsize_g ~ CAI + Small_group, data = post, studynum = Study_ID, var.eff.size = vi, modelweights = "HIER", small = TRUE)
show_robu(f); p(f$mod_info$tau.sq, f$mod_info$omega.sq)
w <- Wald_test(f, constraints = constrain_zero(2:3), vcov = "CR2", test = "HTZ"); p(w$Fstat, w$df_num, w$df_denom, w$p_val)

cat("## HIER intercept, CAI post\n")
f <- robu(Effectsize_g ~ 1, data = cai, studynum = Study_ID, var.eff.size = vi, modelweights = "HIER", small = TRUE)
show_robu(f); p(f$mod_info$tau.sq, f$mod_info$omega.sq)

cat("## three-level: rma.mv(Effectsize_g, vi, mods = ~ CAI + Small_group, random = ~ 1 | Study_ID/es_id, data = post, method = 'REML')\n")
m <- rma.mv(Effectsize_g, vi, mods = ~ CAI + Small_group, random = ~ 1 | Study_ID/es_id, data = post, method = "REML")
p(m$b, m$se, m$ci.lb, m$ci.ub); p(m$sigma2, m$QE, m$QM, logLik(m))
cat("## three-level intercept, CAI post\n")
m <- rma.mv(Effectsize_g, vi, random = ~ 1 | Study_ID/es_id, data = cai, method = "REML")
p(m$b, m$se, m$ci.lb, m$ci.ub, m$pval); p(m$sigma2, m$QE, logLik(m))
cat("## CHE: V <- impute_covariance_matrix(vi, cluster = Study_ID, r = 0.6); rma.mv(Effectsize_g, V, mods = ~ CAI + Small_group, random = ~ 1 | Study_ID/es_id, data = post)\n")
V <- impute_covariance_matrix(post$vi, cluster = post$Study_ID, r = 0.6)
m <- rma.mv(Effectsize_g, V, mods = ~ CAI + Small_group, random = ~ 1 | Study_ID/es_id, data = post, method = "REML")
p(m$b, m$se); p(m$sigma2, m$QE)
ct <- coef_test(m, vcov = "CR2", cluster = post$Study_ID); p(ct$SE, ct$df_Satt, ct$p_Satt)
ci <- conf_int(m, vcov = "CR2", cluster = post$Study_ID); p(ci$CI_L, ci$CI_U)
w <- Wald_test(m, constraints = constrain_zero(2:3), vcov = "CR2", cluster = post$Study_ID, test = "HTZ"); p(w$Fstat, w$df_num, w$df_denom, w$p_val)
cat("## HIER with omega.sq > 0: robu(Effectsize_g ~ Incentives, post[post$Peer_assisted == 1 | post$Medium_group == 1, ], modelweights = 'HIER', small = TRUE)\n")
pm <- post[post$Peer_assisted == 1 | post$Medium_group == 1, ]
f <- robu(Effectsize_g ~ Incentives, data = pm, studynum = Study_ID, var.eff.size = vi, modelweights = "HIER", small = TRUE)
show_robu(f); p(f$mod_info$tau.sq, f$mod_info$omega.sq)
