"""One module per component: how to start it, tell it is healthy, and stop it."""
