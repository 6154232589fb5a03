"""Stylizing in parallel: a video cut at its shot cuts into pieces that worker processes (or a Ray cluster)
stylize side by side, joined into the video one process would make; and many videos at once.

It sits above the core (stylize, video, batch) and nothing in the core imports it. `cluster.RayWorkers` runs the
pieces on Ray, an optional extra, and is imported only from there.
"""

from ._jobs import Workers, pieces_folder, stylize_in_pieces
from ._local import LocalWorkers, threads_each
from ._pieces import Piece, frame_starts, plan_pieces
from ._worker import PieceError, PieceTask, stylize_piece

__all__ = ["LocalWorkers", "Piece", "PieceError", "PieceTask", "Workers", "frame_starts", "pieces_folder",
           "plan_pieces", "stylize_in_pieces", "stylize_piece", "threads_each"]
