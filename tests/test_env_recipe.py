"""The `env:` recipe's hash: what decides whether a cached repository environment is reused."""
from __future__ import annotations

from pathlib import Path

from evaluator.tasks.env_spec import EnvRecipe


def test_a_file_pulled_in_with_dash_r_is_part_of_the_recipe_hash(tmp_path: Path) -> None:
    """Editing a nested requirements file (`-r base.txt`, `--constraint=pins.txt`) rebuilds the env."""
    (tmp_path / "req").mkdir()
    (tmp_path / "req.txt").write_text("-r req/base.txt\nattrs==23.1.0\n")
    (tmp_path / "req" / "base.txt").write_text("--constraint=pins.txt\nsix\n-r ../req.txt\n")  # a cycle, too
    (tmp_path / "req" / "pins.txt").write_text("six==1.16.0\n")
    recipe = EnvRecipe(requirements_file="req.txt").resolved(tmp_path)
    assert [p.name for p in recipe.files()] == ["req.txt", "base.txt", "pins.txt"]
    before = recipe.recipe_hash("py")
    (tmp_path / "req" / "pins.txt").write_text("six==1.17.0\n")
    assert recipe.recipe_hash("py") != before
