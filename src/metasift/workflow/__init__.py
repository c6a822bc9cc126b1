"""The review's state and rules: who may decide, whether a stage is open, what the decisions
amount to, which studies go on, and every count. The CLI, the web app, ``metasift run`` and
the report call these functions and no rules of their own.

Entry points: :func:`review_state` (where the review stands: PRISMA counts, stages, team;
``metasift status``), :func:`prisma_counts` and its pure core :func:`tally`;
:func:`check_decision`, :func:`decide` and :func:`resolve` (decisions under the review's rules),
:func:`verdicts` and :func:`conflicts`; :func:`close_stage` and :func:`reopen_stage`;
:func:`add_reviewer` and :func:`require` (the team and its one role model);
:func:`list_reports`, :func:`retrieval_of`, :func:`fetch_reports`, :func:`attach_report`,
:func:`upload_report` (matched to its report, or held for :func:`attach_held`),
:func:`set_location`, :func:`mark_not_retrieved` and :func:`group_reports` (full text);
:func:`report_status`, :func:`full_text_outcome` and :func:`exclusion_reason` (where each
report stands: PRISMA's boxes and the report's lists of included, excluded and awaiting
studies); :func:`extraction_studies`; :func:`suggest_report` and
:func:`review_report_suggestion` (extraction suggestions from a report's full text, with the
rule of who may); :func:`add_note`, :func:`add_label`, :func:`set_highlight` (notes, labels
and highlight terms, with the rule of who may write them);
:func:`screening_progress` (the screening dashboard's figures); :class:`TeamScreening` (who
screens which record next, with leases, in the browser and the terminal); :func:`run_update`
(a living review's update: new searches as a round of their own, de-duplicated and scored).
Names load on first use, so importing the package stays cheap.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    agreement=["Agreement", "cohen_kappa", "fleiss_kappa"],
    annotations=[
        "Highlights",
        "Note",
        "add_label",
        "add_note",
        "highlights_of",
        "labelled_ids",
        "labels_of",
        "labels_on",
        "notes_on",
        "project_labels",
        "remove_highlight",
        "remove_label",
        "set_highlight",
    ],
    certainty=["Graded", "grade_review", "record_grade", "study_rob", "summary_of_findings"],
    closure=["StopState", "close_stage", "reopen_stage", "stop_state"],
    counts=["Snapshot", "load_snapshot", "prisma_counts", "tally"],
    decisions=[
        "FULL_TEXT",
        "STAGES",
        "TITLE_ABSTRACT",
        "Verdict",
        "check_decision",
        "conflicts",
        "decide",
        "resolve",
        "stage_closed",
        "verdicts",
        "visible_decisions",
    ],
    fulltext=[
        "FullTextOutcome",
        "Report",
        "exclusion_reason",
        "full_text_outcome",
        "Upload",
        "attach_held",
        "attach_report",
        "discard_held",
        "fetch_reports",
        "group_reports",
        "held_uploads",
        "included_reports",
        "list_reports",
        "mark_not_retrieved",
        "report_status",
        "retrieval_of",
        "set_location",
        "upload_report",
    ],
    handout=["TeamScreening"],
    prisma=["PrismaCounts"],
    progress=["Progress", "recall_curve", "screening_progress"],
    reviewers=[
        "ROLES",
        "Reviewer",
        "add_reviewer",
        "ensure_simulated_reviewer",
        "get_reviewer",
        "list_reviewers",
        "require",
    ],
    state=["ReviewState", "extraction_studies", "review_state"],
    text_suggestions=["review_report_suggestion", "study_of_report", "suggest_report"],
    update=["UpdateResult", "run_update", "update_windows"],
)
