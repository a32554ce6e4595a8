"""The pure core: numpy formulas with units, no pydantic models, no files, no faces.

Every kernel broadcasts its arguments (months on the last axis, Monte Carlo draws as a
leading ``(draws, 1)`` axis) and states its formula, units and sign convention.
"""
