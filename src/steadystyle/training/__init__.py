"""Training style networks: the trainers and their configuration, the content they learn from, the
temporal weight suggested for a painting, and the recipe that trains a stable network with its per-frame twin.

It builds on the core (networks, losses, flow, models) and `steadystyle.video`; nothing in the core
imports it.
"""

from ._datasets import wheel_clip
from ._recipe import FINE_TUNE_STEPS, carried_on, per_frame_twin, train_style
from ._synthetic import synthetic_sequence
from ._train import (Cancelled, ImageTrainer, StepCallback, TrainConfig, Trainer, VideoTrainConfig, deep_steps_for,
                     work_dir_of)
from ._video_train import VideoTrainer
from ._weighting import (FINE_TUNE_FACTOR, HEAD_RATIO, layout_fit, round2, shipped_evidence, suggest_temporal_weight,
                         with_suggestions)

__all__ = ["FINE_TUNE_FACTOR", "FINE_TUNE_STEPS", "HEAD_RATIO", "Cancelled", "ImageTrainer", "StepCallback",
           "TrainConfig", "Trainer", "VideoTrainConfig", "VideoTrainer", "carried_on", "deep_steps_for", "layout_fit",
           "per_frame_twin", "round2", "shipped_evidence", "suggest_temporal_weight", "synthetic_sequence",
           "train_style", "wheel_clip", "with_suggestions", "work_dir_of"]
