"""The defects districts' exports typically carry, injected into a file's rows and listed in the answer key.

A mixin of the generator (``dtks.devtools.generate``): it reads the
generator's ``defect_counts``, ``defect_rate`` and the population's
identifiers, and returns the file rows with the reason of each defect.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from dtks.devtools.people import District, Household, Person, Reference, Row, Values, person_values
from dtks.schema import HEAD_OF_FAMILY, STATUS_FOUND

ROW_DEFECTS: tuple[str, ...] = (
    "nik_not_16_digits",
    "nik_excel_corrupted",
    "nik_birth_mismatch",
    "nik_duplicate_in_file",
    "nama_blank",
    "village_unknown",
    "village_other_district",
    "verification_date_future",
    "kk_head_count",
    "nik_active_in_other_district",
)
FILE_DEFECTS: tuple[str, ...] = ("file_missing_columns", "file_unreadable", "file_empty")
DEFECT_REASONS: tuple[str, ...] = ROW_DEFECTS + FILE_DEFECTS
EXPECTED_DEFECTS_COLUMNS = ("round_id", "kabkota_code", "file", "file_row", "reason_code")

# Relative frequency of row-level defect types (NIK problems dominate in audits).
_DEFECT_WEIGHTS = {
    "nik_not_16_digits": 1.5,
    "nik_excel_corrupted": 1.5,
    "nik_birth_mismatch": 1.5,
    "nik_duplicate_in_file": 1.0,
    "nama_blank": 1.0,
    "village_unknown": 1.0,
    "village_other_district": 1.0,
    "verification_date_future": 1.0,
    "kk_head_count": 0.7,
    "nik_active_in_other_district": 1.0,
}


class DefectInjector:
    # What the generator (this mixin's host, with Population) provides.
    defect_counts: dict[str, int]
    ref: Reference
    if TYPE_CHECKING:

        def new_pid(self, district: District) -> str: ...

    # -- defects ------------------------------------------------------------------

    def defect_order(self, rng: random.Random) -> list[str]:
        """Defect types, least represented (by weight) first: coverage of every type."""
        keyed = [((self.defect_counts[t] + 1) / _DEFECT_WEIGHTS[t], rng.random(), t) for t in ROW_DEFECTS]
        return [t for _, _, t in sorted(keyed)]

    def inject(
        self,
        rng: random.Random,
        district: District,
        rows: list[Row],
        arrival: datetime,
        n_events: int,
        pool: list[tuple[Person, Household]],
        used_pool: set[str],
    ) -> tuple[list[tuple[Values, str | None]], set[int]]:
        """Apply n_events defects to copies of rows. Returns the file rows and the defective indices."""
        values = [dict(r.values) for r in rows]
        reasons: dict[int, str] = {}
        inserts: dict[int, list[Values]] = {}  # after row index -> inserted rows
        household_rows: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            household_rows.setdefault(id(r.household), []).append(i)

        # Households whose head leaves in this file (e.g. the whole family moved): a defect on another
        # member would keep that member active without a head, which the checks rightly report.
        head_leaves = {
            id(r.household)
            for r in rows
            if r.values["hubungan_keluarga"] == HEAD_OF_FAMILY and r.values["status_keberadaan"] != STATUS_FOUND
        }

        def free_existing() -> list[int]:
            return [
                i
                for i, r in enumerate(rows)
                if i not in reasons
                and not r.new_person
                and not (id(r.household) in head_leaves and r.values["hubungan_keluarga"] != HEAD_OF_FAMILY)
            ]

        for _ in range(n_events):
            for kind in self.defect_order(rng):
                if self._inject_one(
                    kind,
                    rng,
                    district,
                    rows,
                    values,
                    reasons,
                    inserts,
                    household_rows,
                    free_existing(),
                    arrival,
                    pool,
                    used_pool,
                ):
                    self.defect_counts[kind] += 1
                    break

        out: list[tuple[Values, str | None]] = []
        for i, v in enumerate(values):
            out.append((v, reasons.get(i)))
            for extra in inserts.get(i, []):
                out.append((extra, "nik_active_in_other_district"))
        return out, set(reasons)

    def _inject_one(
        self,
        kind: str,
        rng: random.Random,
        district: District,
        rows: list[Row],
        values: list[Values],
        reasons: dict[int, str],
        inserts: dict[int, list[Values]],
        household_rows: dict[int, list[int]],
        free: list[int],
        arrival: datetime,
        pool: list[tuple[Person, Household]],
        used_pool: set[str],
    ) -> bool:
        if kind == "kk_head_count":
            candidates: list[list[int]] = []
            for indices in household_rows.values():
                first = rows[indices[0]]
                if (
                    first.new_household
                    or len(indices) < 2
                    or indices[-1] in inserts
                    or any(i in reasons for i in indices)
                ):
                    continue
                if any(values[i]["hubungan_keluarga"] != HEAD_OF_FAMILY for i in indices):
                    candidates.append(indices)
            if not candidates:
                return False
            indices = rng.choice(candidates)
            others = [i for i in indices if values[i]["hubungan_keluarga"] != HEAD_OF_FAMILY]
            found = [i for i in others if values[i]["status_keberadaan"] == STATUS_FOUND]
            target = rng.choice(found or others)
            values[target]["hubungan_keluarga"] = HEAD_OF_FAMILY
            for i in indices:
                reasons[i] = kind
            return True
        if kind == "nik_duplicate_in_file":
            pairs = [
                (a, b)
                for a in free
                for b in free
                if a != b
                and values[a]["jenis_kelamin"] == values[b]["jenis_kelamin"]
                and rows[a].household is not rows[b].household
            ]
            if not pairs:
                return False
            a, b = rng.choice(pairs)
            values[b]["nik"] = values[a]["nik"]
            values[b]["tanggal_lahir"] = values[a]["tanggal_lahir"]  # so only the duplicate is wrong
            reasons[a] = reasons[b] = kind
            return True
        if kind == "nik_active_in_other_district":
            available = [(p, h) for p, h in pool if p.nik not in used_pool]
            hosts = [
                indices
                for indices in household_rows.values()
                if not rows[indices[0]].new_household
                and not any(reasons.get(i) == "kk_head_count" for i in indices)
                and any(values[i]["status_keberadaan"] == STATUS_FOUND for i in indices)
            ]
            if not available or not hosts:
                return False
            other, other_h = rng.choice(available)
            used_pool.add(other.nik)
            host = rng.choice(hosts)
            template = values[host[0]]
            extra = person_values(other, other_h)
            for key in ("no_kk", "alamat", "rt", "rw", "kode_desa", "tanggal_verifikasi", "pkh", "bpnt"):
                extra[key] = template[key]
            extra["id_dtks"] = self.new_pid(district)
            extra["hubungan_keluarga"] = "8"  # famili lain
            extra["status_keberadaan"] = STATUS_FOUND
            inserts.setdefault(host[-1], []).append(extra)
            return True
        if not free:
            return False
        i = rng.choice(free)
        v = values[i]
        if kind == "nik_not_16_digits":
            nik = v["nik"]
            pos = rng.randint(0, 15)
            if rng.random() < 0.5:
                v["nik"] = nik[:pos] + nik[pos + 1 :]
            else:
                v["nik"] = nik[:pos] + str(rng.randint(0, 9)) + nik[pos:]
        elif kind == "nik_excel_corrupted":
            v["nik"] = f"{int(v['nik']):.5E}" if rng.random() < 0.6 else v["nik"] + ".0"
        elif kind == "nik_birth_mismatch":
            born = date.fromisoformat(v["tanggal_lahir"])
            v["tanggal_lahir"] = (born - timedelta(days=rng.randint(1, 400))).isoformat()
        elif kind == "nama_blank":
            v["nama"] = ""
        elif kind == "village_unknown":
            kecamatan = v["kode_desa"][:6]
            for suffix in range(9999, 999, -1):
                code = f"{kecamatan}{suffix}"
                if code not in self.ref.villages:
                    v["kode_desa"] = code
                    break
        elif kind == "village_other_district":
            other_districts = [c for c in self.ref.districts if c != district.code]
            if not other_districts:
                return False
            v["kode_desa"] = rng.choice(self.ref.district_villages[rng.choice(other_districts)])
        elif kind == "verification_date_future":
            v["tanggal_verifikasi"] = (arrival.date() + timedelta(days=rng.randint(30, 200))).isoformat()
        else:  # pragma: no cover
            raise ValueError(kind)
        reasons[i] = kind
        return True
