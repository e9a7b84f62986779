"""Forecasts of churn, required bandwidth and RPO compliance, learned from the measured past and proven by backtests.

series: a scope's churn on a regular grid with local calendar positions; trend: fitted growth with its
interval; rhythm: the level with its weekly and daily rhythm; bursts: the size, frequency and weekly
recurrence of bursts; traces: Monte-Carlo traces of the horizon; need: the exact queue model run over
them; scope: one scope's forecast; backtest: learned forecasts against held-out days.
"""
