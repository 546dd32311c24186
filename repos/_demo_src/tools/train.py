"""Train a model from a config file.

    python tools/train.py configs/mlp_toy.py --work-dir work_dirs/mlp_toy
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinytrain.config import load_config  # noqa: E402
from tinytrain.runner import Runner  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description="Train a model")
    parser.add_argument("config", help="train config file path")
    parser.add_argument("--work-dir", default="./work_dirs", help="where to save logs and checkpoints")
    parser.add_argument("--epochs", type=int, default=12, help="number of epochs")
    parser.add_argument("--lr", type=float, default=0.01, help="base learning rate")
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument("--resume", action="store_true", help="resume from the latest checkpoint")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none")
    return parser.parse_args()


def main():
    args = parse_args()
    cfg, raw = load_config(
        args.config,
        work_dir=args.work_dir,
        max_epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        resume=args.resume or None,
    )
    runner = Runner.from_cfg(cfg, raw)
    runner.train()


if __name__ == "__main__":
    main()
