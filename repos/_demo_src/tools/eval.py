"""Evaluate a checkpoint with the metrics of its config."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinytrain.config import load_config  # noqa: E402
from tinytrain.registry import METRICS  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description="Evaluate a checkpoint")
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--out", default=None, help="write the metrics to this JSON file")
    parser.add_argument("--metrics", nargs="+", default=["Accuracy"])
    parser.add_argument("--batch-size", type=int, default=64)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg, _ = load_config(args.config)
    results = {}
    for name in args.metrics:
        results.update(METRICS.build({"type": name}).evaluate())
    text = json.dumps(results, indent=2)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
