"""Plug-ins for other libraries; each module imports its library on demand.

- ``fastfreq.integrations.anomalib``: ``FreqCutPasteDraem``, anomalib's DRAEM
  trained on fastfreq's frequency-filtered Scaled CutPaste anomalies
  (``pip install fastfreq[anomalib]``).

``import fastfreq`` does not import this package.
"""
