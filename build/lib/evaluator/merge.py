"""`python -m evaluator.merge`: a thin entry; the command lives in `evaluator.results.merge`."""
from evaluator.results.merge import main

if __name__ == "__main__":
    raise SystemExit(main())
