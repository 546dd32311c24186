"""`python -m evaluator.compare`: a thin entry; the command lives in `evaluator.cli.compare`."""
from evaluator.cli.compare import main

if __name__ == "__main__":
    raise SystemExit(main())
