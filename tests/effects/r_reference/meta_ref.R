# Reference values for tests/effects/test_effects_meta.py (R 4.2.2, metafor 3.8.1, Debian bookworm).
# Run: Rscript meta_ref.R
library(metafor)
cat("metafor", as.character(packageVersion("metafor")), "\n")
dat <- dat.raudenbush1985
options(digits=12)
for (m in c("FE","DL","REML","PM")) for (tt in c("z","knha")) {
  r <- rma(yi, vi, data=dat, method=m, test=tt, control=list(threshold=1e-12))
  p <- predict(r)
  cat(sprintf("%s %s b=%.10f se=%.10f ci=[%.10f, %.10f] tau2=%.10f I2=%.10f H2=%.10f Q=%.10f QP=%.10g pi=[%.10f, %.10f] zval=%.10f pval=%.10g\n",
    m, tt, r$b[1], r$se, r$ci.lb, r$ci.ub, r$tau2, r$I2, r$H2, r$QE, r$QEp, ifelse(is.null(p$pi.lb), NA, p$pi.lb), ifelse(is.null(p$pi.ub), NA, p$pi.ub), r$zval, r$pval))
}
r <- rma(yi, vi, data=dat)  # default REML threshold
cat(sprintf("REML default tau2=%.10f b=%.10f\n", r$tau2, r$b[1]))
dat$weeks.c <- ifelse(dat$weeks > 3, 3, dat$weeks)
for (m in c("REML","DL")) for (tt in c("z","knha")) {
r <- rma(yi, vi, mods = ~ weeks.c, data=dat, method=m, test=tt, control=list(threshold=1e-12))
cat(sprintf("MR %s %s b=%s se=%s tau2=%.10f QE=%.10f QM=%.10f QMp=%.10g I2=%.10f\n", m, tt, paste(sprintf("%.10f", r$b), collapse=","), paste(sprintf("%.10f", r$se), collapse=","), r$tau2, r$QE, r$QM, r$QMp, r$I2))
}
for (mod in c("rma","lm")) {
  rr <- regtest(rma(yi, vi, data=dat, control=list(threshold=1e-12)), model=mod)
  cat(sprintf("regtest %s zval=%.10f pval=%.10f est=%.10f\n", mod, rr$zval, rr$pval, ifelse(is.null(rr$est), NA, rr$est)))
}
rr <- regtest(rma(yi, vi, data=dat, method="FE"), model="lm"); cat(sprintf("regtest FE lm zval=%.10f pval=%.10f dfs=%s\n", rr$zval, rr$pval, rr$dfs))
# BCG log risk ratios
bcg <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
for (m in c("DL","REML","PM")) { r <- rma(yi, vi, data=bcg, method=m, control=list(threshold=1e-12)); cat(sprintf("bcg %s b=%.10f se=%.10f tau2=%.10f I2=%.10f\n", m, r$b[1], r$se, r$tau2, r$I2)) }
r <- rma(yi, vi, mods = ~ ablat, data=bcg, method="REML", control=list(threshold=1e-12))
cat(sprintf("bcg MR ablat b=%s se=%s tau2=%.10f QM=%.10f\n", paste(sprintf("%.10f", r$b), collapse=","), paste(sprintf("%.10f", r$se), collapse=","), r$tau2, r$QM))
# escalc RD
e <- escalc(measure="RD", ai=30, bi=20, ci=20, di=30); cat(sprintf("RD yi=%.10f vi=%.10f\n", e$yi, e$vi))
# Paule-Mandel with a tight root-finder tolerance (metafor's uniroot tol defaults to ~1.2e-4)
for (tt in c("z","knha")) { r <- rma(yi, vi, data=dat, method="PM", test=tt, control=list(tol=1e-12))
  cat(sprintf("PM tight %s tau2=%.10f b=%.10f se=%.10f ci=[%.10f, %.10f] I2=%.10f\n", tt, r$tau2, r$b[1], r$se, r$ci.lb, r$ci.ub, r$I2)) }
r <- rma(yi, vi, data=bcg, method="PM", control=list(tol=1e-12)); cat(sprintf("bcg PM tight %.10f %.10f %.10f\n", r$tau2, r$b[1], r$se))
