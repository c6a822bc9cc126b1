"""Every error metasift raises on purpose, in one tree. Each message names the file, line or
record, and what to do.

::

    MetasiftError                  the CLI prints these without a traceback
    ├── ProjectError               project folder or store missing or unusable
    ├── ProtocolError              review.toml missing or invalid
    ├── ImportFileError            a file cannot be read at all (.path, .line)
    ├── SearchError                a live search failed
    │   └── SearchHTTPError        a request failed for good (.status, .body)
    │       ├── SearchUnreachableError  the service could not be reached at all (.host, .reason)
    │       └── AddressRefusedError  a URL a service offered reaches an internal address (.url)
    ├── DedupError                 de-duplication cannot do what was asked
    ├── RetrievalError             full texts cannot be fetched or stored as asked
    │   └── FileRefusedError       a file that is not an acceptable full text (.path, .reason)
    ├── ReviewError                a rule of the review refuses the action
    │   ├── StageClosedError       the stage is closed (.stage); reopen it first
    │   ├── PermissionDeniedError  not a member, or the role may not do this (.who, .action)
    │   ├── ReviewerError          unknown or duplicate reviewer, unknown role
    │   ├── DecisionError          a decision that cannot be recorded
    │   ├── AssignmentError        a record went to other reviewers meanwhile
    │   ├── FullTextError          a full-text step on a record that is not sought
    │   └── PrismaError            PRISMA boxes that do not add up, or work pending
    ├── ExtractionError            extraction data or form problems
    │   ├── TemplateError          an extraction workbook that cannot be read
    │   └── RobError               risk-of-bias answers that do not fit the tool
    ├── SynthesisError             data or options that cannot be meta-analysed as asked
    │   └── ConvergenceError       an iterative estimator did not reach its solution
    └── UserError                  web users: unknown role, short password
        └── LoginRefusedError      too many failed logins: wait (.retry_after) or ask an owner

The stage modules import their errors from here, so ``except metasift.errors.ReviewError``
catches every refusal of a review rule, whichever entry point made the call.
"""

from __future__ import annotations


class MetasiftError(Exception):
    """Base of every error metasift raises on purpose; the CLI prints it without a traceback.

    Args:
        *args: the message, as the CLI prints it (what to do says which command to type).
        web: the message for the web app, where it differs: what to do there (which page,
            which button) instead of a command to type.
    """

    def __init__(self, *args: object, web: str | None = None) -> None:
        super().__init__(*args)
        self.web = web

    def for_web(self) -> str:
        """The message as the web app shows it."""
        return self.web or str(self)


class ProjectError(MetasiftError):
    """The project directory or its store is missing or unusable."""


class ProtocolError(MetasiftError):
    """review.toml is missing or invalid."""


class ImportFileError(MetasiftError):
    """A file cannot be read at all (unknown format, empty, binary, undecodable).

    Problems confined to one record are not errors: they become rejections in the import report.

    Args:
        path: the file as the user named it.
        message: what is wrong and what to do.
        line: the line the problem was found on, when known.
        web: ``message`` for the web app, where it differs.
    """

    def __init__(
        self, path: str, message: str, *, line: int | None = None, web: str | None = None
    ) -> None:
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {message}", web=f"{where}: {web}" if web else None)


class SearchError(MetasiftError):
    """A live search failed; the message names the source, the batch and what to do."""


class SearchHTTPError(SearchError):
    """A request failed for good (after retries, or with a status that retrying cannot fix).

    Args:
        message: what failed, with the source and what to do.
        status: the HTTP status, or None when no response came (network error).
        body: the start of the response body, for the search log.
    """

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class SearchUnreachableError(SearchHTTPError):
    """A service that could not be reached at all: its name did not resolve, it refused the
    connection, or there is no route to it. Retrying in seconds does not mend these, so the
    request fails at once (see :class:`metasift.search.http.RetryPolicy`).

    Args:
        message: what failed, with the source and what to do.
        host: the host that could not be reached.
        reason: the diagnosis for people, naming the host
            ("cannot resolve eutils.ncbi.nlm.nih.gov (no network?)").
        attempts: the requests actually sent (0 when an earlier failure in the same run
            already said the host cannot be reached).
    """

    def __init__(self, message: str, *, host: str, reason: str, attempts: int) -> None:
        super().__init__(message)
        self.host = host
        self.reason = reason
        self.attempts = attempts


class AddressRefusedError(SearchHTTPError):
    """A URL offered by a service (a PDF link, a landing page, a redirect) that would reach a
    loopback, private or link-local address the user did not set; it is not requested.

    Args:
        url: the URL refused (without query or credentials).
        reason: which address it reaches and what to do if the server is the user's own.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class DedupError(MetasiftError):
    """De-duplication cannot do what was asked (unknown pair or cluster, bad verdict)."""


class RetrievalError(MetasiftError):
    """Full texts cannot be fetched or stored as asked (no project folder to store them in,
    a service setting that cannot be used)."""


class FileRefusedError(RetrievalError):
    """A file that is not an acceptable full text: too large, not what it claims to be (an HTML
    page where a PDF was promised), cut short, or a PDF that is broken or hostile.

    Args:
        path: the file as the user named it, or the URL it came from.
        reason: what is wrong with it, for the listing ("not a PDF: an HTML page").
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class ReviewError(MetasiftError):
    """A rule of the review refuses the action (stage closed, not a member, bad decision)."""


class StageClosedError(ReviewError):
    """A decision on a stage that is closed.

    Args:
        stage: the closed stage (``title_abstract`` or ``full_text``).
        message: what was refused and how to reopen the stage.
        web: the same for the web app, where it differs.
    """

    def __init__(self, stage: str, message: str, *, web: str | None = None) -> None:
        super().__init__(message, web=web)
        self.stage = stage


class PermissionDeniedError(ReviewError):
    """Someone who is not a member of the review, or whose role may not do what was asked.

    Args:
        who: the name that asked.
        action: what they asked to do (``decide``, ``close``...).
        message: why it was refused and what to do.
    """

    def __init__(self, who: str, action: str, message: str) -> None:
        super().__init__(message)
        self.who = who
        self.action = action


class ReviewerError(ReviewError):
    """Unknown reviewer, duplicate reviewer or unknown role."""


class DecisionError(ReviewError):
    """A decision that cannot be recorded (unknown record, reason not in the protocol...)."""


class AssignmentError(ReviewError):
    """A decision on a record the reviewer no longer holds, and that others took meanwhile."""


class FullTextError(ReviewError):
    """A full-text step on a record that is not sought, or a bad grouping."""


class PrismaError(ReviewError):
    """PRISMA boxes that do not add up, or a diagram asked for while work is pending."""


class GradeError(ReviewError):
    """A GRADE judgement that cannot be recorded as asked (unknown analysis or domain, an
    override without its footnote)."""


class ExtractionError(MetasiftError):
    """Extraction values, suggestions or forms that cannot be used as asked."""


class TemplateError(ExtractionError):
    """An extraction workbook that cannot be read back."""


class RobError(ExtractionError, ValueError):
    """Risk-of-bias answers that do not fit the tool (unknown question or answer, missing
    answer)."""


class SynthesisError(MetasiftError):
    """Data or options that cannot be meta-analysed as asked."""


class ConvergenceError(SynthesisError):
    """An iterative estimator did not reach its solution."""


class UserError(MetasiftError):
    """A web user that cannot be added: unknown role, empty name, password too short."""


class LoginRefusedError(UserError):
    """A login refused before the password is checked: too many recent failures for the account
    or the address (``retry_after`` seconds to wait), or the account is locked (``locked``)
    until an owner lifts the lock."""

    def __init__(
        self, message: str, *, retry_after: int = 0, locked: bool = False, web: str | None = None
    ) -> None:
        super().__init__(message, web=web)
        self.retry_after = retry_after
        self.locked = locked
