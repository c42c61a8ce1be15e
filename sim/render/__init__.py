"""Rendered overhead cameras for the simulator: rig, renderer, camera effects, labelled frames.

See docs/cameras.md. `render_labelled_frames` (sim.render.dataset) makes detector training data;
`sim.render.video` writes the camera streams of a simulated session.
"""
