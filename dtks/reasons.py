"""Whole-submission (critical) rejection reasons, in Bahasa Indonesia and English.

Row-level reasons live with their rules, in the expectation suites'
``meta`` (``expectations/*.json``). Messages never contain personal data:
they name a column, a count or a code, not a NIK or a name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    message_id: str
    message_en: str


CRITICAL_REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason(
            "file_empty",
            "Berkas kosong (0 baris data). Kirim ulang berkas hasil ekspor yang berisi data.",
            "The file is empty (no data rows). Send the exported file again with its data.",
        ),
        Reason(
            "file_unreadable",
            "Berkas tidak dapat dibaca sebagai CSV/XLSX (rusak atau bukan teks). Ekspor ulang dari SIKS-NG sebagai CSV UTF-8 atau XLSX.",
            "The file cannot be read as CSV/XLSX (corrupt or not text). Export it again from SIKS-NG as UTF-8 CSV or XLSX.",
        ),
        Reason(
            "file_missing_columns",
            "Kolom wajib tidak ditemukan: {columns}. Periksa baris judul kolom.",
            "Required columns not found: {columns}. Check the header row.",
        ),
        Reason(
            "file_wrong_district",
            "Sebagian besar baris ({share}) bukan milik kabupaten/kota {district}. Periksa apakah berkas dikirim ke folder yang benar.",
            "Most rows ({share}) do not belong to district {district}. Check that the file was sent to the right folder.",
        ),
        Reason(
            "archive_integrity",
            "Berkas arsip tidak lagi sama dengan yang diterima (sha256 berubah). Data tidak diproses; kirim ulang berkas yang sama.",
            "The archived file is no longer the one received (its sha256 changed). It was not processed; please send the same file again.",
        ),
        Reason(
            "file_too_large",
            "Berkas terlalu besar ({size} byte; batas {limit} byte). Pecah data per kecamatan dan kirim beberapa berkas, atau hubungi Pusdatin.",
            "The file is too large ({size} bytes; the limit is {limit} bytes). Split the data by kecamatan into several files, or contact Pusdatin.",
        ),
        Reason(
            "file_too_many_rows",
            "Berkas berisi lebih dari {limit} baris data. Pecah data per kecamatan dan kirim beberapa berkas.",
            "The file has more than {limit} data rows. Split the data by kecamatan into several files.",
        ),
        Reason(
            "file_too_many_columns",
            "Berkas memiliki {columns} kolom (batas {limit}). Berkas DTKS hanya berisi kolom data pemutakhiran; periksa hasil ekspor dan kirim ulang.",
            "The file has {columns} columns (the limit is {limit}). A DTKS file holds only the update's data columns; check the export and send it again.",
        ),
        Reason(
            "file_misplaced",
            "Berkas ditemukan di {found}, bukan di folder putaran dan kabupaten/kota. Letakkan berkas di <landing>/<putaran>/<kode kab/kota>/, misalnya 2026-08/3504/data.csv.",
            "The file was found in {found}, not in a round and district folder. Put files in <landing>/<round>/<district code>/, e.g. 2026-08/3504/data.csv.",
        ),
        Reason(
            "file_format_unsupported",
            "Format berkas tidak didukung ({format}). Kirim sebagai CSV (UTF-8) atau XLSX (Excel 2007 ke atas).",
            "File format not supported ({format}). Send it as CSV (UTF-8) or XLSX (Excel 2007 or later).",
        ),
        Reason(
            "file_archive_unsafe",
            "Berkas XLSX ditolak karena tidak aman ({problem}). Simpan ulang dari Excel sebagai XLSX biasa.",
            "The XLSX file was refused as unsafe ({problem}). Save it again from Excel as a plain XLSX workbook.",
        ),
        Reason(
            "manifest_missing",
            "Bukti proses pada manifest tidak lengkap: {missing}. Lampirkan nomor berita acara musyawarah desa/kelurahan (musdes_ref) serta nomor dan tanggal pengesahan bupati/wali kota (pengesahan_no, pengesahan_date).",
            "Process evidence missing from the manifest: {missing}. Include the village deliberation minutes reference (musdes_ref) and the district head's sign-off number and date (pengesahan_no, pengesahan_date).",
        ),
        Reason(
            "file_duplicate",
            "Isi berkas sama persis dengan kiriman #{original} ({district}, putaran {round_id}, diterima {received}); tidak diproses dua kali. Hasil kiriman itu: {outcome}.",
            "The file's content is identical to submission #{original} ({district}, round {round_id}, received {received}); it is not processed twice. That submission's outcome: {outcome}.",
        ),
        Reason(
            "round_closed",
            "Putaran pemutakhiran {round_id} sudah ditutup. Kirim data ke folder putaran yang sedang dibuka.",
            "Update round {round_id} is already closed. Send the data to the folder of the open round.",
        ),
        Reason(
            "round_unknown",
            "Putaran pemutakhiran '{round_id}' tidak terdaftar. Kirim ke folder putaran yang sedang dibuka.",
            "Update round '{round_id}' does not exist. Send the file to the folder of the open round.",
        ),
        Reason(
            "district_unknown",
            "Kode kabupaten/kota '{district}' pada nama folder tidak dikenal (harus 4 digit kode Kemendagri).",
            "District code '{district}' in the folder name is unknown (it must be a 4-digit Kemendagri code).",
        ),
        Reason(
            "district_not_expected",
            "Kabupaten/kota {district} tidak termasuk daftar yang diharapkan pada putaran {round_id}.",
            "District {district} is not in the expected set of round {round_id}.",
        ),
    )
}


class SubmissionRejected(Exception):
    """A whole submission is refused; carries a reason code and safe details."""

    def __init__(self, code: str, **details: object) -> None:
        self.code = code
        self.details = details
        super().__init__(self.message_en)

    @property
    def reason(self) -> Reason:
        return CRITICAL_REASONS[self.code]

    @property
    def message_id(self) -> str:
        return self.reason.message_id.format(**self.details)

    @property
    def message_en(self) -> str:
        return self.reason.message_en.format(**self.details)
