"""`steadystyle studio`, the web interface: a Gradio app over the public API, one tab per task.

Only this sub-package imports gradio (the optional `studio` extra), and nothing else in steadystyle imports
this sub-package except the `studio` command, at the moment it runs.
"""

from ._app import serve, start

__all__ = ["serve", "start"]
