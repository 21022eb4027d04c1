"""The providers' specs in the repository (specs/): each folder ships its source's licence file and
specs/README.md names the folder and every file in it, so their origin and terms travel with them."""

from __future__ import annotations

from tests.specs import SPECS_DIR


def test_every_spec_folder_has_its_licence_and_is_described() -> None:
    readme = (SPECS_DIR / "README.md").read_text(encoding="utf-8")
    folders = sorted(path for path in SPECS_DIR.iterdir() if path.is_dir())
    assert [folder.name for folder in folders] == ["quickbooks", "square", "wave", "xero"]
    for folder in folders:
        files = sorted(path.name for path in folder.iterdir())
        assert any(name.startswith("LICENSE") for name in files), f"specs/{folder.name} has no licence file"
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{folder.name}/` |")), "")
        assert row, f"specs/README.md has no row for {folder.name}/"
        for name in files:
            assert f"`{name}`" in row or f"`{folder.name}/{name}`" in row, (
                f"specs/README.md's row for {folder.name}/ does not name {name}"
            )
