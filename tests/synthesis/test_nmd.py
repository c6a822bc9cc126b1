"""The normalised mean difference (Vesterinen et al. 2014) through escalc and a table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metasift.errors import SynthesisError
from metasift.synthesis import effect_sizes, escalc

# treated, control, sham: infarct volumes (higher is worse)
ARMS = {
    "m1i": [30.0, 52.0],
    "sd1i": [10.0, 12.5],
    "n1i": [8, 10],
    "m2i": [40.0, 60.0],
    "sd2i": [8.0, 15.0],
    "n2i": [10, 12],
    "m0i": [10.0, 20.0],
}


def test_nmd_follows_vesterinen() -> None:
    es = escalc("NMD", **ARMS)
    # 100 * (control - treated) / (control - sham); SD* = 100 * SD / (control - sham)
    assert es.yi[0] == pytest.approx(100 * 10 / 30)
    assert es.vi[0] == pytest.approx((100 * 10 / 30) ** 2 / 8 + (100 * 8 / 30) ** 2 / 10)
    assert es.yi[1] == pytest.approx(100 * 8 / 40)
    assert es.vi[1] == pytest.approx((100 * 12.5 / 40) ** 2 / 10 + (100 * 15 / 40) ** 2 / 12)
    assert list(es.ni) == [18, 22]
    assert es.measure == "NMD"


def test_nmd_does_not_depend_on_the_scale_or_its_direction() -> None:
    base = escalc("NMD", **ARMS)
    means = ("m1i", "m2i", "m0i")
    # another unit and origin: a * x + c
    moved = {
        k: [3 * x + 7 if k in means else (3 * x if k.startswith("sd") else x) for x in v]
        for k, v in ARMS.items()
    }
    # a score where higher is better: the NMD keeps its sign
    flipped = {k: [-x for x in v] if k in means else v for k, v in ARMS.items()}
    for other in (escalc("NMD", **moved), escalc("NMD", **flipped)):
        np.testing.assert_allclose(other.yi, base.yi)
        np.testing.assert_allclose(other.vi, base.vi)


def test_nmd_from_a_table_and_its_refusals() -> None:
    rows = [dict(zip(ARMS, values, strict=True)) for values in zip(*ARMS.values(), strict=True)]
    es = effect_sizes(rows, "NMD")
    assert es.yi[0] == pytest.approx(100 / 3)
    with pytest.raises(SynthesisError, match="m0i"):
        effect_sizes([{k: v for k, v in row.items() if k != "m0i"} for row in rows], "NMD")
    same = dict(ARMS, m0i=[40.0, 20.0])
    with pytest.raises(SynthesisError, match=r"control mean equals the sham mean.*: row 1\."):
        escalc("NMD", **same)
    missing = dict(ARMS, m1i=[math.nan, 52.0])
    assert np.isnan(escalc("NMD", **missing).yi[0])
