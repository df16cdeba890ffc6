"""framing-lens: how news outlets frame the same event, measured by voice.

Entry points: `load_corpus(path, ...)` and `measure(corpus_or_path, ...)`; `python -m analysis` on the
command line.
"""

from analysis.pipeline import Corpus, Results, load_corpus, measure
from analysis.provenance import __version__

__all__ = ["Corpus", "Results", "__version__", "load_corpus", "measure"]
