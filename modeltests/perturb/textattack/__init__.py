"""TextAttack, reached only through here: imported offline and isolated (:mod:`~.offline`),
recipes and composed attacks (:mod:`~.recipes`), the structural types of its objects and the
model wrapper (:mod:`~.types`), and attack runs read into plain outcomes (:mod:`~.runs`).
``import textattack`` (0.3.11) has process-wide effects that a test run must not inherit:

- it needs NLTK's English stopwords at import time (``StopwordModification()`` is built while
  ``textattack.augmentation`` imports) and fails offline without them. :func:`import_textattack`
  writes the project's own list (``modeltests/perturb/stopwords_english.txt``) into
  ``<modeltests cache>/nltk_data`` and *appends* that folder to ``nltk.data.path``, so a user's
  own NLTK data keeps priority and is never written to. WordNet (PWWS, the ``wordnet``
  transformation) is prepared in the same folder by :mod:`modeltests.perturb.wordnet`;
- on first use it calls ``nltk.download`` six times; modeltests never downloads, so
  ``nltk.download`` is replaced by a no-op while TextAttack imports or builds an attack;
- it sets ``TOKENIZERS_PARALLELISM`` (and with ``TA_CACHE_DIR`` overwrites ``HF_HOME``,
  ``XDG_CACHE_HOME`` ...): the environment is restored to its snapshot after the import;
- it calls ``logging.config.dictConfig``, which disables every logger created before: their
  ``disabled`` flags are restored.
"""

from modeltests.perturb.textattack.offline import (
    STOPWORDS_FILE,
    ensure_stopwords,
    import_textattack,
    isolated,
    nltk_data_dir,
    nltk_data_warning,
    require_wordnet,
    wordnet_available,
)
from modeltests.perturb.textattack.recipes import (
    CONSTRAINTS,
    NEEDS_WORDNET,
    RECIPE_CLASSES,
    RECIPE_RESOURCES,
    Resource,
    TRANSFORMATIONS,
    apply_budgets,
    build_composed,
    build_recipe,
    homoglyph_swap,
    missing_resources,
)
from modeltests.perturb.textattack.types import (
    Attack,
    AttackResult,
    AttackedText,
    GoalFunction,
    GoalFunctionResult,
    ModelWrapper,
    Scores,
    adapter_model_wrapper,
)
from modeltests.perturb.textattack.runs import (
    AttackExample,
    AttackOutcome,
    AttackRun,
    attack_examples,
    attack_input,
    attack_metrics,
    attack_one,
    example_seed,
    perturbed_word_pct,
    read_result,
    restrict_to_side,
    seed_everything,
)

__all__ = [
    "Attack",
    "AttackExample",
    "AttackOutcome",
    "AttackResult",
    "AttackRun",
    "AttackedText",
    "CONSTRAINTS",
    "GoalFunction",
    "GoalFunctionResult",
    "ModelWrapper",
    "NEEDS_WORDNET",
    "RECIPE_CLASSES",
    "RECIPE_RESOURCES",
    "Resource",
    "STOPWORDS_FILE",
    "Scores",
    "TRANSFORMATIONS",
    "adapter_model_wrapper",
    "apply_budgets",
    "attack_examples",
    "attack_input",
    "attack_metrics",
    "attack_one",
    "build_composed",
    "build_recipe",
    "ensure_stopwords",
    "example_seed",
    "homoglyph_swap",
    "import_textattack",
    "isolated",
    "missing_resources",
    "nltk_data_dir",
    "nltk_data_warning",
    "perturbed_word_pct",
    "read_result",
    "require_wordnet",
    "restrict_to_side",
    "seed_everything",
    "wordnet_available",
]
