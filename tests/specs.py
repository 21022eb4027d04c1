"""Where the providers' specs are: ``specs/`` in the repository (specs/README.md: sources, licences).

They are part of the repository, so a missing file is an error (FileNotFoundError naming it),
never a skip.
"""

from __future__ import annotations

from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parents[1] / "specs"
