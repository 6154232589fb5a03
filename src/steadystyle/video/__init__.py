"""Video in and out: the reader, the writer, the sidecar that records how a stylized video was made, and the
resumable jobs that let a long run survive an interruption.

It sits under the core's stylize and optimize (they read and write video through it) and imports only
`atomic`, `images`, `locks`, `networks` and `version`, never the core's other modules.
"""

from ._reader import (DEFAULT_FOLDER_FPS, SAMPLE_CLIP, VIDEO_IN_SUFFIXES, VIDEO_OUT_SUFFIXES, Frame,
                      TruncatedVideoWarning, VideoError, VideoReader, open_video, probe)
from ._resume import (CHECKPOINT, CHECKPOINT_EVERY, JobError, check_same_job, file_identity, fingerprint_changes,
                      join_segments, open_job, read_checkpoint, restored_state, saved_state, segment_frames,
                      tensors_identity, work_folder)
from ._sidecar import claim_output, read_sidecar, sidecar_path, write_sidecar
from ._writer import CRF_RANGE, X264_PRESETS, Encoding, VideoWriter, check_output, is_folder_output

__all__ = ["CHECKPOINT", "CHECKPOINT_EVERY", "CRF_RANGE", "DEFAULT_FOLDER_FPS", "SAMPLE_CLIP", "VIDEO_IN_SUFFIXES",
           "VIDEO_OUT_SUFFIXES", "X264_PRESETS", "Encoding", "Frame", "JobError", "TruncatedVideoWarning", "VideoError",
           "VideoReader", "VideoWriter", "check_output", "check_same_job", "claim_output", "file_identity",
           "fingerprint_changes", "is_folder_output", "join_segments", "open_job", "open_video",
           "probe", "read_checkpoint", "read_sidecar", "restored_state", "saved_state", "segment_frames", "sidecar_path",
           "tensors_identity", "work_folder", "write_sidecar"]
