"""Training: the config (``config.py``), the data in memory (``data.py``), the loop
(``loop.py``) and trained runs (``run.py``).

``lutkit train --config pipelines/train/demo.toml`` calls
:func:`lutkit.train.loop.train`; ``lutkit fix`` loads a run with
:func:`lutkit.correct.model.load_run`. Nothing here imports torch at import time.
"""
