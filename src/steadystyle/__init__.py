"""steadystyle: neural style transfer for video that does not flicker.

The public Python API; the `steadystyle` command and the studio are thin layers over it:

    import steadystyle as ss

    model = ss.load_model("starry_night")  # a shipped style by name, or a .safetensors file
    ss.stylize_video("clip.mp4", model, "out.mp4", on_frame=lambda done, total: print(done, total))

Importing the package only imports; it loads no model and starts nothing.
"""

from .evaluation import AnalysisSettings, EvaluateSettings, analyze, evaluate_videos
from .export import export_onnx, onnx_difference
from .images import load_rgb, save_image
from .models import Model, load_model, shipped_styles
from .paintings import painting_path
from .stylize import StylizeOptions, stylize_frames, stylize_image, stylize_video
from .training import Cancelled, TrainConfig, VideoTrainConfig, train_style
from .version import __version__
from .video import SAMPLE_CLIP

__all__ = ["AnalysisSettings", "Cancelled", "EvaluateSettings", "Model", "SAMPLE_CLIP", "StylizeOptions", "TrainConfig",
           "VideoTrainConfig", "__version__", "analyze", "evaluate_videos", "export_onnx", "load_model", "load_rgb",
           "onnx_difference", "painting_path", "save_image", "shipped_styles", "stylize_frames", "stylize_image",
           "stylize_video", "train_style"]
