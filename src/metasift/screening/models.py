"""Named screening models: a feature extractor, a classifier, balancing, a query strategy and
a retraining schedule, chosen together and referred to by name (``--model NAME``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from metasift.errors import MetasiftError

BACKGROUND_FROM = 20_000
FUSIONS = ("mean", "rrf")
PSEUDO_NEGATIVES_FROM = ("random", "lower-half")


@dataclass(frozen=True)
class ScreeningModel:
    """Everything that decides the screening order, besides the data, the labels and the seed.

    ``retrain_growth``: the model is retrained after every label while fewer than
    ``1 / retrain_growth`` records are labelled, then each time the labelled set has grown by
    that fraction (Cormack & Grossman's growing batches), which keeps the cost per decision flat
    as the collection grows. ``lag``: a retrained ranking is used from the ``lag``-th decision
    after the one that triggered it, so that training runs while the reviewer reads; ``None``
    picks by collection size: 0 (use at once) below :data:`BACKGROUND_FROM` records, where a
    retrain takes a few milliseconds, and 1 from there on.
    """

    name: str
    features: str = "words"
    feature_params: dict[str, Any] = field(default_factory=dict)
    classifier: str = "logistic"
    classifier_params: dict[str, Any] = field(default_factory=dict)
    balance: str | float = "balanced"
    query: str = "max"
    exploration: float = 0.0
    retrain_growth: float = 0.05
    # Also retrain after every relevant label, whatever the growth schedule says: a relevant
    # record found is the label that moves the ranking most.
    retrain_on_relevant: bool = False
    lag: int | None = None
    # Cormack & Grossman's BMI: at each retrain, this many unlabelled records drawn at random
    # (seeded by the label count) join the training set as irrelevant.
    pseudo_negatives: int = 0
    # Where they are drawn from: "random", all unscreened records; "lower-half", the half of
    # them that the model fitted on the labels alone ranks lower.
    pseudo_negatives_from: str = "random"
    description: str = ""
    # An ensemble of whole models, each on its own features; their standardised scores are
    # averaged. The members' own query/schedule settings are ignored (the ensemble's apply).
    members: tuple[ScreeningModel, ...] = ()
    # How an ensemble combines its members' scores: "mean", the mean of the standardised
    # scores; "rrf", reciprocal rank fusion (Cormack, Clarke & Buettcher 2009): each member
    # ranks the unscreened records and a record scores the mean of 1 / (60 + its rank), so a
    # record that one member puts near the top comes up even when the others rank it low.
    fusion: str = "mean"
    # What each record contributes to the features (see features.record_text): "title",
    # "abstract", "mesh" (MeSH headings) and "authors", the last two where records carry them.
    text_fields: tuple[str, ...] = ("title", "abstract")
    # On an ensemble member: left out of collections of more records than this (a member whose
    # features grow too large for big collections); ``None``: always used.
    max_records: int | None = None

    def __post_init__(self) -> None:
        for setting, value, known in (
            ("fusion", self.fusion, FUSIONS),
            ("pseudo_negatives_from", self.pseudo_negatives_from, PSEUDO_NEGATIVES_FROM),
        ):
            if value not in known:
                raise MetasiftError(
                    f"unknown {setting} {value!r} in screening model {self.name!r}; use one "
                    f"of: {', '.join(known)}."
                )

    def for_records(self, n_records: int) -> ScreeningModel:
        """This model as it ranks a collection of ``n_records`` records: without the members
        whose ``max_records`` it exceeds.

        Args:
            n_records: the size of the collection.
        """
        kept = tuple(m for m in self.members if m.max_records is None or n_records <= m.max_records)
        return self if kept == self.members else replace(self, members=kept)

    def params(self) -> dict[str, Any]:
        return asdict(self)

    def lag_for(self, n_records: int) -> int:
        if self.lag is not None:
            return self.lag
        return 0 if n_records < BACKGROUND_FROM else 1

    def make_features(self) -> Any:
        """A fresh, unfitted feature extractor for this model."""
        from metasift.screening.features import MemberFeatures, make_features

        if self.members:
            return MemberFeatures([m.make_features() for m in self.members])
        return make_features(self.features, **self.feature_params)


MODELS: dict[str, ScreeningModel] = {}


def register(model: ScreeningModel) -> ScreeningModel:
    MODELS[model.name] = model
    return model


register(
    ScreeningModel(
        name="tfidf-logistic",
        features="words",
        classifier="logistic",
        description="TF-IDF words+bigrams, balanced logistic regression, most relevant first",
    )
)
register(
    ScreeningModel(
        name="tfidf-svm",
        features="words",
        classifier="svm",
        description="TF-IDF words+bigrams, balanced linear SVM, most relevant first",
    )
)
register(
    ScreeningModel(
        name="tfidf-nb",
        features="words",
        classifier="nb",
        balance="none",
        description="TF-IDF words+bigrams, complement naive Bayes, most relevant first",
    )
)
register(
    ScreeningModel(
        name="chars-logistic",
        features="chars",
        classifier="logistic",
        description="TF-IDF character 3-5-grams, balanced logistic regression",
    )
)
register(
    ScreeningModel(
        name="ensemble",
        features="words+chars",
        classifier="ensemble",
        description="words+chars TF-IDF; logistic + SVM + complement NB, standardised mean",
    )
)
register(
    ScreeningModel(
        name="tfidf-logistic-mixed",
        features="words",
        classifier="logistic",
        query="mixed",
        exploration=0.05,
        description="as tfidf-logistic, with 5% of records drawn at random (exploration)",
    )
)
register(
    ScreeningModel(
        name="tfidf-logistic-uncertainty",
        features="words",
        classifier="logistic",
        query="uncertainty",
        description="as tfidf-logistic, most uncertain first (trains the model, finds less)",
    )
)
register(
    ScreeningModel(
        name="embeddings-logistic",
        features="embeddings",
        classifier="logistic",
        description="all-MiniLM-L6-v2 sentence embeddings, balanced logistic regression "
        "(needs metasift[embed])",
    )
)

_SVM_U4 = ScreeningModel(
    name="svm-u4",
    features="hashed-words",
    feature_params={"stop_words": None, "max_df": 0.95},
    classifier="svm",
    classifier_params={"C": 0.11},
    balance=9.8,
    lag=0,
    description="ASReview 3's published default (elas_u4): TF-IDF 1-2-grams, linear SVM "
    "C=0.11, relevant records weighted 9.8x, most relevant first",
)
register(_SVM_U4)
_LOGISTIC = ScreeningModel(
    name="logistic-balanced",
    features="hashed-words",
    classifier="logistic",
    lag=0,
    description="TF-IDF 1-2-grams without stop words, logistic regression with scikit-learn's "
    "defaults (C=1) and balanced class weights",
)
register(
    ScreeningModel(
        name="svm+logistic",
        members=(_SVM_U4, _LOGISTIC),
        description="mean of the standardised scores of svm-u4 and logistic-balanced (two "
        "feature matrices), retrained in growing batches (every label up to 20, then each 5% "
        "growth)",
    )
)
_LOGISTIC_BMI = ScreeningModel(
    name="logistic-bmi",
    features="hashed-words",
    feature_params=_SVM_U4.feature_params,
    classifier="logistic",
    pseudo_negatives=100,
    description="Cormack & Grossman's BMI: logistic regression (C=1, balanced) on the svm-u4 "
    "features, with 100 random unscreened records as irrelevant at each retrain",
)
register(_LOGISTIC_BMI)
# liblinear's default tolerance is 1e-4; at 1e-3 each retrain takes fewer passes over the
# labelled records and the screening order is all but the same (selection benchmark).
_TOLERANCE = {"tol": 1e-3}
_STEMS = {**_SVM_U4.feature_params, "stem": True}
register(
    ScreeningModel(
        name="svm+logistic-bmi",
        members=(
            replace(
                _SVM_U4,
                feature_params=_STEMS,
                classifier_params={**_SVM_U4.classifier_params, **_TOLERANCE},
            ),
            replace(
                _LOGISTIC_BMI,
                feature_params=_STEMS,
                pseudo_negatives=25,
                classifier_params=_TOLERANCE,
            ),
        ),
        retrain_on_relevant=True,
        description="mean of the standardised scores of svm-u4 and logistic-bmi (25 "
        "pseudo-negatives) on one shared TF-IDF matrix of word stems (1-2-grams, sublinear tf, "
        "max_df 0.95), retrained after every relevant label and in growing batches (every "
        "label up to 20, then each 5% growth); chosen by benchmarks/screening_selection.py",
    )
)

_SVM_LOGISTIC_BMI = MODELS["svm+logistic-bmi"]
_WORDS = {k: v for k, v in _STEMS.items() if k != "stem"}
register(
    ScreeningModel(
        name="svm+logistic-bmi/words+stems+mesh",
        members=(
            *(replace(m, feature_params=_WORDS) for m in _SVM_LOGISTIC_BMI.members),
            *_SVM_LOGISTIC_BMI.members,
        ),
        retrain_on_relevant=True,
        text_fields=("title", "abstract", "mesh"),
        description="svm+logistic-bmi twice, on word 1-2-grams and on their stems (two TF-IDF "
        "matrices, four members, standardised scores averaged), reading MeSH headings too "
        "where the records have them; the default before the character member was added",
    )
)

# Character 3-5-grams take about 16 KB a record (2,000 times the words' 2.7 KB in the
# benchmark's collections): the member is left out above this size.
CHARS_UP_TO = 20_000
_FOUR = MODELS["svm+logistic-bmi/words+stems+mesh"]
register(
    replace(
        _FOUR,
        name=f"{_FOUR.name}+chars",
        members=(
            *_FOUR.members,
            ScreeningModel(name="chars-logistic", features="chars", max_records=CHARS_UP_TO),
        ),
        description=f"{_FOUR.name} with a fifth member: balanced logistic regression on "
        "character 3-5-gram TF-IDF (inside word boundaries), for collections of up to "
        f"{CHARS_UP_TO:,} records; chosen by benchmarks/screening_selection.py (leave one "
        "collection out over 19 labelled reviews, against ASReview side by side); the default "
        "before the lower-half draw of pseudo-negatives",
    )
)

_DEFAULT = MODELS["svm+logistic-bmi/words+stems+mesh+chars"]
register(
    replace(
        _DEFAULT,
        name=f"{_DEFAULT.name}+embed",
        members=(
            *_DEFAULT.members,
            ScreeningModel(name="embed-logistic", features="embeddings", classifier="logistic"),
        ),
        description=f"{_DEFAULT.name} with one more member: balanced logistic regression on "
        "all-MiniLM-L6-v2 sentence embeddings (needs metasift[embed]); the default when that "
        "extra is installed, chosen by the same benchmark",
    )
)


def lower_half_draw(members: tuple[ScreeningModel, ...]) -> tuple[ScreeningModel, ...]:
    """``members``, each that takes pseudo-negatives (BMI) drawing them from the lower half of
    a first fit's ranking (``pseudo_negatives_from="lower-half"``).

    Args:
        members: an ensemble's members.
    """
    return tuple(
        replace(m, pseudo_negatives_from="lower-half") if m.pseudo_negatives else m for m in members
    )


register(
    replace(
        _DEFAULT,
        name=f"{_DEFAULT.name}/bmi-low",
        members=lower_half_draw(_DEFAULT.members),
        description=f"{_DEFAULT.name} with the BMI members' pseudo-negatives drawn from the "
        "half of the unscreened records that a fit on the labels alone ranks lower (a random "
        "draw takes relevant records as irrelevant in proportion to their share); chosen by "
        "benchmarks/screening_selection.py",
    )
)

_BMI_LOW = MODELS[f"{_DEFAULT.name}/bmi-low"]
register(
    replace(
        _BMI_LOW,
        name=f"{_BMI_LOW.name}+authors",
        text_fields=(*_BMI_LOW.text_fields, "authors"),
        description=f"{_BMI_LOW.name} reading the records' authors too, each one token of "
        "surname and initials (reports of one trial or one group share their authors where "
        "their wording differs); chosen by benchmarks/screening_selection.py",
    )
)

# The defaults benchmarks/screening_selection.py chose for each installation: without the
# optional embed extra (no torch), and with it (see default_model_name). With the dense
# member, the random pseudo-negatives won, and the authors were left out.
DEFAULT_MODEL = f"{_BMI_LOW.name}+authors"
DEFAULT_EMBED_MODEL = f"{_DEFAULT.name}+embed"


def default_model_name() -> str:
    """The model "default" names: :data:`DEFAULT_EMBED_MODEL` with the embed extra installed,
    else :data:`DEFAULT_MODEL`."""
    from metasift.screening.features import embeddings_installed

    return DEFAULT_EMBED_MODEL if embeddings_installed() else DEFAULT_MODEL


def get_model(name: str | None = None, n_records: int | None = None) -> ScreeningModel:
    """A registered model by name; ``None`` or ``"default"``: :func:`default_model_name`.

    Args:
        name: the model's name (see :data:`MODELS`).
        n_records: the size of the collection it will rank, when known: the model as it ranks
            that collection (:meth:`ScreeningModel.for_records`).
    """
    if not name or name == "default":
        name = default_model_name()
    try:
        model = MODELS[name]
    except KeyError:
        raise MetasiftError(
            f"unknown screening model {name!r}; use one of: {', '.join(MODELS)}."
        ) from None
    return model if n_records is None else model.for_records(n_records)
