"""Scaled CutPaste settings that the demo, the CLI and the EDA share.

HDMAP maps are 31 x 95 (H x W): patches are thin horizontal strips, 1-2 rows
by 10-80 columns. Training starts amplitudes at 0.5: a Butterworth-HPF patch
at a = 1 has an RMS of ~1.3 normal-pixel standard deviations, so weaker
patches vanish in the noise yet would be labelled anomalous. The EDA looks at
the small-amplitude range 0..0.5.

RGB images in [0, 1] (MVTec-style categories; the model input is clipped to
[0, 1]): classic CutPaste area-ratio patches (2-15 % of the image, aspect
0.3..3.3) and amplitudes 0.2..1. A normalised patch peaks at 1, so a = 1 can
already move a pixel across the whole intensity range; larger amplitudes only
saturate: on the synthetic textures at 128 px a plain patch at a = 1 adds
+0.57..0.73 on average (5-16 image standard deviations) and 34-90 % of its
pixels hit the clip, at a = 0.5 0-41 %. At a = 0.2 a plain patch shifts the
brightness by ~0.12 (about 2 standard deviations: a faint stain) and none
clip. A Butterworth-HPF (0.2, order 2) patch at a = 1 carries 0.6-1.3 image
standard deviations of texture (RMS 0.02-0.10) and never clips: the same
visibility as the HDMAP default at a = 1.
"""
HDMAP_STRIPS = dict(cut_h=(1, 2), cut_w=(10, 80))
HDMAP_TRAIN = dict(HDMAP_STRIPS, amplitude=(0.5, 2.0), probability=0.5)
HDMAP_EDA = dict(HDMAP_STRIPS, amplitude=(0.0, 0.5))
RGB_TRAIN = dict(area_ratio=(0.02, 0.15), amplitude=(0.2, 1.0), probability=0.5)
