"""anomalib plug-in: DRAEM trained on fastfreq's frequency-filtered Scaled CutPaste.

``FreqCutPasteDraem`` is anomalib's ``Draem`` (same networks, loss,
optimiser, pre-/post-processing, metrics and ``Engine`` support) whose
simulated training anomalies come from a ``FreqCutPaste`` module instead of
the Perlin-noise / DTD-texture generator::

    from anomalib.data import MVTecAD
    from anomalib.engine import Engine
    from fastfreq import FrequencyFilter
    from fastfreq.integrations.anomalib import FreqCutPasteDraem

    model = FreqCutPasteDraem(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=0.5,
                              patch_filter=FrequencyFilter("butterworth", "highpass", 0.2, 2))
    engine = Engine(max_epochs=10)
    engine.fit(model, datamodule=MVTecAD(root, category="carpet"))
    engine.test(model, datamodule=MVTecAD(root, category="carpet"))

Requires ``pip install fastfreq[anomalib]`` (anomalib >= 2.7 and torchvision).
"""
from __future__ import annotations

import tempfile
import warnings

try:
    from anomalib.models.image.draem import Draem
except ImportError as error:  # anomalib, torchvision or lightning missing
    raise ImportError(
        "fastfreq.integrations.anomalib needs anomalib (>= 2.7) and torchvision: "
        f"pip install fastfreq[anomalib]  (import failed: {error})") from error

from fastfreq import FrequencyFilter, RadialWeight, ScaledCutPaste

from ..augment.module import FreqCutPaste

__all__ = ["FreqCutPasteDraem"]


class FreqCutPasteDraem(Draem):
    """anomalib's ``Draem`` with fastfreq's Scaled CutPaste as its anomaly generator.

    Parameters
    ----------
    augmenter : FreqCutPaste, ScaledCutPaste or None
        The anomaly generator. A ``ScaledCutPaste`` is wrapped in a
        ``FreqCutPaste`` with ``clip``; None builds one from
        ``**cutpaste_kwargs`` (every ``ScaledCutPaste`` argument: ``cut_h`` /
        ``cut_w`` or ``area_ratio`` / ``aspect_ratio``, ``amplitude``,
        ``probability``, ``patch_filter``, ``image_filter``, ``dual_path``,
        ``mix_weight``, ``band_weight``, ``seed``, ``backend``, ...). A
        ``FreqCutPaste`` is used as given (its own ``clip``).
    clip : "auto", None or (low, high)
        Clamp of the augmented image. "auto" (default): ``(0, 1)``, the range
        of anomalib's images, unless ``image_filter`` is set (a whole-image
        filter, e.g. a high-pass, legitimately leaves [0, 1]): then None.
    enable_sspcab, sspcab_lambda, pre_processor, post_processor, evaluator, visualizer
        As in ``Draem``. The default pre-processor resizes to 256 x 256; pass
        ``pre_processor=FreqCutPasteDraem.configure_pre_processor(image_size=(h, w))``
        for another size.

    Strategy 2 (``image_filter``): the model then works on filtered images
    everywhere, as in fastfreq's own DRAEM trainer: the reconstruction target
    of the training loss is the filtered clean image, and a forward pre-hook
    on ``self.model`` filters the input of validation, test and predict steps
    and of ``forward``. (That hook runs fastfreq's filter; it is not part of
    an ONNX / OpenVINO export.)

    Construction never touches the network: ``Draem`` is built with an empty
    temporary ``dtd_dir`` (so it neither downloads the DTD textures nor
    leaves a folder behind) and its Perlin generator is then replaced.
    """

    def __init__(self, augmenter: FreqCutPaste | ScaledCutPaste | None = None, *, clip="auto",
                 enable_sspcab: bool = False, sspcab_lambda: float = 0.1, pre_processor=True,
                 post_processor=True, evaluator=True, visualizer=True, **cutpaste_kwargs) -> None:
        # a new name: Lightning's save_hyperparameters (in AnomalibModule.__init__)
        # records this frame's arguments, which must stay as the caller gave them
        module = _build_augmenter(augmenter, clip, cutpaste_kwargs)
        with warnings.catch_warnings():
            # Lightning suggests leaving an nn.Module argument out of the hyperparameters because
            # its state_dict is saved; a FreqCutPaste has no state_dict, so it must stay in them.
            warnings.filterwarnings("ignore", message="Attribute 'augmenter' is an instance of `nn.Module`")
            with tempfile.TemporaryDirectory(prefix="fastfreq_no_dtd_") as empty:
                super().__init__(dtd_dir=empty, enable_sspcab=enable_sspcab, sspcab_lambda=sspcab_lambda,
                                 pre_processor=pre_processor, post_processor=post_processor, evaluator=evaluator,
                                 visualizer=visualizer)
            self.augmenter = module
            # Record this class's own arguments as the hyperparameters and drop Draem's
            # dtd_dir (the temporary folder) and beta, so load_from_checkpoint rebuilds it.
            self.save_hyperparameters(ignore=["pre_processor", "post_processor", "evaluator", "visualizer",
                                              "dtd_dir", "beta"])
        if self._image_filter is not None:
            self.model.register_forward_pre_hook(_FilterEvalInput(module.augment))

    @classmethod
    def checkpoint_safe_globals(cls):
        """Types this model's hyperparameters hold, allowlisted for ``load_from_checkpoint(weights_only=True)``."""
        return (*super().checkpoint_safe_globals(), FrequencyFilter, RadialWeight)

    @property
    def _image_filter(self):
        return self.augmenter.augment.image_filter

    def training_step(self, batch, *args, **kwargs):
        """``Draem.training_step``; with an ``image_filter`` the loss target is the filtered clean image."""
        if self._image_filter is None:
            return super().training_step(batch, *args, **kwargs)
        augmented_image, anomaly_mask = self.augmenter(batch.image)
        reconstruction, prediction = self.model(augmented_image)
        target = self.augmenter.augment.filter_image(batch.image)
        loss = self.loss(target, reconstruction, anomaly_mask, prediction)
        if self.sspcab:
            loss += self.sspcab_lambda * self.sspcab_loss(self.sspcab_activations["input"],
                                                          self.sspcab_activations["output"])
        self.log("train_loss", loss.item(), on_epoch=True, prog_bar=True, logger=True)
        return {"loss": loss}


class _FilterEvalInput:
    """Forward pre-hook: filter the model's input when it is not training (strategy 2)."""

    def __init__(self, augment: ScaledCutPaste):
        self.augment = augment

    def __call__(self, module, args):
        if module.training or not args:
            return None
        return (self.augment.filter_image(args[0]), *args[1:])


def _build_augmenter(augmenter, clip, kwargs) -> FreqCutPaste:
    if isinstance(augmenter, FreqCutPaste):
        if kwargs or clip != "auto":
            raise ValueError("augmenter is a FreqCutPaste: give its options (clip included) to it, "
                             "not to FreqCutPasteDraem")
        if not augmenter.return_mask:
            raise ValueError("augmenter must return (image, mask): build it with return_mask=True")
        return augmenter
    if augmenter is None:
        augment = ScaledCutPaste(**kwargs)
    elif isinstance(augmenter, ScaledCutPaste):
        if kwargs:
            raise ValueError("give either a ScaledCutPaste or its keyword arguments, not both")
        augment = augmenter
    else:
        raise TypeError(f"augmenter must be a FreqCutPaste, a ScaledCutPaste or None, got {type(augmenter).__name__}")
    if isinstance(clip, str):
        if clip != "auto":
            raise ValueError(f"clip must be 'auto', None or a (low, high) pair, got {clip!r}")
        clip = None if augment.image_filter is not None else (0.0, 1.0)
    return FreqCutPaste(augment, clip=clip)
