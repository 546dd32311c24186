"""`python -m evaluator.validate`: a thin entry; the command lives in `evaluator.tasks.validation`."""
from evaluator.tasks.validation import main

if __name__ == "__main__":
    raise SystemExit(main())
