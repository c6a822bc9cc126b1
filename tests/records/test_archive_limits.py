"""Zip bombs in a SYNERGY folder are refused with a message naming the file and the limit."""

import shutil
import struct
import zipfile

import pytest

from metasift.errors import ImportFileError
from metasift.records.formats import archive, read_records
from tests.conftest import FIXTURES

MINI = FIXTURES / "synergy_mini"


def folder_with(tmp_path, member: str, data: bytes):
    folder = tmp_path / "bomb"
    folder.mkdir()
    shutil.copy(MINI / "labels.csv", folder / "labels.csv")
    with zipfile.ZipFile(folder / "works_1.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    return folder


def test_bomb_refused_from_headers(tmp_path):
    # 64 MiB of one byte packs to ~64 KB: a ratio of ~1000, refused before anything unpacks
    folder = folder_with(tmp_path, "works_1.json", b"[" + b" " * (64 * 2**20) + b"]")
    assert (folder / "works_1.zip").stat().st_size < 2**20
    with pytest.raises(ImportFileError) as info:
        read_records(folder)
    message = str(info.value)
    assert f"{folder / 'works_1.zip'}:works_1.json" in message
    assert "more than 100 times its packed size" in message
    assert "refused as a possible zip bomb" in message


def test_member_and_total_caps(tmp_path, monkeypatch):
    folder = folder_with(tmp_path, "works_1.json", b"[]" + b" " * 3 * 2**20)
    monkeypatch.setattr(archive, "MAX_RATIO", 10**9)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 2**20)
    with pytest.raises(ImportFileError, match=r"works_1\.json: it unpacks to more than 1 MiB"):
        read_records(folder)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 2**30)
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 2**20)
    with pytest.raises(ImportFileError, match="the members unpack to more than 1 MiB in all"):
        read_records(folder)


def test_enforced_while_streaming(tmp_path, monkeypatch):
    # headers that pass the checks do not let a member unpack past the limits either
    folder = folder_with(tmp_path, "works_1.json", b"[]" + b" " * 3 * 2**20)
    monkeypatch.setattr(archive, "MAX_RATIO", 10**9)
    real = archive.LimitedArchive.__init__

    def trusting(self, zf, path, members):
        real(self, zf, path, [])  # skip the header check: only the streaming one is left

    monkeypatch.setattr(archive.LimitedArchive, "__init__", trusting)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 2 * 2**20)
    with pytest.raises(ImportFileError, match="it unpacks to more than 2 MiB"):
        read_records(folder)


def test_lying_header_is_a_damaged_archive(tmp_path):
    folder = folder_with(tmp_path, "works_1.json", b"[]" + b" " * 3 * 2**20)
    path = folder / "works_1.zip"
    data = bytearray(path.read_bytes())
    # declare 1000 bytes unpacked in the local header and the central directory
    local = data.index(b"PK\x03\x04")
    data[local + 22 : local + 26] = struct.pack("<I", 1000)
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 1000)
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFileError, match="not a readable zip archive"):
        read_records(folder)
