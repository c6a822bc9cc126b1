"""The extraction and risk-of-bias forms of a study: one Save per form, drafts kept as the
reviewer types, and each wrong field or domain saying why beside it.

The forms are partial templates (``_values_form.html``, ``_rob_form.html``) shown on the
study's page and beside its full text (:mod:`metasift.web.viewer`). Which signalling questions
apply, and what the tool's algorithm proposes, come from :mod:`metasift.extraction.rob`; the
page receives the conditions as data and only shows or hides questions with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from metasift.web.app import Ctx, Served, is_htmx
from metasift.web.routes import Posted

FIELD = "field:"
RADIO_LIMIT = 5  # more choices than this go in a drop-down list


def included_studies(ctx: Ctx) -> list[int]:
    """The studies that go to extraction (workflow's rule).

    Args:
        ctx: the request.
    """
    from metasift.workflow.state import extraction_studies

    return extraction_studies(ctx.engine, ctx.protocol)


def _study(ctx: Ctx, study_id: int) -> None:
    if study_id not in included_studies(ctx):
        raise HTTPException(404, "No such study among the included ones.")


# -- what the forms show -----------------------------------------------------------------------


def values_entries(ctx: Ctx, form: FormData) -> dict[str, Any]:
    """The extraction form as posted: field -> text, or the list ticked for a multi-choice.

    Args:
        ctx: the request (the protocol's form).
        form: the posted form, fields named ``field:<name>``.
    """
    from metasift.extraction.stage import context

    out: dict[str, Any] = {}
    for spec in context(ctx.protocol).form.fields:
        got = [v for v in form.getlist(FIELD + spec.name) if isinstance(v, str)]
        if spec.type == "multi_choice":
            out[spec.name] = got
        elif got:
            out[spec.name] = got[0]
    return out


def rob_entries(form: FormData, tool: str) -> dict[str, dict[str, Any]]:
    """A risk-of-bias form as posted: domain -> answers, judgement and support.

    Args:
        form: the posted form, fields named ``<domain>:answer:<question>``,
            ``<domain>:judgement`` and ``<domain>:support``.
        tool: rob2, robins-i or syrcle.
    """
    from metasift.extraction.rob import TOOLS

    out: dict[str, dict[str, Any]] = {}
    for domain in TOOLS[tool]:
        prefix = f"{domain.key}:"
        answers = {
            key[len(prefix) + len("answer:") :]: value.strip()
            for key, value in form.multi_items()
            if key.startswith(f"{prefix}answer:") and isinstance(value, str) and value.strip()
        }
        judgement, support = form.get(f"{prefix}judgement", ""), form.get(f"{prefix}support", "")
        out[domain.key] = {
            "answers": answers,
            "judgement": judgement.strip() if isinstance(judgement, str) else "",
            "support": support.strip() if isinstance(support, str) else "",
        }
    return out


def values_form(
    ctx: Ctx,
    study_id: int,
    *,
    entered: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    message: str = "",
) -> dict[str, Any]:
    """What ``_values_form.html`` shows: each field with its widget, current entry and error;
    the entry is what was posted, else the reviewer's draft, else their saved value.

    Args:
        ctx: the request (whose values and draft).
        study_id: the study.
        entered: what was posted, shown again with the errors.
        errors: field -> what it expects.
        message: said beside the Save button.
    """
    from metasift.extraction import drafts, store
    from metasift.extraction.entry import VALUES_FORM
    from metasift.extraction.stage import context
    from metasift.extraction.validation import format_value

    form_ctx = context(ctx.protocol)
    draft = None
    if entered is None:
        draft = drafts.get_drafts(ctx.engine, study_id, ctx.user.name).get(VALUES_FORM)
        if draft is not None:
            entered = draft.data
        else:
            saved = store.get_values(ctx.engine, [study_id], ctx.user.name)
            entered = {
                v.field: v.value if isinstance(v.value, list) else format_value(v.value)
                for v in saved
                if (v.arm, v.outcome, v.timepoint) == ("", "", "")
            }
    fields = []
    for spec in form_ctx.form.fields:
        choices = form_ctx.choices.get(spec.name, [])
        current = entered.get(spec.name, [] if spec.type == "multi_choice" else "")
        if spec.type == "multi_choice":
            current = [current] if isinstance(current, str) else list(current)
        elif isinstance(current, list):
            current = current[0] if current else ""
        if spec.type == "choice":
            widget = "radios" if len(choices) <= RADIO_LIMIT else "select"
        elif spec.type == "multi_choice":
            widget = "checkboxes"
        elif spec.type in ("number", "integer"):
            widget = "number"
        else:
            widget = "text"
        fields.append(
            {
                "spec": spec,
                "label": spec.form_label,
                "widget": widget,
                "choices": choices,
                "current": current,
                "error": (errors or {}).get(spec.name, ""),
            }
        )
    return {
        "study_id": study_id,
        "fields": fields,
        "draft": draft,
        "message": message,
        "has_errors": bool(errors),
    }


def rob_forms(
    ctx: Ctx,
    study_id: int,
    *,
    posted: Mapping[str, Mapping[str, dict[str, Any]]] | None = None,
    errors: Mapping[str, Mapping[str, str]] | None = None,
    message: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """What ``_rob_form.html`` shows for each tool: per domain, the questions that apply (all
    questions are sent, those that do not apply hidden, with their conditions as data), the
    answers, the algorithm's proposal and the reviewer's judgement.

    Args:
        ctx: the request (whose judgements and drafts).
        study_id: the study.
        posted: tool -> what was posted, shown again with the errors.
        errors: tool -> domain -> why it was not saved.
        message: tool -> said beside its Save button.
    """
    from metasift.extraction import drafts, store
    from metasift.extraction import rob as rob_tools
    from metasift.extraction.entry import rob_form

    saved: dict[str, dict[str, Any]] = {}
    for j in store.get_judgements(ctx.engine, [study_id]):
        if j.reviewer == ctx.user.name and j.result == "":
            overridden = j.algorithm is not None and j.judgement != j.algorithm
            saved.setdefault(j.tool, {})[j.domain] = {
                "answers": {k: v for k, v in j.answers.items() if v != "NA"},
                # A judgement taken from the algorithm stays "as proposed" in the form.
                "judgement": j.judgement if overridden or j.algorithm is None else "",
                "support": j.support,
            }
    found = drafts.get_drafts(ctx.engine, study_id, ctx.user.name)
    tools = []
    for tool, domains in rob_tools.TOOLS.items():
        draft = found.get(rob_form(tool))
        if posted and tool in posted:
            state = posted[tool]
        elif draft is not None:
            state = draft.data
        else:
            state = saved.get(tool, {})
        rules = rob_tools.question_rules(tool)
        shown_domains = []
        for domain in domains:
            entry = state.get(domain.key, {})
            answers = entry.get("answers", {})
            applies = set(rob_tools.applicable_questions(tool, domain.key, answers))
            proposed, why = rob_tools.proposal(tool, domain.key, answers)
            questions = [
                {
                    "key": key,
                    "text": text,
                    "options": [
                        (o, rob_tools.ANSWER_LABELS.get(o, o))
                        for o in rob_tools.answer_options(tool, key)
                    ],
                    "rule": json.dumps(rules[key]) if key in rules else "",
                    "shown": key in applies,
                    "answer": answers.get(key, ""),
                }
                for key, text in domain.questions
            ]
            shown_domains.append(
                {
                    "key": domain.key,
                    "name": domain.name,
                    "questions": questions,
                    "proposed": proposed,
                    "why": why if answers else "",
                    "judgement": entry.get("judgement", ""),
                    "support": entry.get("support", ""),
                    "error": (errors or {}).get(tool, {}).get(domain.key, ""),
                    "saved": domain.key in saved.get(tool, {}),
                }
            )
        tools.append(
            {
                "tool": tool,
                "name": rob_tools.TOOL_NAMES[tool],
                "judgements": rob_tools.JUDGEMENTS[tool],
                "domains": shown_domains,
                "draft": draft,
                "message": (message or {}).get(tool, ""),
                "open": bool(saved.get(tool) or draft or (posted and tool in posted)),
            }
        )
    return tools


def same_site(slug: str, path: str, fallback: str) -> str:
    """``path`` if it is a page of this project, else ``fallback`` (never another site).

    Args:
        slug: the project's slug.
        path: where the form asks to go back to.
        fallback: where to go otherwise.
    """
    ok = path.startswith(f"/p/{slug}/") and "//" not in path and "\\" not in path
    return path if ok else fallback


# -- routes --------------------------------------------------------------------------------------


def add_form_routes(app: FastAPI, served: Served) -> None:
    """The study page and its forms' saves and drafts.

    Args:
        app: the app.
        served: the served projects and their checks.
    """

    def study_page(ctx: Ctx, study_id: int, status: int = 200, **parts: Any) -> Response:
        from metasift.extraction import store
        from metasift.extraction.rob import TOOL_NAMES
        from metasift.extraction.stage import citation, context, study_records

        record = study_records(ctx.engine, [study_id])[study_id]
        return served.page(
            "study.html",
            ctx,
            status,
            study_id=study_id,
            record=record,
            label=citation(record),
            values_form=parts.get("values_form") or values_form(ctx, study_id),
            rob=parts.get("rob") or rob_forms(ctx, study_id),
            suggestions=store.get_suggestions(ctx.engine, [study_id]),
            field_labels={f.name: f.form_label for f in context(ctx.protocol).form.fields},
            tool_names=TOOL_NAMES,
            back=f"/p/{ctx.served.slug}/extract/{study_id}",
        )

    @app.get("/p/{slug}/extract/{study_id}", response_class=HTMLResponse)
    def study(request: Request, slug: str, study_id: int) -> Response:
        ctx = served.member(request, slug)
        _study(ctx, study_id)
        return study_page(ctx, study_id)

    @app.post("/p/{slug}/extract/{study_id}/form/values", response_class=HTMLResponse)
    def save_values(request: Request, slug: str, study_id: int, form: Posted) -> Response:
        from metasift.extraction.entry import save_form

        ctx = served.writer(request, slug, form)
        _study(ctx, study_id)
        entries = values_entries(ctx, form)
        checked = save_form(ctx.engine, ctx.protocol, study_id, entries, ctx.user.name)
        if checked.ok:
            shown = values_form(ctx, study_id, message="Saved.")
        else:
            n = len(checked.errors)
            said = f"Not saved: {n} field{'s' if n > 1 else ''} to correct."
            shown = values_form(ctx, study_id, entered=entries, errors=checked.errors, message=said)
        if is_htmx(request):
            return served.page("_values_form.html", ctx, vf=shown, back=_back(form, slug, study_id))
        if checked.ok:
            return RedirectResponse(_back(form, slug, study_id), status_code=303)
        return study_page(ctx, study_id, 422, values_form=shown)

    @app.post("/p/{slug}/extract/{study_id}/form/rob/{tool}", response_class=HTMLResponse)
    def save_rob(request: Request, slug: str, study_id: int, tool: str, form: Posted) -> Response:
        from metasift.extraction.entry import DomainEntry, save_rob_form
        from metasift.extraction.rob import TOOLS

        ctx = served.writer(request, slug, form)
        _study(ctx, study_id)
        if tool not in TOOLS:
            raise HTTPException(404, "No such risk-of-bias tool.")
        posted = rob_entries(form, tool)
        errors = save_rob_form(
            ctx.engine,
            study_id=study_id,
            tool=tool,
            reviewer=ctx.user.name,
            entries={d: DomainEntry(**e) for d, e in posted.items()},
        )
        if errors:
            n = len(errors)
            said = f"{n} domain{'s' if n > 1 else ''} not saved; the others are."
            tools = rob_forms(
                ctx, study_id, posted={tool: posted}, errors={tool: errors}, message={tool: said}
            )
        else:
            tools = rob_forms(ctx, study_id, message={tool: "Saved."})
        if is_htmx(request):
            one = next(t for t in tools if t["tool"] == tool)
            return served.page(
                "_rob_form.html", ctx, t=one, study_id=study_id, back=_back(form, slug, study_id)
            )
        if not errors:
            return RedirectResponse(_back(form, slug, study_id), status_code=303)
        return study_page(ctx, study_id, 422, rob=tools)

    @app.post("/p/{slug}/extract/{study_id}/draft/{name}")
    def save_draft(request: Request, slug: str, study_id: int, name: str, form: Posted):
        """Autosave: the form as it stands, kept as a draft; for a risk-of-bias tool, with
        what the algorithm proposes for each domain from the answers so far."""
        from metasift.extraction import drafts
        from metasift.extraction import rob as rob_tools
        from metasift.extraction.entry import VALUES_FORM, rob_form

        ctx = served.writer(request, slug, form)
        _study(ctx, study_id)
        proposals: dict[str, dict[str, str | None]] = {}
        if name == VALUES_FORM:
            data: dict[str, Any] = values_entries(ctx, form)
        elif name.startswith("rob:") and name[4:] in rob_tools.TOOLS:
            tool = name[4:]
            data = rob_entries(form, tool)
            for domain, entry in data.items():
                proposed, why = rob_tools.proposal(tool, domain, entry["answers"])
                proposals[domain] = {"judgement": proposed, "why": why if entry["answers"] else ""}
            name = rob_form(tool)
        else:
            raise HTTPException(404, "No such form.")
        draft = drafts.put_draft(ctx.engine, study_id, ctx.user.name, name, data)
        at = f"{draft.saved_at:%H:%M:%S} UTC"
        return JSONResponse(
            {
                "saved_at": draft.saved_at.isoformat(),
                "said": f"Draft kept at {at}; not saved as your answer yet.",
                "proposals": proposals,
            }
        )

    @app.post("/p/{slug}/extract/{study_id}/draft/{name}/discard")
    def discard_draft(request: Request, slug: str, study_id: int, name: str, form: Posted):
        from metasift.extraction import drafts

        ctx = served.writer(request, slug, form)
        _study(ctx, study_id)
        drafts.delete_draft(ctx.engine, study_id, ctx.user.name, name)
        target = _back(form, slug, study_id)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)


def _back(form: FormData, slug: str, study_id: int) -> str:
    back = form.get("back")
    fallback = f"/p/{slug}/extract/{study_id}"
    return same_site(slug, back, fallback) if isinstance(back, str) else fallback
