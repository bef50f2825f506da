"""The reference migration chain's head revision, in one place.

Known-bad variants stack one revision on the reference head (``down_revision = HEAD``), and a
family that adds a reference revision moves HEAD to it in the same commit, so every variant
keeps stacking on the current head without being edited.
"""

HEAD = "0007_ai_data"
