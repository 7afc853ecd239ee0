"""Editions never go backwards: `dtks init`, older editions, the load log, `dtks reference diff`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dtks import cli, reference, warehouse_setup
from tests.reference import split_edition as split

pytestmark = pytest.mark.postgres

DEFAULT = "idn-area-data-4.0.1"


def current_codes(wh):
    with wh.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT (SELECT retired_in FROM ref.village WHERE code = '3501012001'),"
                " (SELECT retired_in FROM ref.village WHERE code = '3530012001'),"
                " (SELECT successor_code FROM ref.village WHERE code = '3501012001'),"
                " (SELECT split_from || ' ' || split_on FROM ref.kabkota WHERE code = '3530'),"
                " (SELECT count(*) FROM ref.kabkota WHERE retired_in IS NULL),"
                " (SELECT count(*) FROM ref.village WHERE retired_in IS NULL)"
            )
        ).one()


def test_init_after_a_newer_edition_leaves_it_current(wh, split_folder):
    loaded = reference.load_reference(wh, split_folder, loaded_by="test")
    assert (loaded.previous_edition, loaded.edition) == (DEFAULT, split.NAME)
    assert current_codes(wh) == (split.NAME, None, "3530012001", "3501 2026-09-01", 515, 83762)

    again = warehouse_setup.init_warehouse()  # what `dtks init` runs
    assert again.load_id is None and again.edition == split.NAME
    # the newer codes are still current, the parent's moved codes still retired with their successor
    assert current_codes(wh) == (split.NAME, None, "3530012001", "3501 2026-09-01", 515, 83762)
    assert reference.current_edition(wh) == (split.NAME, split_edition_date())
    assert [r["edition"] for r in reference.edition_loads(wh)] == [DEFAULT, split.NAME]


def split_edition_date():
    from datetime import date

    return date.fromisoformat(split.EFFECTIVE_ON)


def test_init_loads_the_default_edition_into_an_empty_warehouse_only(server_url, monkeypatch):
    import uuid

    from sqlalchemy.engine import make_url

    from dtks import warehouse

    name = f"dtks_test_empty_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DTKS_WAREHOUSE_URL", url)
    try:
        first = warehouse_setup.init_warehouse()
        assert (first.edition, first.previous_edition) == (DEFAULT, None) and first.load_id is not None
        assert first.counts.villages == 83762
        assert warehouse_setup.init_warehouse().load_id is None
        assert [r["edition"] for r in reference.edition_loads(warehouse.engine(url))] == [DEFAULT]
    finally:
        warehouse._engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_an_older_edition_is_refused_unless_forced_with_a_reason(wh, split_folder, capsys):
    reference.load_reference(wh, split_folder, loaded_by="test")
    with pytest.raises(reference.EditionRefused, match="older than the current edition"):
        reference.load_reference(wh, DEFAULT)
    assert current_codes(wh)[1] is None  # nothing changed
    # the command line says why and how, and changes nothing
    assert cli.main(["reference", "load", "--edition", DEFAULT, "--force"]) == 1
    assert "--force needs --reason" in capsys.readouterr().err
    assert cli.main(["reference", "load", "--edition", DEFAULT]) == 1
    assert "older than the current edition" in capsys.readouterr().err
    assert len(reference.edition_loads(wh)) == 2

    forced = reference.load_reference(wh, DEFAULT, force_reason="split edition withdrawn by decree", loaded_by="t")
    assert forced.previous_edition == split.NAME
    log = reference.edition_loads(wh)[-1]
    assert (log["edition"], log["previous_edition"], log["forced_reason"], log["loaded_by"]) == (
        DEFAULT,
        split.NAME,
        "split edition withdrawn by decree",
        "t",
    )
    assert (log["added"]["village"], log["retired"]["village"], log["retired"]["kabkota"]) == (25, 25, 1)
    # the log is append-only
    with wh.begin() as conn, pytest.raises(sa.exc.DBAPIError, match=r"append-only|not allowed"):
        conn.execute(sa.text("UPDATE ref.edition_load SET forced_reason = NULL"))


def test_every_load_is_logged_with_its_counts(wh, split_folder):
    reference.load_reference(wh, split_folder, loaded_by="ops:ana")
    same = reference.load_reference(wh, split_folder, loaded_by="ops:ana")  # reloading the current edition
    first, split_load, reload = reference.edition_loads(wh)
    assert (first["edition"], first["added"]["village"], first["previous_edition"]) == (DEFAULT, 83762, None)
    assert (split_load["added"], split_load["retired"], split_load["changed"]) == (
        {"province": 0, "kabkota": 1, "kecamatan": 2, "village": 25},
        {"province": 0, "kabkota": 0, "kecamatan": 2, "village": 25},
        {"province": 0, "kabkota": 0, "kecamatan": 0, "village": 0},
    )
    assert (split_load["loaded_by"], split_load["effective_on"].isoformat(), split_load["forced_reason"]) == (
        "ops:ana",
        split.EFFECTIVE_ON,
        None,
    )
    assert reload["added"] == reload["retired"] == {"province": 0, "kabkota": 0, "kecamatan": 0, "village": 0}
    assert same.previous_edition == split.NAME
    assert split_load["loaded_at"] < reload["loaded_at"]


def test_reference_diff_lists_adds_retirements_and_moves_before_loading(wh, split_folder, capsys):
    assert cli.main(["reference", "diff", DEFAULT, str(split_folder)]) == 0
    out = capsys.readouterr().out
    assert "added    0 province, 1 kabkota, 2 kecamatan, 25 village" in out
    assert "retired  0 province, 0 kabkota, 2 kecamatan, 25 village" in out
    assert "split    3530 Kabupaten Pacitan Barat from 3501: 2 kecamatan, 25 villages move" in out
    assert "> village   3501012001 → 3530012001 Widoro" in out
    assert "> kecamatan 350102 → 353002 Pringkuku" in out
    assert out.count("\n  > ") == 27
    assert "no successor" not in out
    # nothing was loaded
    assert reference.current_edition(wh)[0] == DEFAULT


def test_a_successor_list_naming_a_code_the_edition_lacks_is_refused(tmp_path, split_folder):
    import shutil

    broken = tmp_path / "broken-edition"
    shutil.copytree(split_folder, broken)
    with (broken / "successors.csv").open("a", encoding="utf-8") as f:
        f.write("35.01.03.2001,35.30.03.2001\n")
    with pytest.raises(ValueError, match=r"row 28: 3501032001 → 3530032001"):
        reference.read_edition(broken)


def _edition_effective(tmp_path, split_folder, effective_on: str):
    import json
    import shutil

    folder = tmp_path / f"{split.NAME}-{effective_on}"
    shutil.copytree(split_folder, folder)
    (folder / "edition.json").write_text(json.dumps({"effective_on": effective_on}), encoding="utf-8")
    return folder


def _baseline_in_a_moved_village(wh, tmp_path, received_at):
    from datetime import date

    from dtks import merging
    from tests.builders import person, write_csv

    p = person("350101", "3501012001", 1, 1, "PRIYO", "L", date(1980, 3, 4), "1", "2026-06-01")
    merging.load_baseline(wh, write_csv(tmp_path / "baseline.csv", [p.row()]), "test-baseline", received_at)
    return p


def test_an_edition_cannot_rewrite_history_behind_a_later_record(wh, split_folder, tmp_path):
    from datetime import datetime

    from tests.builders import WIB

    _baseline_in_a_moved_village(wh, tmp_path, datetime(2026, 9, 2, 9, 0, tzinfo=WIB))  # after 1 Sep
    with pytest.raises(reference.EditionRefused, match=r"received later .*2026-09-02 09:00 WIB"):
        reference.load_reference(wh, split_folder)
    assert reference.current_edition(wh)[0] == DEFAULT  # nothing of the load stayed
    assert current_codes(wh)[0] is None


def test_an_edition_taking_effect_inside_a_closed_round_is_refused(wh, split_folder, tmp_path):
    from datetime import datetime

    from dtks import rounds
    from tests.builders import WIB

    _baseline_in_a_moved_village(wh, tmp_path, datetime(2026, 7, 31, 9, 0, tzinfo=WIB))
    rounds.create_round(wh, rounds.default_round("2026-08"))
    rounds.close_round(wh, "2026-08")  # closes at the end of 17 Aug
    with pytest.raises(reference.EditionRefused, match="inside round\\(s\\) 2026-08, which are already closed"):
        reference.load_reference(wh, _edition_effective(tmp_path, split_folder, "2026-08-10"))
    assert reference.current_edition(wh)[0] == DEFAULT
    # effective after the close: loaded, the person re-attributed
    loaded = reference.load_reference(wh, split_folder)
    assert (loaded.edition, loaded.persons_recoded) == (split.NAME, 1)


def test_a_confirmation_after_the_effective_date_also_blocks_the_rewrite(wh, split_folder, tmp_path, dirs):
    from datetime import datetime

    from dtks import rounds
    from tests.builders import WIB, land
    from tests.ingest.helpers import run_pipeline

    p = _baseline_in_a_moved_village(wh, tmp_path, datetime(2026, 7, 31, 9, 0, tzinfo=WIB))
    rounds.create_round(wh, rounds.default_round("2026-09"))
    land(
        dirs["landing"],
        "2026-09",
        "3501",
        "p.csv",
        [p.but(tanggal_verifikasi="2026-09-01")],
        datetime(2026, 9, 2, 9, 0, tzinfo=WIB),
    )
    run_pipeline(wh, dirs)
    with wh.connect() as conn:  # a confirmation: an event, no new version
        assert conn.execute(
            sa.text("SELECT array_agg(event ORDER BY received_at) FROM registry.individual_event WHERE nik = :n"),
            {"n": p.nik},
        ).scalar() == ["inserted", "confirmed"]
    with pytest.raises(reference.EditionRefused, match=r"received later .*2026-09-02 09:00 WIB"):
        reference.load_reference(wh, split_folder)
