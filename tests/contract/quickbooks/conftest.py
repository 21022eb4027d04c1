"""Fixtures for the QuickBooks contract tests: Intuit's XSDs, or a skip that says where they go."""

from __future__ import annotations

import pytest
from qbo_xsd import XSD_FILES, XsdModel, specs_dir


@pytest.fixture(scope="session")
def xsd() -> XsdModel:
    folder = specs_dir() / "quickbooks"
    missing = [name for name in XSD_FILES if not (folder / name).is_file()]
    if missing:
        pytest.skip(
            f"Intuit's XSDs are not at {folder} (missing {', '.join(missing)}); "
            "set BOOKSYNC_SPECS_DIR to the folder that holds quickbooks/"
        )
    return XsdModel(folder)
