"""Risk-of-bias tools: RoB 2, ROBINS-I and SYRCLE, with their published judgement rules.

Written by hand because no Python library implements them; each function follows a published
algorithm and names it:

* RoB 2 (Sterne et al., BMJ 2019;366:l4898; Higgins et al., revised tool guidance, 2019): the
  signalling questions of the five domains for individually randomised parallel-group trials
  and the algorithm mapping answers (Y/PY/PN/N/NI, NA where a question does not apply) to
  Low / Some concerns / High per domain; overall = worst domain, and "High" also when several
  domains raise some concerns in a way that substantially lowers confidence (a reviewer's call,
  passed as ``multiple_concerns_high``).
* ROBINS-I (Sterne et al., BMJ 2016;355:i4919): seven domains judged Low / Moderate / Serious /
  Critical / No information; the overall judgement follows the published table.
* SYRCLE (Hooijmans et al., BMC Med Res Methodol 2014;14:43): ten items answered Yes / No /
  Unclear, meaning low / high / unclear risk; SYRCLE reports items and no summary score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from metasift.errors import RobError

LOW, SOME, HIGH = "Low", "Some concerns", "High"
ANSWERS = ("Y", "PY", "PN", "N", "NI", "NA")
_YES = {"Y", "PY"}
_NO = {"N", "PN"}


@dataclass(frozen=True)
class Domain:
    key: str
    name: str
    questions: tuple[tuple[str, str], ...] = ()


# --- RoB 2 ------------------------------------------------------------------------------------

ROB2_DOMAINS: tuple[Domain, ...] = (
    Domain(
        "D1",
        "Randomisation process",
        (
            ("1.1", "Was the allocation sequence random?"),
            (
                "1.2",
                "Was the allocation sequence concealed until participants were enrolled "
                "and assigned to interventions?",
            ),
            (
                "1.3",
                "Did baseline differences between intervention groups suggest a problem "
                "with the randomisation process?",
            ),
        ),
    ),
    Domain(
        "D2",
        "Deviations from intended interventions",
        (
            ("2.1", "Were participants aware of their assigned intervention during the trial?"),
            (
                "2.2",
                "Were carers and people delivering the interventions aware of participants' "
                "assigned intervention during the trial?",
            ),
            (
                "2.3",
                "If Y/PY/NI to 2.1 or 2.2: Were there deviations from the intended "
                "intervention that arose because of the trial context?",
            ),
            ("2.4", "If Y/PY to 2.3: Were these deviations likely to have affected the outcome?"),
            (
                "2.5",
                "If Y/PY/NI to 2.4: Were these deviations from intended intervention "
                "balanced between groups?",
            ),
            (
                "2.6",
                "Was an appropriate analysis used to estimate the effect of assignment to "
                "intervention?",
            ),
            (
                "2.7",
                "If N/PN/NI to 2.6: Was there potential for a substantial impact (on the "
                "result) of the failure to analyse participants in the group to which they "
                "were randomised?",
            ),
        ),
    ),
    Domain(
        "D3",
        "Missing outcome data",
        (
            (
                "3.1",
                "Were data for this outcome available for all, or nearly all, participants "
                "randomised?",
            ),
            (
                "3.2",
                "If N/PN/NI to 3.1: Is there evidence that the result was not biased by "
                "missing outcome data?",
            ),
            ("3.3", "If N/PN to 3.2: Could missingness in the outcome depend on its true value?"),
            (
                "3.4",
                "If Y/PY/NI to 3.3: Is it likely that missingness in the outcome depended "
                "on its true value?",
            ),
        ),
    ),
    Domain(
        "D4",
        "Measurement of the outcome",
        (
            ("4.1", "Was the method of measuring the outcome inappropriate?"),
            (
                "4.2",
                "Could measurement or ascertainment of the outcome have differed between "
                "intervention groups?",
            ),
            (
                "4.3",
                "If N/PN/NI to 4.1 and 4.2: Were outcome assessors aware of the "
                "intervention received by study participants?",
            ),
            (
                "4.4",
                "If Y/PY/NI to 4.3: Could assessment of the outcome have been influenced "
                "by knowledge of intervention received?",
            ),
            (
                "4.5",
                "If Y/PY/NI to 4.4: Is it likely that assessment of the outcome was "
                "influenced by knowledge of intervention received?",
            ),
        ),
    ),
    Domain(
        "D5",
        "Selection of the reported result",
        (
            (
                "5.1",
                "Were the data that produced this result analysed in accordance with a "
                "pre-specified analysis plan that was finalised before unblinded outcome "
                "data were available for analysis?",
            ),
            (
                "5.2",
                "Is the numerical result being assessed likely to have been selected, on "
                "the basis of the results, from multiple eligible outcome measurements "
                "within the outcome domain?",
            ),
            ("5.3", "... from multiple eligible analyses of the data?"),
        ),
    ),
)


def _get(answers: Mapping[str, str], question: str) -> str:
    answer = answers.get(question)
    if answer is None:
        raise RobError(f"question {question} needs an answer (Y, PY, PN, N or NI)")
    answer = answer.strip().upper()
    if answer not in ANSWERS:
        raise RobError(f"question {question}: {answer!r} is not one of {', '.join(ANSWERS)}")
    return answer


def rob2_domain1(a: Mapping[str, str]) -> str:
    concealed = _get(a, "1.2")
    if concealed in _NO:
        return HIGH
    baseline_problem = _get(a, "1.3") in _YES
    if concealed == "NI":
        return HIGH if baseline_problem else SOME
    if _get(a, "1.1") in _NO:
        return SOME
    return SOME if baseline_problem else LOW


def rob2_domain2(a: Mapping[str, str]) -> str:
    """Effect of assignment to intervention: part 1 (2.1-2.5) and part 2 (2.6-2.7)."""
    aware = _get(a, "2.1") not in _NO or _get(a, "2.2") not in _NO
    if not aware:
        part1 = LOW
    else:
        context = _get(a, "2.3")
        if context in _NO:
            part1 = LOW
        elif context == "NI":
            part1 = SOME
        elif _get(a, "2.4") in _NO:
            part1 = SOME
        else:
            part1 = SOME if _get(a, "2.5") in _YES else HIGH
    if _get(a, "2.6") in _YES:
        part2 = LOW
    else:
        part2 = SOME if _get(a, "2.7") in _NO else HIGH
    return worst_rob2([part1, part2])


def rob2_domain3(a: Mapping[str, str]) -> str:
    if _get(a, "3.1") in _YES:
        return LOW
    if _get(a, "3.2") in _YES:
        return LOW
    if _get(a, "3.3") in _NO:
        return LOW
    return SOME if _get(a, "3.4") in _NO else HIGH


def rob2_domain4(a: Mapping[str, str]) -> str:
    if _get(a, "4.1") in _YES:
        return HIGH
    differed = _get(a, "4.2")
    if differed in _YES:
        return HIGH
    # With no information on 4.2 the best this domain can be is "Some concerns".
    floor = SOME if differed == "NI" else LOW
    if _get(a, "4.3") in _NO:
        return floor
    if _get(a, "4.4") in _NO:
        return floor
    return SOME if _get(a, "4.5") in _NO else HIGH


def rob2_domain5(a: Mapping[str, str]) -> str:
    selected = [_get(a, "5.2"), _get(a, "5.3")]
    if any(x in _YES for x in selected):
        return HIGH
    if any(x == "NI" for x in selected):
        return SOME
    return LOW if _get(a, "5.1") in _YES else SOME


ROB2_ALGORITHMS = {
    "D1": rob2_domain1,
    "D2": rob2_domain2,
    "D3": rob2_domain3,
    "D4": rob2_domain4,
    "D5": rob2_domain5,
}


def worst_rob2(judgements: list[str]) -> str:
    order = {LOW: 0, SOME: 1, HIGH: 2}
    for j in judgements:
        if j not in order:
            raise RobError(f"{j!r} is not a RoB 2 judgement (Low, Some concerns, High)")
    return max(judgements, key=order.__getitem__)


def rob2_overall(domains: Mapping[str, str], multiple_concerns_high: bool = False) -> str:
    """Overall RoB 2 judgement of a result from its five domain judgements."""
    missing = [d.key for d in ROB2_DOMAINS if d.key not in domains]
    if missing:
        raise RobError(f"RoB 2 overall needs all five domains; missing {', '.join(missing)}")
    overall = worst_rob2([domains[d.key] for d in ROB2_DOMAINS])
    concerns = sum(domains[d.key] == SOME for d in ROB2_DOMAINS)
    if overall == SOME and multiple_concerns_high and concerns >= 2:
        return HIGH
    return overall


# --- ROBINS-I ---------------------------------------------------------------------------------

ROBINS_JUDGEMENTS = ("Low", "Moderate", "Serious", "Critical", "No information")
# The signalling questions of ROBINS-I (2016), worded as in the tool; "aim" stands for the
# choice the tool asks for before domain 4 (which effect is assessed), which decides whether
# 4.1-4.2 or 4.3-4.6 are answered.
ROBINS_I_DOMAINS: tuple[Domain, ...] = (
    Domain(
        "D1",
        "Bias due to confounding",
        (
            (
                "1.1",
                "Is there potential for confounding of the effect of intervention in this study?",
            ),
            (
                "1.2",
                "If Y/PY to 1.1: Was the analysis based on splitting participants' follow up "
                "time according to intervention received?",
            ),
            (
                "1.3",
                "If Y/PY to 1.2: Were intervention discontinuations or switches likely to be "
                "related to factors that are prognostic for the outcome?",
            ),
            (
                "1.4",
                "Baseline confounding (N/PN/NI to 1.2 or 1.3): Did the authors use an "
                "appropriate analysis method that controlled for all the important "
                "confounding domains?",
            ),
            (
                "1.5",
                "If Y/PY to 1.4: Were confounding domains that were controlled for measured "
                "validly and reliably by the variables available in this study?",
            ),
            (
                "1.6",
                "Baseline confounding (N/PN/NI to 1.2 or 1.3): Did the authors control for any "
                "post-intervention variables that could have been affected by the "
                "intervention?",
            ),
            (
                "1.7",
                "Time-varying confounding (Y/PY to 1.3): Did the authors use an appropriate "
                "analysis method that controlled for all the important confounding domains "
                "and for time-varying confounding?",
            ),
            (
                "1.8",
                "If Y/PY to 1.7: Were confounding domains that were controlled for measured "
                "validly and reliably by the variables available in this study?",
            ),
        ),
    ),
    Domain(
        "D2",
        "Bias in selection of participants into the study",
        (
            (
                "2.1",
                "Was selection of participants into the study (or into the analysis) based on "
                "participant characteristics observed after the start of intervention?",
            ),
            (
                "2.2",
                "If Y/PY to 2.1: Were the post-intervention variables that influenced "
                "selection likely to be associated with intervention?",
            ),
            (
                "2.3",
                "If Y/PY to 2.2: Were the post-intervention variables that influenced "
                "selection likely to be influenced by the outcome or a cause of the outcome?",
            ),
            (
                "2.4",
                "Do start of follow-up and start of intervention coincide for most participants?",
            ),
            (
                "2.5",
                "If Y/PY to 2.2 and 2.3, or N/PN to 2.4: Were adjustment techniques used that "
                "are likely to correct for the presence of selection biases?",
            ),
        ),
    ),
    Domain(
        "D3",
        "Bias in classification of interventions",
        (
            ("3.1", "Were intervention groups clearly defined?"),
            (
                "3.2",
                "Was the information used to define intervention groups recorded at the start "
                "of the intervention?",
            ),
            (
                "3.3",
                "Could classification of intervention status have been affected by knowledge "
                "of the outcome or risk of the outcome?",
            ),
        ),
    ),
    Domain(
        "D4",
        "Bias due to deviations from intended interventions",
        (
            ("aim", "Which effect is assessed?"),
            (
                "4.1",
                "Effect of assignment: Were there deviations from the intended intervention "
                "beyond what would be expected in usual practice?",
            ),
            (
                "4.2",
                "If Y/PY to 4.1: Were these deviations from intended intervention unbalanced "
                "between groups and likely to have affected the outcome?",
            ),
            (
                "4.3",
                "Effect of starting and adhering: Were important co-interventions balanced "
                "across intervention groups?",
            ),
            (
                "4.4",
                "Effect of starting and adhering: Was the intervention implemented "
                "successfully for most participants?",
            ),
            (
                "4.5",
                "Effect of starting and adhering: Did study participants adhere to the "
                "assigned intervention regimen?",
            ),
            (
                "4.6",
                "If N/PN to 4.3, 4.4 or 4.5: Was an appropriate analysis used to estimate the "
                "effect of starting and adhering to the intervention?",
            ),
        ),
    ),
    Domain(
        "D5",
        "Bias due to missing data",
        (
            ("5.1", "Were outcome data available for all, or nearly all, participants?"),
            ("5.2", "Were participants excluded due to missing data on intervention status?"),
            (
                "5.3",
                "Were participants excluded due to missing data on other variables needed for "
                "the analysis?",
            ),
            (
                "5.4",
                "If PN/N to 5.1, or Y/PY to 5.2 or 5.3: Are the proportion of participants and "
                "reasons for missing data similar across interventions?",
            ),
            (
                "5.5",
                "If PN/N to 5.1, or Y/PY to 5.2 or 5.3: Is there evidence that results were "
                "robust to the presence of missing data?",
            ),
        ),
    ),
    Domain(
        "D6",
        "Bias in measurement of outcomes",
        (
            (
                "6.1",
                "Could the outcome measure have been influenced by knowledge of the "
                "intervention received?",
            ),
            (
                "6.2",
                "Were outcome assessors aware of the intervention received by study participants?",
            ),
            (
                "6.3",
                "Were the methods of outcome assessment comparable across intervention groups?",
            ),
            (
                "6.4",
                "Were any systematic errors in measurement of the outcome related to "
                "intervention received?",
            ),
        ),
    ),
    Domain(
        "D7",
        "Bias in selection of the reported result",
        (
            (
                "7.1",
                "Is the reported effect estimate likely to be selected, on the basis of the "
                "results, from multiple outcome measurements within the outcome domain?",
            ),
            ("7.2", "... from multiple analyses of the intervention-outcome relationship?"),
            ("7.3", "... from different subgroups?"),
        ),
    ),
)


def robins_i_overall(domains: Mapping[str, str], key_domains: list[str] | None = None) -> str:
    """Overall ROBINS-I judgement (Sterne et al. 2016, Table 3).

    Low: low in all domains. Moderate: low or moderate in all. Serious: serious in at least one,
    critical in none. Critical: critical in at least one. No information: no clear indication of
    serious or critical risk, and no information in one or more key domains (all domains unless
    ``key_domains`` says otherwise).
    """
    missing = [d.key for d in ROBINS_I_DOMAINS if d.key not in domains]
    if missing:
        raise RobError(f"ROBINS-I overall needs all seven domains; missing {', '.join(missing)}")
    values = {d.key: domains[d.key] for d in ROBINS_I_DOMAINS}
    for key, value in values.items():
        if value not in ROBINS_JUDGEMENTS:
            raise RobError(f"ROBINS-I {key}: {value!r} is not one of {ROBINS_JUDGEMENTS}")
    keys = key_domains or list(values)
    if "Critical" in values.values():
        return "Critical"
    if "Serious" in values.values():
        return "Serious"
    if any(values[k] == "No information" for k in keys):
        return "No information"
    if "Moderate" in values.values():
        return "Moderate"
    return "Low"


# --- SYRCLE -----------------------------------------------------------------------------------

SYRCLE_ANSWERS = ("Yes", "No", "Unclear")
SYRCLE_ITEMS: tuple[Domain, ...] = (
    Domain(
        "1",
        "Sequence generation",
        (("1", "Was the allocation sequence adequately generated and applied?"),),
    ),
    Domain(
        "2",
        "Baseline characteristics",
        (
            (
                "2",
                "Were the groups similar at baseline or "
                "were they adjusted for confounders in the "
                "analysis?",
            ),
        ),
    ),
    Domain("3", "Allocation concealment", (("3", "Was the allocation adequately concealed?"),)),
    Domain(
        "4", "Random housing", (("4", "Were the animals randomly housed during the experiment?"),)
    ),
    Domain(
        "5",
        "Blinding (performance)",
        (
            (
                "5",
                "Were the caregivers and/or investigators "
                "blinded from knowledge of which intervention "
                "each animal received during the "
                "experiment?",
            ),
        ),
    ),
    Domain(
        "6",
        "Random outcome assessment",
        (("6", "Were animals selected at random for outcome assessment?"),),
    ),
    Domain("7", "Blinding (detection)", (("7", "Was the outcome assessor blinded?"),)),
    Domain(
        "8",
        "Incomplete outcome data",
        (("8", "Were incomplete outcome data adequately addressed?"),),
    ),
    Domain(
        "9",
        "Selective outcome reporting",
        (("9", "Are reports of the study free of selective outcome reporting?"),),
    ),
    Domain(
        "10",
        "Other sources of bias",
        (
            (
                "10",
                "Was the study apparently free of other "
                "problems that could result in high risk of "
                "bias?",
            ),
        ),
    ),
)
_SYRCLE_RISK = {"Yes": "Low", "No": "High", "Unclear": "Unclear"}


def syrcle_item(answer: str) -> str:
    """Risk of bias of one SYRCLE item: Yes = low, No = high, Unclear = unclear."""
    normalised = answer.strip().capitalize()
    if normalised not in _SYRCLE_RISK:
        raise RobError(f"SYRCLE answer {answer!r} is not Yes, No or Unclear")
    return _SYRCLE_RISK[normalised]


# --- the tools as one table -------------------------------------------------------------------

TOOLS = {"rob2": ROB2_DOMAINS, "robins-i": ROBINS_I_DOMAINS, "syrcle": SYRCLE_ITEMS}
TOOL_NAMES = {"rob2": "RoB 2", "robins-i": "ROBINS-I", "syrcle": "SYRCLE"}
JUDGEMENTS = {
    "rob2": (LOW, SOME, HIGH),
    "robins-i": ROBINS_JUDGEMENTS,
    "syrcle": ("Low", "Unclear", "High"),
}


def domain_judgement(tool: str, domain: str, answers: Mapping[str, str]) -> str | None:
    """The algorithm's judgement of a domain from its answers, None if the tool has none."""
    if tool == "rob2":
        if domain not in ROB2_ALGORITHMS:
            raise RobError(f"RoB 2 has domains D1-D5, not {domain!r}")
        return ROB2_ALGORITHMS[domain](answers)
    if tool == "syrcle":
        if domain not in {d.key for d in SYRCLE_ITEMS}:
            raise RobError(f"SYRCLE has items 1-10, not {domain!r}")
        answer = answers.get(domain) or answers.get("answer")
        return syrcle_item(answer) if answer else None
    if tool == "robins-i":
        if domain not in {d.key for d in ROBINS_I_DOMAINS}:
            raise RobError(f"ROBINS-I has domains D1-D7, not {domain!r}")
        return None
    raise RobError(f"unknown risk-of-bias tool {tool!r} (rob2, robins-i, syrcle)")


def overall_judgement(tool: str, domains: Mapping[str, str]) -> str | None:
    """Overall judgement by the tool's rule; None for SYRCLE (which has none)."""
    if tool == "rob2":
        return rob2_overall(domains)
    if tool == "robins-i":
        return robins_i_overall(domains)
    return None


def overall_so_far(tool: str, domains: Mapping[str, str]) -> str | None:
    """The overall judgement that the domains judged so far already settle: the tool's rule
    when every domain is judged; otherwise, since the overall judgement is at least as severe
    as the worst domain (RoB 2: any High domain; ROBINS-I: any Critical domain), that worst
    judgement; None while it is still open.

    :param tool: rob2, robins-i or syrcle.
    :param domains: domain key -> judgement, for the domains judged.
    """
    keys = {"rob2": ROB2_DOMAINS, "robins-i": ROBINS_I_DOMAINS}.get(tool)
    if keys is None:
        return None
    if all(d.key in domains for d in keys):
        return overall_judgement(tool, domains)
    worst = HIGH if tool == "rob2" else "Critical"
    return worst if worst in domains.values() else None


# --- which signalling questions apply --------------------------------------------------------
# A question prefixed "If ... to x.y" in the tool applies only when the earlier answers say so;
# otherwise its answer is NA. The conditions are data, so that the web form hides the same
# questions this module skips (the page is sent :func:`question_rules`, never a copy of them).

_YN = ("Y", "PY", "PN", "N")
_DEFAULT_OPTIONS = ("Y", "PY", "PN", "N", "NI")
ANSWER_LABELS = {
    "Y": "Yes",
    "PY": "Probably yes",
    "PN": "Probably no",
    "N": "No",
    "NI": "No information",
    "NA": "Not applicable",
    "assignment": "The effect of assignment to intervention",
    "adherence": "The effect of starting and adhering to intervention",
}
YES_NI = ("Y", "PY", "NI")
NO_NI = ("N", "PN", "NI")


@dataclass(frozen=True)
class Condition:
    """When a question applies: ``any`` (or ``all``) of ``when``'s earlier questions has one
    of its listed answers. An unanswered or not applicable question satisfies nothing."""

    when: tuple[tuple[str, tuple[str, ...]], ...]
    mode: str = "any"

    def holds(self, answers: Mapping[str, str]) -> bool:
        """Whether the question applies.

        Args:
            answers: question -> answer so far ("NA" for questions that do not apply).
        """
        met = [answers.get(q, "") in allowed for q, allowed in self.when]
        return any(met) if self.mode == "any" else all(met)

    def as_data(self) -> dict[str, object]:
        """The condition as JSON data: ``{"mode": "any", "when": [[question, answers]]}``."""
        return {"mode": self.mode, "when": [[q, list(allowed)] for q, allowed in self.when]}


def _if(*when: tuple[str, tuple[str, ...]], mode: str = "any") -> Condition:
    return Condition(tuple(when), mode)


CONDITIONS: dict[str, dict[str, Condition]] = {
    # RoB 2 (individually randomised, effect of assignment): the "If ..." of each question.
    "rob2": {
        "2.3": _if(("2.1", YES_NI), ("2.2", YES_NI)),
        "2.4": _if(("2.3", ("Y", "PY"))),
        "2.5": _if(("2.4", YES_NI)),
        "2.7": _if(("2.6", NO_NI)),
        "3.2": _if(("3.1", NO_NI)),
        "3.3": _if(("3.2", ("N", "PN"))),
        "3.4": _if(("3.3", YES_NI)),
        "4.3": _if(("4.1", NO_NI), ("4.2", NO_NI), mode="all"),
        "4.4": _if(("4.3", YES_NI)),
        "4.5": _if(("4.4", YES_NI)),
    },
    # ROBINS-I: 1.4-1.6 for baseline confounding only, 1.7-1.8 when it also varies in time;
    # "2.2 and 2.3" reduces to 2.3, which applies only after Y/PY to 2.2.
    "robins-i": {
        "1.2": _if(("1.1", ("Y", "PY"))),
        "1.3": _if(("1.2", ("Y", "PY"))),
        "1.4": _if(("1.2", NO_NI), ("1.3", NO_NI)),
        "1.5": _if(("1.4", ("Y", "PY"))),
        "1.6": _if(("1.2", NO_NI), ("1.3", NO_NI)),
        "1.7": _if(("1.3", ("Y", "PY"))),
        "1.8": _if(("1.7", ("Y", "PY"))),
        "2.2": _if(("2.1", ("Y", "PY"))),
        "2.3": _if(("2.2", ("Y", "PY"))),
        "2.5": _if(("2.3", ("Y", "PY")), ("2.4", ("N", "PN"))),
        "4.1": _if(("aim", ("assignment",))),
        "4.2": _if(("4.1", ("Y", "PY"))),
        "4.3": _if(("aim", ("adherence",))),
        "4.4": _if(("aim", ("adherence",))),
        "4.5": _if(("aim", ("adherence",))),
        "4.6": _if(("4.3", ("N", "PN")), ("4.4", ("N", "PN")), ("4.5", ("N", "PN"))),
        "5.4": _if(("5.1", ("N", "PN")), ("5.2", ("Y", "PY")), ("5.3", ("Y", "PY"))),
        "5.5": _if(("5.1", ("N", "PN")), ("5.2", ("Y", "PY")), ("5.3", ("Y", "PY"))),
    },
    "syrcle": {},
}

# The answers a question offers where the tool offers fewer than Y/PY/PN/N/NI.
OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "rob2": {"3.2": _YN},
    "robins-i": {"1.1": _YN, "aim": ("assignment", "adherence")},
}


def _domain(tool: str, domain: str) -> Domain:
    if tool not in TOOLS:
        raise RobError(f"unknown risk-of-bias tool {tool!r} (rob2, robins-i, syrcle)")
    for d in TOOLS[tool]:
        if d.key == domain:
            return d
    keys = ", ".join(d.key for d in TOOLS[tool])
    raise RobError(f"{TOOL_NAMES[tool]} has domains {keys}, not {domain!r}")


def answer_options(tool: str, question: str) -> tuple[str, ...]:
    """The answers ``question`` of ``tool`` offers (NA is never chosen: it is what a question
    that does not apply gets).

    Args:
        tool: rob2, robins-i or syrcle.
        question: the question's key ("2.3").
    """
    if tool == "syrcle":
        return SYRCLE_ANSWERS
    return OPTIONS.get(tool, {}).get(question, _DEFAULT_OPTIONS)


def applicable_questions(tool: str, domain: str, answers: Mapping[str, str]) -> list[str]:
    """The questions of ``domain`` that apply given ``answers``, in the tool's order.

    Args:
        tool: rob2, robins-i or syrcle.
        domain: the domain's key ("D2").
        answers: question -> answer given so far (answers to questions that do not apply are
            ignored, as the tool says to).
    """
    conditions = CONDITIONS.get(tool, {})
    effective: dict[str, str] = {}
    out = []
    for key, _text in _domain(tool, domain).questions:
        condition = conditions.get(key)
        if condition is None or condition.holds(effective):
            out.append(key)
            effective[key] = (answers.get(key) or "").strip()
        else:
            effective[key] = "NA"
    return out


def settled_answers(tool: str, domain: str, answers: Mapping[str, str]) -> dict[str, str]:
    """``answers`` as the tool reads them: every question that does not apply is NA, and an
    answer a question does not offer is refused (RobError). Unanswered questions that apply
    stay out, for the algorithm to ask for.

    Args:
        tool: rob2, robins-i or syrcle.
        domain: the domain's key.
        answers: question -> answer as given.
    """
    given = {k: v.strip() for k, v in answers.items() if v and v.strip()}
    if tool == "rob2":
        given = {k: v.upper() for k, v in given.items()}
    elif tool == "syrcle":
        given = {k: v.capitalize() for k, v in given.items()}
    questions = [key for key, _text in _domain(tool, domain).questions]
    unknown = sorted(set(given) - set(questions))
    if unknown:
        raise RobError(f"{domain} has no question {', '.join(unknown)}")
    applies = set(applicable_questions(tool, domain, given))
    out: dict[str, str] = {}
    for key in questions:
        if key not in applies:
            out[key] = "NA"
        elif key in given:
            options = answer_options(tool, key)
            if given[key] not in options:
                raise RobError(f"question {key}: {given[key]!r} is not one of {', '.join(options)}")
            out[key] = given[key]
    return out


def proposal(tool: str, domain: str, answers: Mapping[str, str]) -> tuple[str | None, str]:
    """The algorithm's judgement of a domain so far, and a note when it has none yet.

    Returns ``(judgement, "")``, or ``(None, why)``: a question still to answer, or a tool that
    publishes no rule from answers to judgements (ROBINS-I), for the reviewer to judge.

    Args:
        tool: rob2, robins-i or syrcle.
        domain: the domain's key.
        answers: question -> answer given so far.
    """
    if tool == "robins-i":
        _domain(tool, domain)
        return None, "ROBINS-I gives no rule from the answers to a judgement: judge from them."
    try:
        judged = domain_judgement(tool, domain, settled_answers(tool, domain, answers))
    except RobError as exc:
        return None, str(exc)
    return judged, "" if judged else "answer the question"


def question_rules(tool: str) -> dict[str, dict[str, object]]:
    """The conditions of ``tool``'s questions as plain data (question -> ``{"mode", "when"}``),
    for the web form to show and hide questions as the reviewer answers.

    Args:
        tool: rob2, robins-i or syrcle.
    """
    if tool not in TOOLS:
        raise RobError(f"unknown risk-of-bias tool {tool!r} (rob2, robins-i, syrcle)")
    return {key: c.as_data() for key, c in CONDITIONS.get(tool, {}).items()}
