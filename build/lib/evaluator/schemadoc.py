"""`python -m evaluator.schemadoc`: a thin entry; the command lives in `evaluator.results.schemadoc`."""
from evaluator.results.schemadoc import main

if __name__ == "__main__":
    raise SystemExit(main())
