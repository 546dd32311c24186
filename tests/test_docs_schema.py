"""The result-schema page is generated from the pydantic models and must be current."""
from conftest import run_cli


def test_result_schema_page_is_current() -> None:
    proc = run_cli("evaluator.schemadoc", "--check")
    assert proc.returncode == 0, proc.stderr
