"""steadystyle: neural style transfer for video that does not flicker."""

__version__ = "0.1.0"
