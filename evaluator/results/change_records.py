"""What grading a change task (L2) records in its TaskResult: the patch, the files, every hidden test."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TestGroup = Literal["fail_to_pass", "pass_to_pass"]
TestState = Literal["passed", "failed", "error", "skipped", "missing"]
Workspace = Literal["overlay", "copy"]


class TestOutcome(BaseModel):
    __test__ = False  # not a pytest test class

    nodeid: str
    group: TestGroup
    outcome: TestState = Field(description="From pytest's JUnit XML; `missing` when the XML has no such test.")


class ChangeResult(BaseModel):
    workspace: Workspace = Field(description="How the writable working copy was made: an overlay on the shared checkout, or a copy.")
    patch_bytes: int = Field(0, description="Size of `git diff --binary` of the working copy against the pinned commit.")
    patch_sha256: str = ""
    lines_added: int = 0
    lines_removed: int = 0
    files_touched: list[str] = Field(default_factory=list, description="Every path the patch changes, adds or deletes.")
    files_reset: list[str] = Field(default_factory=list,
                                   description="Touched test and test-config files put back before the hidden tests ran.")
    tests: list[TestOutcome] = Field(default_factory=list)
    fail_to_pass_passed: int = 0
    fail_to_pass_total: int = 0
    pass_to_pass_passed: int = 0
    pass_to_pass_total: int = 0
    resolved: bool = Field(False, description="Every fail_to_pass and every pass_to_pass test passed.")
    test_exit_code: int | None = Field(None, description="pytest's exit status (recorded, never used to decide).")
    test_timed_out: bool = False
    note: str | None = Field(None, description="Why the tests did not count as run: no JUnit XML, internals changed, patch too big.")

    @property
    def fraction_passed(self) -> tuple[float, float]:
        f2p = self.fail_to_pass_passed / self.fail_to_pass_total if self.fail_to_pass_total else 0.0
        p2p = self.pass_to_pass_passed / self.pass_to_pass_total if self.pass_to_pass_total else 1.0
        return f2p, p2p
