"""Data extraction and risk of bias.

Pure cores: :mod:`forms` (the protocol's form), :mod:`validation` (typed cell values),
:mod:`suggest` (design, entities, numbers with provenance), :mod:`rob` (RoB 2, ROBINS-I,
SYRCLE algorithms), :mod:`evidence` (evidence map and characteristics table),
:mod:`evaluate` (scoring against gold labels). Adapters: :mod:`template` (CSV/XLSX),
:mod:`store` (database), :mod:`plots` (matplotlib), :mod:`stage` (what the CLI calls).
"""
