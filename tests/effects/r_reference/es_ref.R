# Reference values for test_effects_smd.py / test_effects_wwc.py (R 4.2.2, metafor 3.8.1, effectsize 0.8.3, nlme 3.1.162).
# Run: Rscript es_ref.R
suppressMessages({library(metafor); library(effectsize); library(nlme)})
options(digits=12)
cat("effectsize", as.character(packageVersion("effectsize")), "metafor", as.character(packageVersion("metafor")), "\n")
m <- merge(MathAchieve, MathAchSchool[, c("School","Sector")], by="School")
y1 <- m$MathAch[m$Sector=="Catholic"]; y0 <- m$MathAch[m$Sector=="Public"]
cat(sprintf("n1=%d n0=%d m1=%.10f m0=%.10f s1=%.10f s0=%.10f\n", length(y1), length(y0), mean(y1), mean(y0), sd(y1), sd(y0)))
e <- escalc("SMD", m1i=mean(y1), sd1i=sd(y1), n1i=length(y1), m2i=mean(y0), sd2i=sd(y0), n2i=length(y0))
cat(sprintf("hsb SMD yi=%.10f vi=%.10f\n", e$yi, e$vi))
g <- hedges_g(y1, y0); cat(sprintf("hsb hedges_g %.10f [%.10f, %.10f]\n", g$Hedges_g, g$CI_low, g$CI_high))
s1 <- m$SES[m$Sector=="Catholic"]; s0 <- m$SES[m$Sector=="Public"]
e <- escalc("SMD", m1i=mean(s1), sd1i=sd(s1), n1i=length(s1), m2i=mean(s0), sd2i=sd(s0), n2i=length(s0))
cat(sprintf("hsb ses SMD yi=%.10f\n", e$yi))
mi1 <- mean(m$Minority[m$Sector=="Catholic"]=="Yes"); mi0 <- mean(m$Minority[m$Sector=="Public"]=="Yes")
cat(sprintf("minority p1=%.10f p0=%.10f cox=%.10f\n", mi1, mi0, (qlogis(mi1)-qlogis(mi0))/1.65))
x <- c(5.1, 4.8, 6.0, 5.5, 6.2, 5.9, 4.7); y <- c(4.2, 4.9, 5.0, 4.1, 4.6, 5.3, 4.4, 3.9, 4.8)
d <- cohens_d(x, y, ci=.9); cat(sprintf("B d90 %.10f [%.10f, %.10f]\n", d$Cohens_d, d$CI_low, d$CI_high))
gd <- glass_delta(x, y); cat(sprintf("B glass %.10f [%.10f, %.10f]\n", gd$Glass_delta, gd$CI_low, gd$CI_high))
e <- escalc("SMD", m1i=5, sd1i=2, n1i=8, m2i=4, sd2i=2.5, n2i=10); cat(sprintf("SMD small yi=%.10f vi=%.10f\n", e$yi, e$vi))
e <- escalc("SMD", ti=3.309163, n1i=7, n2i=9); cat(sprintf("SMD from t yi=%.10f vi=%.10f\n", e$yi, e$vi))
e <- escalc("RD", ai=30, bi=20, ci=20, di=30); cat(sprintf("RD yi=%.10f vi=%.10f\n", e$yi, e$vi))
e <- escalc("OR", ai=0, bi=20, ci=5, di=15); cat(sprintf("OR zero cell yi=%.10f vi=%.10f\n", e$yi, e$vi))
# ASSISTments mastery A/B (completion by video), from the CSV mirror
d <- read.csv("../../../../shared/datasets/assistments_mastery_ab/abTestExample.csv")
v <- d$video %in% c(TRUE, "TRUE", "True", "true", 1)
a <- sum(d$completion[v]); b <- sum(v) - a; c <- sum(d$completion[!v]); dd <- sum(!v) - c
for (m in c("OR2DN","RD","OR")) { e <- escalc(m, ai=a, bi=b, ci=c, di=dd); cat(sprintf("%s yi=%.10f vi=%.10f\n", m, e$yi, e$vi)) }
print(interpret_cohens_d(c(0.1, 0.2, 0.49, 0.5, 0.8, -0.9), rules = "cohen1988"))
