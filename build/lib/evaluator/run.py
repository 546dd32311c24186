"""`python -m evaluator.run`: a thin entry; the command lives in `evaluator.cli.run`."""
from evaluator.cli.run import main

if __name__ == "__main__":
    raise SystemExit(main())
