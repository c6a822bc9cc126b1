"""Data extraction and risk of bias.

Entry points (what the CLI, the web app and the report call, all in :mod:`stage`):
:func:`export_template` / :func:`import_template` (the CSV/XLSX round trip),
:func:`enter_value`, :func:`discrepancies` and :func:`reconcile` (double extraction),
:func:`run_suggestions` / :func:`review_suggestion` (automatic suggestions with provenance),
:func:`suggest_from_fulltext` / :func:`fulltext_suggestions` (suggestions from a stored full
text, with page or section, span and sentence, for the viewer to highlight),
:func:`record_rob` / :func:`rob_table` (risk of bias), :func:`evidence_map`,
:func:`characteristics` and :func:`analysis_rows` (the rows the meta-analysis plan reads).

The web app's forms call :mod:`entry` (the form saved whole, risk-of-bias tools domain by
domain) and keep unsaved work in :mod:`drafts`.

Pure cores: :mod:`forms` (the protocol's form), :mod:`validation` (typed cell values),
:mod:`suggest` (design, entities, numbers with provenance), :mod:`fulltext` and
:mod:`tables` (numbers from a full text's prose and tables), :mod:`rob` (RoB 2, ROBINS-I,
SYRCLE algorithms), :mod:`evidence` (evidence map and characteristics table),
:mod:`evaluate` (scoring against gold labels). Adapters: :mod:`template` (CSV/XLSX),
:mod:`store` (database), :mod:`plots` (matplotlib), :mod:`stage` (what the CLI calls).
Names load on first use, so importing the package stays cheap.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    drafts=["Draft", "delete_draft", "get_drafts", "put_draft"],
    entry=["DomainEntry", "FormCheck", "check_form", "rob_form", "save_form", "save_rob_form"],
    evaluate=["score"],
    evidence=["NOT_REPORTED", "CharacteristicsTable", "EvidenceMap", "evidence_counts"],
    forms=["Form", "extraction_settings"],
    fulltext=["suggest_fulltext"],
    fulltext_stage=["TextSuggestions", "fulltext_suggestions", "suggest_from_fulltext"],
    plots=["evidence_heatmap", "rob_by_study", "rob_columns", "summary_plot", "traffic_light"],
    rob=[
        "JUDGEMENTS",
        "TOOLS",
        "TOOL_NAMES",
        "answer_options",
        "applicable_questions",
        "proposal",
        "question_rules",
        "settled_answers",
    ],
    stage=[
        "Context",
        "Discrepancy",
        "ImportResult",
        "RobRow",
        "all_study_ids",
        "analysis_rows",
        "characteristics",
        "citation",
        "context",
        "design_model",
        "discrepancies",
        "enter_value",
        "evidence_map",
        "export_template",
        "final_values",
        "import_rows",
        "import_template",
        "reconcile",
        "reconcile_agreements",
        "record_rob",
        "review_suggestion",
        "rob_table",
        "run_suggestions",
        "study_records",
    ],
    store=["get_judgements", "get_suggestions", "get_values"],
    suggest=["predicted_fields", "suggest_all"],
)
