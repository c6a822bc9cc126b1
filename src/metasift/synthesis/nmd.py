"""The normalised mean difference (NMD) of preclinical meta-analysis (Vesterinen et al. 2014,
J Neurosci Methods 221:92-102), as an effect measure of :func:`metasift.synthesis.escalc`.

Animal studies measure outcomes on scales that differ between laboratories (an infarct volume
in mm^3 or in percent of the hemisphere, a behavioural score of one lab's devising), but most
report a sham-operated or normal group. The NMD expresses the treatment's effect as the share
of the injury it reverses: the distance between the control (diseased, untreated) and treated
means, in percent of the distance between the control and sham means::

    yi   = 100 * (m2i - m1i) / (m2i - m0i)
    sd*  = 100 * sd / |m2i - m0i|             for the treated (sd1i) and control (sd2i) arms
    vi   = sd1*^2 / n1i + sd2*^2 / n2i

with metafor's group names: group 1 treated (m1i, sd1i, n1i), group 2 control (m2i, sd2i, n2i),
and m0i the sham (or normal) mean. 0 % is no effect, 100 % a return to the sham's value;
the sign does not depend on whether higher scores are better, since numerator and denominator
change sign together. The sham group's SD is not used: it only fixes the scale.

Written here because no library computes it (metafor's escalc has no NMD); the formulas are
Vesterinen's, with metafor's argument names.
"""

from __future__ import annotations

import numpy as np

from metasift.synthesis.errors import SynthesisError, describe_rows

NMD_INPUTS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i", "m0i")


def nmd(
    arr: dict[str, np.ndarray], labels: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yi, vi, ni) of the normalised mean difference, in percent.

    :param arr: the inputs as arrays under metafor's names: m1i, sd1i, n1i (treated), m2i,
        sd2i, n2i (control), m0i (sham or normal animals).
    :param labels: study labels, to name the rows of an error.
    :returns: NMD (percent), its sampling variance, and the animals in the two arms.
    """
    m1i, sd1i, n1i, m2i, sd2i, n2i, m0i = (arr[name] for name in NMD_INPUTS)
    for bad, message in (
        ((sd1i < 0) | (sd2i < 0), "negative standard deviations"),
        ((n1i <= 0) | (n2i <= 0), "group sizes must be > 0"),
        (
            m2i == m0i,
            "the control mean equals the sham mean, so there is no injury to normalise by "
            "(the NMD is undefined; use MD or SMD for these studies)",
        ),
    ):
        rows = np.flatnonzero(bad).tolist()
        if rows:
            raise SynthesisError(f"{message}: {describe_rows(rows, labels)}.")
    injury = m2i - m0i
    yi = 100 * (m2i - m1i) / injury
    vi = (100 * sd1i / injury) ** 2 / n1i + (100 * sd2i / injury) ** 2 / n2i
    return yi, vi, n1i + n2i
