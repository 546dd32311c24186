"""`python -m evaluator.bench`: a thin entry; the command lives in `evaluator.cli.bench`."""
from evaluator.cli.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
