"""Image templates: questions whose answer is in a picture of the repository (tag `image`).

The validator drops any such task whose answer a text file of the checkout states
(evaluator/tasks/image_checks.py), so what is kept can only be learnt from the image.
"""
from __future__ import annotations

from evaluator.generate.model import Candidate
from evaluator.generate.templates.base import Context, Template, schema
from evaluator.models.images import sniff
from evaluator.tasks.image_checks import IMAGE_TAG
from oracles._common import iter_files, relpath

SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
MAX_IMAGES = 40  # per repo: a figure-heavy docs tree should not flood the task set


class ImageSize(Template):
    name = "image_size"
    one_pipeline = True  # `file IMAGE` prints the size

    def candidates(self, ctx: Context) -> list[Candidate]:
        out: list[Candidate] = []
        for path in iter_files(ctx.root, "."):
            if len(out) >= MAX_IMAGES:
                break
            if not path.name.lower().endswith(SUFFIXES) or path.is_symlink():
                continue
            with open(path, "rb") as f:
                kind = sniff(f.read(16))
            if kind is None:
                continue
            rel = relpath(ctx.root, path)
            args = {"path": rel}
            text = (f"What are the width and height, in pixels, of the image `{rel}`? "
                    + schema("image_size", '{"width": <int>, "height": <int>}'))
            out.append(Candidate(template=self.name, params=args, key="image_size", type="json", fn="image_size",
                                 args=args, instruction=text, difficulty="easy", tags=[IMAGE_TAG],
                                 reason=f"read the size of a {kind} image"))
        return out
