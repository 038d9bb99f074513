"""Runtimes: how the components' processes are started and stopped (native OS processes, or docker)."""
