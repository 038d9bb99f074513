"""The $516k Gap: an incident lab on a real CDC pipeline."""
