"""The demo population drawn and changed: identifiers, people and households, the baseline, each district's update.

Every random choice comes from ``random.Random`` instances seeded from the
seed and a purpose string (``rng``), so the same seed gives the same people.
``build_update`` says what a district's file of a round contains (confirmations,
changes, deaths, moves, births, new households); ``apply`` makes it the new state.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from dtks.devtools.people import (
    ACTIVE_SHARE,
    BASELINE_LAST_DAY,
    FAMILY_NAMES,
    FEMALE_GIVEN,
    FEMALE_SECOND,
    HAMLETS,
    HOUSEHOLD_SIZE_WEIGHTS,
    MALE_GIVEN,
    MALE_SECOND,
    OLDEST_VISIT,
    RECENT_FROM,
    SPELLING_VARIANTS,
    STALE_SHARE,
    STREETS,
    District,
    Household,
    Person,
    Reference,
    Row,
    add_years,
    person_values,
    rand_date,
    years_between,
)
from dtks.identifiers import build_kk, build_nik, nik_birth_part
from dtks.rounds import Round
from dtks.schema import HEAD_OF_FAMILY, STATUS_FOUND


class Population:
    def __init__(self, seed: int, ref: Reference, households_per_district: int):
        self.seed = seed
        self.ref = ref
        self.households_per_district = households_per_district
        self.nik_serial: dict[str, int] = {}
        self.kk_serial: dict[str, int] = {}
        self.districts: dict[str, District] = {}

    def rng(self, *purpose: object) -> random.Random:
        return random.Random("/".join([str(self.seed), *map(str, purpose)]))

    # -- identifiers -------------------------------------------------------

    def new_nik(self, kecamatan: str, born: date, female: bool) -> str:
        prefix = kecamatan + nik_birth_part(born, female)
        serial = self.nik_serial.get(prefix, 0) + 1
        self.nik_serial[prefix] = serial
        return build_nik(kecamatan, born, female, serial)

    def new_kk(self, kecamatan: str, issued: date) -> str:
        prefix = kecamatan + issued.strftime("%d%m%y")
        serial = self.kk_serial.get(prefix, 0) + 1
        self.kk_serial[prefix] = serial
        return build_kk(kecamatan, issued, serial)

    def new_pid(self, district: District) -> str:
        pid = f"DT{district.code}{district.next_pid:07d}"
        district.next_pid += 1
        return pid

    # -- people and households ----------------------------------------------

    @staticmethod
    def name(rng: random.Random, female: bool) -> str:
        given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
        if given == "MUHAMMAD" and rng.random() < 0.3:
            given = "MUHAMAD"
        elif given == "AHMAD" and rng.random() < 0.3:
            given = "ACHMAD"
        roll = rng.random()
        if roll < 0.45:
            return given
        if roll < 0.9:
            second = rng.choice(FEMALE_SECOND if female else MALE_SECOND)
            return given if second == given else f"{given} {second}"
        return f"{given} {rng.choice(FAMILY_NAMES)}"

    def person(
        self,
        rng: random.Random,
        district: District,
        village: str,
        born: date,
        female: bool,
        hub: str,
        ibu: str,
        pbi: str,
        migrant_share: float = 0.10,
    ) -> Person:
        kecamatan = village[:6]
        if rng.random() < migrant_share:
            while True:
                kecamatan = rng.choice(self.ref.all_kecamatan)
                if kecamatan[:4] != district.code:
                    break
        if rng.random() < 0.8:
            tempat = self.ref.regency_place.get(kecamatan[:4]) or self.ref.regency_place[district.code]
        else:
            tempat = self.ref.regency_place[rng.choice(self.ref.all_regencies)]
        return Person(
            pid=self.new_pid(district),
            nik=self.new_nik(kecamatan, born, female),
            nama=self.name(rng, female),
            sex="P" if female else "L",
            tempat=tempat,
            lahir=born,
            hub=hub,
            ibu=ibu,
            pbi=pbi,
        )

    @staticmethod
    def born_at_age(rng: random.Random, as_of: date, age: int) -> date:
        return as_of - timedelta(days=int(age * 365.25) + rng.randint(0, 364))

    @staticmethod
    def address(rng: random.Random, village: str) -> tuple[str, str, str]:
        if village[6] == "1":  # kelurahan: streets
            alamat = f"JL. {rng.choice(STREETS)} NO. {rng.randint(1, 150)}"
        else:  # desa: hamlets
            alamat = f"DUSUN {rng.choice(HAMLETS)}"
        return alamat, f"{rng.randint(1, 15):03d}", f"{rng.randint(1, 10):03d}"

    def household(
        self, rng: random.Random, district: District, village: str, visit: date, kk_issued_from: date
    ) -> Household:
        """A new household as found at a visit on `visit`; all dates <= visit."""
        size = rng.choices([s for s, _ in HOUSEHOLD_SIZE_WEIGHTS], weights=[w for _, w in HOUSEHOLD_SIZE_WEIGHTS])[0]
        head_age = rng.randint(25, 85) if size == 1 else rng.randint(21, 72)
        head_female = rng.random() < (0.5 if size == 1 else 0.12)
        pkh = "1" if rng.random() < 0.25 else "0"
        bpnt = "1" if rng.random() < (0.7 if pkh == "1" else 0.4) else "0"
        base_pbi = "1" if rng.random() < 0.6 else "0"

        def pbi() -> str:
            return base_pbi if rng.random() < 0.9 else ("0" if base_pbi == "1" else "1")

        head_born = self.born_at_age(rng, visit, head_age)
        issued_from = max(kk_issued_from, add_years(head_born, 17))
        issued = rand_date(rng, min(issued_from, visit), visit)
        alamat, rt, rw = self.address(rng, village)
        h = Household(self.new_kk(village[:6], issued), alamat, rt, rw, village, visit, pkh, bpnt)

        head = self.person(rng, district, village, head_born, head_female, HEAD_OF_FAMILY, self.name(rng, True), pbi())
        h.members.append(head)
        remaining = size - 1
        mother_name = head.nama if head_female else None
        if remaining and rng.random() < (0.1 if head_female else 0.9):
            gap = rng.randint(-3, 8) if head_female else rng.randint(-8, 3)  # husbands a bit older
            spouse_age = max(18, head_age + gap)
            spouse = self.person(
                rng,
                district,
                village,
                self.born_at_age(rng, visit, spouse_age),
                not head_female,
                "2",
                self.name(rng, True),
                pbi(),
            )
            h.members.append(spouse)
            remaining -= 1
            if not head_female:
                mother_name = spouse.nama
        if remaining and head_age < 58 and rng.random() < 0.12:
            parent_age = min(95, head_age + rng.randint(20, 32))
            h.members.append(
                self.person(
                    rng,
                    district,
                    village,
                    self.born_at_age(rng, visit, parent_age),
                    rng.random() < 0.7,
                    "6",
                    self.name(rng, True),
                    pbi(),
                )
            )
            remaining -= 1
        children = []
        max_child_age = max(0, min(head_age - 18, 30))
        for _ in range(remaining):
            roll = rng.random()
            if head_age > 55 and roll < 0.2:
                hub, age, ibu = "5", rng.randint(0, 12), self.name(rng, True)
            elif roll < 0.04:
                hub, age, ibu = "8", rng.randint(5, 60), self.name(rng, True)
            else:
                hub, age = "3", rng.randint(0, max_child_age)
                ibu = mother_name or self.name(rng, True)
            children.append((age, hub, ibu))
        children.sort(key=lambda item: -item[0])
        for age, hub, ibu in children:
            h.members.append(
                self.person(
                    rng, district, village, self.born_at_age(rng, visit, age), rng.random() < 0.5, hub, ibu, pbi()
                )
            )
        return h

    # -- baseline -------------------------------------------------------------

    def build_baseline(self) -> None:
        codes = list(self.ref.districts)
        rng = self.rng("behaviour")
        order = codes[:]
        rng.shuffle(order)
        n_stale = round(len(codes) * STALE_SHARE)
        n_active = round(len(codes) * ACTIVE_SHARE)
        behaviour = {}
        for i, code in enumerate(order):
            behaviour[code] = "stale" if i < n_stale else ("active" if i < n_stale + n_active else "partial")

        for code in codes:
            rng = self.rng("baseline", code)
            is_kota = int(code[2:4]) >= 71
            factor = rng.uniform(1.2, 2.0) if is_kota else rng.uniform(0.5, 1.5)
            n_households = max(1, round(self.households_per_district * factor))
            all_villages = self.ref.district_villages[code]
            n_villages = min(len(all_villages), rng.randint(5, 20))
            villages = sorted(rng.sample(all_villages, n_villages))
            district = District(code=code, is_kota=is_kota, behaviour=behaviour[code], villages=villages)

            kind = behaviour[code]
            if kind == "stale":
                recent = set()
            else:
                share = rng.uniform(0.05, 0.45) if kind == "partial" else rng.uniform(0.65, 0.95)
                count = int(share * n_households)
                if kind == "active":
                    count = max(count, n_households // 2 + 1)
                recent = set(rng.sample(range(n_households), min(count, n_households)))
            for i in range(n_households):
                if kind == "stale":
                    visit = rand_date(rng, OLDEST_VISIT, date(2017, 12, 31))
                elif i in recent:
                    visit = rand_date(rng, RECENT_FROM, BASELINE_LAST_DAY)
                else:
                    visit = rand_date(rng, OLDEST_VISIT, RECENT_FROM - timedelta(days=1))
                village = rng.choice(villages)
                district.households.append(
                    self.household(rng, district, village, visit, kk_issued_from=date(2005, 1, 1))
                )
            self.districts[code] = district

    # -- a district's update ------------------------------------------------------

    def build_update(self, rng: random.Random, district: District, cal: Round, arrival: datetime) -> list[Row]:
        """The intended (clean) rows of a district's submission; state is not touched."""
        households = [h for h in district.households if h.active_members()]
        window_end = arrival.date() - timedelta(days=1)
        window_start = cal.opens_on - timedelta(days=30)
        rows: list[Row] = []
        if households:
            k = max(1, round(len(households) * rng.uniform(0.2, 0.4)))
            picked = sorted(rng.sample(range(len(households)), min(k, len(households))))
        else:
            picked = []
        for index in picked:
            h = households[index]
            start = max(h.verif + timedelta(days=1), window_start)
            visit = rand_date(rng, start, window_end) if start <= window_end else max(h.verif, window_end)
            hv = {
                "no_kk": h.kk,
                "alamat": h.alamat,
                "rt": h.rt,
                "rw": h.rw,
                "kode_desa": h.desa,
                "pkh": h.pkh,
                "bpnt": h.bpnt,
            }
            roll = rng.random()
            if roll < 0.05:  # moved within the district
                if rng.random() < 0.5:
                    hv["kode_desa"] = rng.choice(self.ref.district_villages[district.code])
                hv["alamat"], hv["rt"], hv["rw"] = self.address(rng, hv["kode_desa"])
            elif roll < 0.12:  # programme flags changed
                key = rng.choice(("pkh", "bpnt"))
                hv[key] = "0" if hv[key] == "1" else "1"
            whole_moved = rng.random() < 0.01
            members = h.active_members()
            names = {m.pid: m.nama for m in members}
            pbis = {m.pid: m.pbi for m in members}
            if rng.random() < 0.05:  # name spelling fixed to match the KTP
                fixable = [m for m in members if any(w in SPELLING_VARIANTS for w in m.nama.split())]
                if fixable:
                    m = rng.choice(fixable)
                    names[m.pid] = " ".join(SPELLING_VARIANTS.get(w, w) for w in m.nama.split())
            if roll >= 0.05 and roll < 0.12 and rng.random() < 0.5:
                m = rng.choice(members)
                pbis[m.pid] = "0" if pbis[m.pid] == "1" else "1"
            single = len(members) == 1
            for m in members:
                status = STATUS_FOUND
                age = years_between(visit, m.lahir)
                if whole_moved:
                    status = "2"
                elif m.hub != HEAD_OF_FAMILY or single:
                    if rng.random() < 0.004 + (0.05 if age >= 65 else 0.0):
                        status = "3"
                    elif m.hub != HEAD_OF_FAMILY and 17 <= age <= 40 and rng.random() < 0.04:
                        status = "2"
                    elif m.hub != HEAD_OF_FAMILY and rng.random() < 0.003:
                        status = "4"
                values = person_values(m, h, status=status, verif=visit, household_values=hv)
                values["nama"] = names[m.pid]
                values["pbi"] = pbis[m.pid]
                rows.append(Row(values, m, h))
            if not whole_moved:
                mothers = [
                    m
                    for m in members
                    if m.sex == "P" and m.hub in ("1", "2") and 18 <= years_between(visit, m.lahir) <= 44
                ]
                if mothers and rng.random() < 0.08:
                    mother = mothers[0]
                    born = rand_date(rng, visit - timedelta(days=300), visit - timedelta(days=7))
                    born = max(born, add_years(mother.lahir, 18))
                    female = rng.random() < 0.5
                    child = Person(
                        pid=self.new_pid(district),
                        nik=self.new_nik(hv["kode_desa"][:6], born, female),
                        nama=self.name(rng, female),
                        sex="P" if female else "L",
                        tempat=self.ref.regency_place[district.code],
                        lahir=born,
                        hub="3",
                        ibu=mother.nama,
                        pbi=mother.pbi,
                    )
                    values = person_values(child, h, status=STATUS_FOUND, verif=visit, household_values=hv)
                    rows.append(Row(values, child, h, new_person=True))
        # A few newly registered households.
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            start = min(window_start, window_end)
            visit = rand_date(rng, start, window_end)
            village = rng.choice(district.villages)
            h = self.household(rng, district, village, visit, kk_issued_from=visit - timedelta(days=365))
            for m in h.members:
                rows.append(Row(person_values(m, h), m, h, new_person=True, new_household=True))
        return rows

    @staticmethod
    def apply(district: District, rows: list[Row], defective: set[int]) -> None:
        """Merge the clean rows into the generator's registry state."""
        new_households: dict[int, tuple[Household, list[Row]]] = {}
        touched: set[int] = set()
        for i, row in enumerate(rows):
            if row.new_household:
                entry = new_households.setdefault(id(row.household), (row.household, []))
                if i not in defective:
                    entry[1].append(row)
                continue
            if i in defective:
                continue
            h, v = row.household, row.values
            if id(h) not in touched:
                touched.add(id(h))
                h.alamat, h.rt, h.rw, h.desa = v["alamat"], v["rt"], v["rw"], v["kode_desa"]
                h.pkh, h.bpnt = v["pkh"], v["bpnt"]
                h.verif = date.fromisoformat(v["tanggal_verifikasi"])
            p = row.person
            if row.new_person:
                h.members.append(p)
            p.nama, p.status, p.pbi = v["nama"], v["status_keberadaan"], v["pbi"]
        for h, clean in new_households.values():
            if not any(r.person.hub == HEAD_OF_FAMILY for r in clean):
                continue  # the head row was quarantined: the family is not registered yet
            h.members = [r.person for r in clean]
            district.households.append(h)
