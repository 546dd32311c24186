"""Comparing runs: loading run directories, leaderboard rows and prices, the regression view, and
the leaderboard files and charts `python -m evaluator.compare` writes."""
