# Reference values for test_effects_power.py [CORE] rows. Run: Rscript powerupr_core.R
# Core of PowerUpR 1.1.0 (metinbulus/PowerUpR R/utils.R .mdes.fun/.power.fun; df/SSE lines
# from R/bira2.R mdes.bira2r1/power.bira2r1/mrss.bira2r1 and R/cra3.R), copied verbatim.
.mdes.fun <- function(power, alpha, sse, df, two.tailed){
  t1 <- ifelse(two.tailed == TRUE, abs(qt(alpha / 2, df)), abs(qt(alpha, df)))
  t2 <- abs(qt(power, df))
  m <- ifelse(power >= 0.5, t1 + t2, t1 - t2)
  mdes <- m * sse
  lcl <- mdes * (1 - t1 / m)
  ucl <- mdes * (1 + t1 / m)
  mlu <- cbind(mdes, lcl, ucl)
  return(mlu)
}
.power.fun <- function(es, alpha, sse, df, two.tailed){
  lambda <- es/sse
  power <- ifelse(two.tailed == FALSE,
                  1 - pt(qt(alpha, df, lower.tail = FALSE), df, lambda),
                  1 - pt(qt(alpha / 2, df, lower.tail = FALSE), df, lambda) +
                    pt(-qt(alpha / 2, df, lower.tail = FALSE), df, lambda))
  return(power)
}
mdes.bira2r1 <- function(power=.80, alpha=.05, two.tailed=TRUE, rel1=1, rho2, omega2, g2=0, r21=0, r2t2=0, p=.50, n, J){
  df <- J - g2 - 1
  SSE <- sqrt(rho2*omega2*(1-r2t2)/J + (1-rho2)*(1-r21)/(p*(1-p)*J*n*rel1))
  .mdes.fun(power = power, alpha = alpha, sse = SSE, df = df, two.tailed = two.tailed)
}
power.bira2r1 <- function(es=.25, alpha=.05, two.tailed=TRUE, rel1=1, rho2, omega2, g2=0, r21=0, r2t2=0, p=.50, n, J){
  df <- J - g2 - 1
  SSE <- sqrt(rho2*omega2*(1-r2t2)/J + (1-rho2)*(1-r21)/(p*(1-p)*J*n*rel1))
  .power.fun(es = es, alpha = alpha, sse = SSE, df = df, two.tailed = two.tailed)
}
mrss.bira2r1 <- function(es=.25, power=.80, alpha=.05, two.tailed=TRUE, rel1=1, rho2, omega2, r21=0, r2t2=0, J0=10, tol=.10, g2=0, p=.50, n){
  i <- 0
  conv <- FALSE
  while(i<=100 & conv==FALSE){
    df <- J0-g2-1
    if(df<= 0 | is.infinite(df)){break}
    T1 <- ifelse(two.tailed==TRUE,abs(qt(alpha/2,df)),abs(qt(alpha,df)))
    T2 <- abs(qt(power,df))
    M <- ifelse(power>=.5,T1+T2,T1-T2)
    J1 <- (M/es)^2 * (rho2*omega2*(1-r2t2) + (1-rho2)*(1-r21)/(p*(1-p)*n*rel1))
    if(abs(J1-J0)<tol){conv <- TRUE}
    J0 <- (J1+J0)/2
    i <- i+1
  }
  ifelse(df>0,round(J0),NA)
}
mdes.cra3r3 <- function(power=.80, alpha=.05, two.tailed=TRUE, rho2, rho3, p=.50, g3=0, r21=0, r22=0, r23=0, n, J, K){
  df <- K - g3 - 2
  SSE <- sqrt(rho3*(1-r23)/(p*(1-p)*K) + rho2*(1-r22)/(p*(1-p)*J*K) + (1-rho3-rho2)*(1-r21)/(p*(1-p)*J*K*n))
  .mdes.fun(power = power, alpha = alpha, sse = SSE, df = df, two.tailed = two.tailed)
}
power.cra3r3 <- function(es=.25, alpha=.05, two.tailed=TRUE, rho2, rho3, p=.50, g3=0, r21=0, r22=0, r23=0, n, J, K){
  df <- K - g3 - 2
  SSE <- sqrt(rho3*(1-r23)/(p*(1-p)*K) + rho2*(1-r22)/(p*(1-p)*J*K) + (1-rho3-rho2)*(1-r21)/(p*(1-p)*J*K*n))
  .power.fun(es = es, alpha = alpha, sse = SSE, df = df, two.tailed = two.tailed)
}
options(digits=10)
print(mdes.bira2r1(rho2=.35, omega2=.10, n=83, J=480))
print(mdes.bira2r1(rho2=.20, omega2=.30, g2=1, r21=.5, r2t2=.2, p=.4, n=30, J=25))
print(power.bira2r1(es=.20, rho2=.20, omega2=.30, g2=1, r21=.5, r2t2=.2, p=.4, n=30, J=25))
print(mrss.bira2r1(es=.20, rho2=.20, omega2=.30, r21=.5, n=30))
print(mdes.cra3r3(rho2=.10, rho3=.15, n=20, J=3, K=40, g3=1, r21=.4, r22=.3, r23=.5))
print(power.cra3r3(es=.30, rho2=.10, rho3=.15, n=20, J=3, K=40, g3=1, r21=.4, r22=.3, r23=.5))
