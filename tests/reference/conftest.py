import pytest

from tests.reference import split_edition


@pytest.fixture(scope="session")
def split_folder(tmp_path_factory):
    """The Pacitan-split test edition (tests/reference/split_edition.py), written once per session."""
    return split_edition.build(tmp_path_factory.mktemp("editions"))
