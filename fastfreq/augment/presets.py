"""Scaled CutPaste settings that the demo, the CLI and the EDA share.

HDMAP maps are 31 x 95 (H x W): patches are thin horizontal strips, 1-2 rows
by 10-80 columns. Training starts amplitudes at 0.5: a Butterworth-HPF patch
at a = 1 has an RMS of ~1.3 normal-pixel standard deviations, so weaker
patches vanish in the noise yet would be labelled anomalous. The EDA looks at
the small-amplitude range 0..0.5.
"""
HDMAP_STRIPS = dict(cut_h=(1, 2), cut_w=(10, 80))
HDMAP_TRAIN = dict(HDMAP_STRIPS, amplitude=(0.5, 2.0), probability=0.5)
HDMAP_EDA = dict(HDMAP_STRIPS, amplitude=(0.0, 0.5))
