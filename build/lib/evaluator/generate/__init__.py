"""`python -m evaluator.generate`: turn any registered repository into a validated task set.

Templates (evaluator.generate.templates) draw entities from the pinned checkout with a seeded
sampler, every candidate goes through the same checks as `evaluator.validate`, and only valid,
non-trivial, non-duplicate tasks within each template's quota are written.
"""
